"""The fundamental deep learning problem (Hochreiter 1991), measured: how the norm of the back-propagated Jacobian
||dh_T / dh_{T-q}|| of a tanh RNN shrinks or grows with the lag q, next to an LSTM cell's constant error carousel.

Setup: 32 tanh units, recurrent matrix N(0, 1/N) rescaled to a given spectral radius, input weights N(0, 1), inputs
N(0, 1), zero initial state, 100 random networks per radius; the spectral norm of the Jacobian product is reported as
the median over networks. Beside it, evolino's own LSTM without forget gate (f = 1) and weights N(0, 0.1^2):
||dc_T / dc_{T-q}|| measured by central finite differences through the forward pass.

    python experiments/vanishing_gradients.py
    python experiments/vanishing_gradients.py --plot-only   # redraw the figure from the committed results
    python experiments/vanishing_gradients.py --write-results  # replace the committed results and figure

Writes runs/vanishing_gradients/vanishing_gradients.json (with provenance; ``--out`` elsewhere), prints a markdown
table and draws the figure beside it; ``--write-results`` replaces the committed
experiments/results/vanishing_gradients.json and docs/images/vanishing_gradients.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from provenance import RUNS, add_output_arguments, command_line, output_path, write_results

RESULTS = Path(__file__).parent / "results"
FIGURE = Path(__file__).resolve().parent.parent / "docs" / "images" / "vanishing_gradients.png"
LAGS = (1, 10, 20, 50, 100)


def jacobian_norms(radius: float, units: int = 32, networks: int = 100, seed: int = 0) -> dict[int, float]:
    rng = np.random.default_rng(seed)
    steps = max(LAGS)
    norms = {q: [] for q in LAGS}
    for _ in range(networks):
        w = rng.normal(0, 1 / np.sqrt(units), (units, units))
        w *= radius / np.max(np.abs(np.linalg.eigvals(w)))
        u = rng.normal(0, 1, (units, 1))
        h, derivs = np.zeros(units), []
        for x in rng.normal(size=steps):
            h = np.tanh(w @ h + u[:, 0] * x)
            derivs.append(1 - h**2)
        jac = np.eye(units)
        for q in range(1, steps + 1):  # dh_T/dh_{T-q} = prod_{k=0}^{q-1} diag(f'_{T-k}) W
            jac = jac @ (derivs[steps - q][:, None] * w)
            if q in norms:
                norms[q].append(np.linalg.norm(jac, 2))
    return {q: float(np.median(v)) for q, v in norms.items()}


def lstm_carousel_norms(cells: int = 8, networks: int = 20, seed: int = 0, eps: float = 1e-6) -> dict[int, float]:
    from evolino.network import LSTMSpec, LSTMState, teacher_forced, unpack

    rng = np.random.default_rng(seed)
    spec = LSTMSpec(n_inputs=1, cells=cells, feedback=False, forget_gate=False)
    norms = {q: [] for q in LAGS}
    for _ in range(networks):
        weights = unpack(spec, rng.normal(0, 0.1, (1, spec.dimension)))
        start = LSTMState(rng.normal(0, 0.1, (1, cells)), rng.normal(0, 0.1, (1, cells)))
        inputs = rng.normal(size=(max(LAGS), 1))
        for q in LAGS:
            jac = np.empty((cells, cells))
            for k in range(cells):
                ends = []
                for sign in (1, -1):
                    c = start.c.copy()
                    c[0, k] += sign * eps
                    _, end = teacher_forced(spec, weights, q, inputs=inputs[:q], state=LSTMState(start.h, c))
                    ends.append(end.c[0])
                jac[:, k] = (ends[0] - ends[1]) / (2 * eps)
            norms[q].append(np.linalg.norm(jac, 2))
    return {q: float(np.median(v)) for q, v in norms.items()}


def plot(results: Path, figure: Path) -> None:
    """The median norms against the lag q, log-log: one line per network (from the results file)."""
    import json

    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    data = json.loads(results.read_text())
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, norms in data["median_norms"].items():
        lags = sorted(int(q) for q in norms)
        ax.plot(lags, [norms[str(q)] for q in lags], marker="o", label=name.split(", ||")[0])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("lag q (steps back)")
    ax.set_ylabel("median norm of the back-propagated Jacobian")
    ax.set_title("Error flow back through time")
    ax.legend(fontsize=8)
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=100)
    plt.close(fig)
    print(f"wrote {figure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--figure", type=Path, default=None,
                        help="default: beside the results file (--write-results: docs/images/vanishing_gradients.png)")
    parser.add_argument("--plot-only", action="store_true",
                        help="only redraw the figure from the results file (default: the committed one)")
    add_output_arguments(parser, RESULTS / "vanishing_gradients.json", "the same measurement (it takes seconds)")
    args = parser.parse_args()
    if args.plot_only:  # the committed figure is redrawn only with --write-results
        plot(args.out or RESULTS / "vanishing_gradients.json",
             args.figure or (FIGURE if args.write_results else RUNS / "vanishing_gradients" / FIGURE.name))
        return
    out = output_path(parser, args, RESULTS / "vanishing_gradients.json", Path(__file__).stem)
    figure = args.figure or (FIGURE if args.write_results else out.parent / FIGURE.name)
    rows = {f"tanh RNN, spectral radius {r}": jacobian_norms(r) for r in (0.9, 1.0, 3.0)}
    rows["evolino LSTM, no forget gate (constant error carousel), ||dc_T/dc_{T-q}||"] = lstm_carousel_norms()
    print("| network | " + " | ".join(f"q={q}" for q in LAGS) + " |\n|---|" + "---|" * len(LAGS))
    for name, values in rows.items():
        print(f"| {name} | " + " | ".join(f"{values[q]:.1e}" for q in LAGS) + " |")
    write_results(out, {"lags": list(LAGS), "median_norms": rows}, command_line(args, skip=("figure",
                                                                                                  "plot_only")))
    plot(out, figure)


if __name__ == "__main__":
    main()
