"""Where gradient descent breaks: a plain recurrent net and the LSTM, both trained by BPTT, on the long time-lag
tasks at growing lags (Hochreiter 1991: the error back-propagated through a plain net's units shrinks exponentially
with the lag; LSTM's constant error carousel carries it).

    python experiments/gradient_lags.py                     # latch, two-sequence, adding, temporal order; T = 10..100
    python experiments/gradient_lags.py --tasks latch --lags 10 20 --seeds 0

Protocol, the same for both nets: every task trained on 100 sequences, settings chosen on 50 validation sequences,
tested once on 1,000 fresh ones (the task's success criterion: the fraction of test sequences answered right);
500 full-batch Adam steps per setting, four settings each:

* plain RNN (:class:`evolino.baselines.BPTTRNN`, tanh units): learning rate 1e-2 or 1e-3 x initial recurrent
  weights small (N(0, 0.1^2)) or rescaled to spectral radius 1 (the edge of vanishing and exploding);
* LSTM (:class:`evolino.baselines.BPTTLSTM`, Evolino's parameterisation): learning rate 1e-2 or 1e-3 x forget gates'
  initial bias 0 or +3 (long_lag.py's grid).

Both nets have as many units as Evolino has cells on the task in long_lag.py. A method moves to a longer lag only
while one of its seeds succeeds (the lag where it breaks is then the last one tried). Success: the median run
answers at least 95% of the fresh test sequences right.

Writes runs/gradient_lags/gradient_lags.json (``--out`` elsewhere; ``--write-results``: the committed
experiments/results/gradient_lags.json) (with provenance) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from long_lag import SETTINGS, run_bptt
from provenance import add_output_arguments, command_line, error_or_inf, finite_or_none, output_path, write_results

import evolino
from evolino.baselines import BPTTRNN
from evolino.tasks.long_lag import solved_fraction

RESULTS = Path(__file__).parent / "results"
TASKS = ("latch", "two-sequence", "adding", "temporal-order")
LAGS = (10, 20, 50, 100)
TRAINING = dict(train=100, validation=50, test=1000)
ITERATIONS = 500
RNN_LEARNING_RATES = (1e-2, 1e-3)
RNN_SPECTRAL_RADII = (None, 1.0)  # None: the small N(0, 0.1^2) start
NEEDED = 0.95


def run_rnn(name: str, seed: int, task_options: dict, units: int, iterations: int = ITERATIONS) -> dict:
    """The plain RNN with the setting (learning rate x initial radius) of the lowest validation error."""
    task = evolino.make_task(name, **task_options)
    started, best = time.perf_counter(), None
    grid = [(rate, radius) for rate in RNN_LEARNING_RATES for radius in RNN_SPECTRAL_RADII]
    for rate, radius in grid:
        fitted = BPTTRNN(units=units, iterations=iterations, learning_rate=rate, spectral_radius=radius,
                         random_state=seed).fit(task)
        error = error_or_inf(finite_or_none(fitted.result_.validation_error))
        if best is None or error < best[0]:
            best = (error, fitted, rate, radius)
    _, fitted, rate, radius = best
    return {"method": "rnn", "solved": solved_fraction(task, fitted.result_.test_outputs),
            "test_error": finite_or_none(fitted.result_.test_error),
            "validation_error": finite_or_none(fitted.result_.validation_error),
            "sequences_seen": iterations * len(task.train) * len(grid),
            "settings": {"units": units, "iterations": iterations, "learning_rate": rate, "spectral_radius": radius},
            "seconds": round(time.perf_counter() - started, 1)}


def study(args: argparse.Namespace) -> dict:
    print("| task | method | T | seed | solved (test) | time |\n|---|---|---|---|---|---|")
    rows, summary = [], {}
    for name in args.tasks:
        size = SETTINGS[name]["evolino"]["cells"]
        summary[name] = {}
        for method in ("rnn", "bptt"):
            tried = []
            for steps in args.lags:
                if tried and not any(r["solved"] >= NEEDED for r in tried[-1]):
                    break
                options = dict(SETTINGS[name]["task"], steps=steps, **TRAINING)
                at_lag = []
                for seed in args.seeds:
                    run = (run_rnn(name, seed, options, size, args.iterations) if method == "rnn"
                           else run_bptt(name, seed, options, size, args.iterations))
                    row = {"task": name, "steps": steps, "seed": seed, **run}
                    at_lag.append(row)
                    print(f"| {name} | {method} | {steps} | {seed} | {row['solved']:.3f} | {row['seconds']:.0f} s |",
                          flush=True)
                tried.append(at_lag)
                rows += at_lag
            medians = {runs[0]["steps"]: float(np.median([r["solved"] for r in runs])) for runs in tried}
            reached = [steps for steps, m in medians.items() if m >= NEEDED]
            summary[name][method] = {"median_solved": medians, "largest_lag": max(reached, default=None),
                                     "units": size}
    return {"needed": NEEDED, "summary": summary, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(SETTINGS))
    parser.add_argument("--lags", type=int, nargs="+", default=list(LAGS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--iterations", type=int, default=ITERATIONS, help="Adam steps per setting")
    add_output_arguments(parser, RESULTS / "gradient_lags.json", "latch, T = 10, seed 0, 5 Adam steps")
    args = parser.parse_args()
    if args.smoke:
        args.tasks, args.lags, args.seeds, args.iterations = ["latch"], [10], [0], 5
    output_path(parser, args, RESULTS / "gradient_lags.json", "gradient_lags")
    write_results(args.out, study(args), command_line(args))


if __name__ == "__main__":
    main()
