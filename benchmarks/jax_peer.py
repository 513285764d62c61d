"""evolino's fitness kernels against a plain JAX implementation of the same fitness, on the same genomes.

The peer is Evolino's fitness written as a JAX user would write it, and made as fast as such a user would make it
(:func:`peer_fitness`): one genome's function (unpack the genome, teacher-force the LSTM with ``lax.scan``,
least-squares readout, free run over the validation window, NRMSE), ``vmap`` over the population, ``jit``, float64
set once for the process (``jax_enable_x64``), the population put on the device once and kept there between calls.
The readout is solved three ways, each timed: ``jnp.linalg.lstsq``, ``jnp.linalg.pinv`` and the normal equations
(``solve(X^T X, X^T y)``); the peer of the ratios is the fastest of them whose errors agree with the numpy reference
(the normal equations square the condition number of the nearly collinear states and disagree: printed, not used).

The task is a generative sum of sines of ``--steps`` steps, as in benchmarks/ray_scaling.py: washout a quarter,
training to three quarters, the rest a free-run validation window (MSO2's frequencies; 400 steps is MSO2's own split).
Every kernel scores the same population; their errors are checked to agree with the numpy reference (relative
1e-9), then each is timed, taking turns, best of ``--repeats``. The readout cuts singular values below 1e-6 of the
largest (``--rcond``): with evolino's default of 1e-14 the least squares of random genomes keep directions that
rounding decides, and implementations that sum in another order then differ by up to 1e-3 in some errors; the cutoff
changes nothing in the time.

Kernels: ``compiled`` (blocks of genomes in SIMD lanes, :mod:`evolino.kernels.blocks`), ``compiled-scalar`` (one
genome per parallel iteration, the compiled kernel before blocks), ``jax`` (evolino's JAX kernel) and ``numpy`` (the
reference); ``--kernels`` chooses.

    python benchmarks/jax_peer.py                                  # 10 cells x 400 steps and 40 cells x 950 steps
    python benchmarks/jax_peer.py --cases 10x400 --population 40 --threads 2
    python benchmarks/jax_peer.py --smoke           # 10 cells x 100 steps, 10 genomes, one repeat: a check that it runs

One core by default: numba's threads and XLA's CPU threads are limited to ``--threads`` (XLA_FLAGS is set before JAX
is imported). Prints the CPU (model name and widest SIMD), the load average before and after, and the JAX device; a
GPU is used when JAX finds one (then the ratio is a GPU against the CPU kernels).

Writes runs/jax_peer/jax_peer.json (``--out`` elsewhere; ``--write-results``: benchmarks/results/jax_peer.json) with
provenance: every case's times and differences.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "jax_peer.json"
if __name__ == "__main__":
    # This checkout's evolino, not another install's, and the experiments' provenance.
    sys.path[:0] = [str(ROOT), str(ROOT / "experiments")]

from evolino.provenance import cpu_name  # noqa: E402  (no numba, no JAX: the thread limits are set later)

SOLVERS = ("lstsq", "pinv", "normal")
KERNELS = ("compiled", "compiled-scalar", "jax", "numpy")
AGREEMENT = 1e-9  # relative difference to the numpy reference's errors


def _limit_threads(threads: int) -> None:
    flags = os.environ.get("XLA_FLAGS", "")
    if threads == 1 and "multi_thread_eigen" not in flags:
        os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def make_task(steps: int):
    from evolino.tasks.oscillators import MSO_FREQUENCIES, oscillator_task

    train_end = steps * 3 // 4
    return oscillator_task("jax-peer", MSO_FREQUENCIES[:2], train_end=train_end, validation_end=steps,
                           test_end=steps + 50, washout=steps // 4)


def peer_fitness(cells: int, feedback_scale: float, targets: np.ndarray, washout: int, train_end: int,
                 rcond: float, solver: str = "lstsq"):
    """The jitted peer: genomes (n, d) -> NRMSE (n,) of the free run over ``targets[train_end:]`` (1 output).

    ``solver``: "lstsq", "pinv" (both cut singular values below ``rcond`` times the largest) or "normal" (the normal
    equations, no cutoff). Call it with float64 arrays while ``jax_enable_x64`` is set.
    """
    import jax
    import jax.numpy as jnp

    sources = cells + 1  # the fed-back value, then the cell outputs
    per_unit = sources + 1
    y = jnp.asarray(targets[:, 0])
    fed = jnp.concatenate([jnp.zeros(1), y[: train_end - 1]])  # y(t-1), zero at t = 0
    valid = y[train_end:]

    def sigmoid(x):
        return 1.0 / (1.0 + jnp.exp(-x))

    def one(genome):
        cell = genome.reshape(cells, 4 * per_unit + 3)
        units = cell[:, : 4 * per_unit].reshape(cells, 4, per_unit)  # (cell, gate z/i/f/o, [w_fb, w_h..., b])
        w_fb, w_h, b = units[..., 0] * feedback_scale, units[..., 1:sources], units[..., sources]
        p_i, p_f, p_o = cell[:, -3], cell[:, -2], cell[:, -1]

        def step(carry, y_prev):
            h, c = carry
            pre = w_fb * y_prev + jnp.einsum("kgj,j->kg", w_h, h) + b  # (cells, 4)
            z = jnp.tanh(pre[:, 0])
            i = sigmoid(pre[:, 1] + p_i * c)
            f = sigmoid(pre[:, 2] + p_f * c)
            c = f * c + i * z
            o = sigmoid(pre[:, 3] + p_o * c)
            h = o * jnp.tanh(c)
            return (h, c), h

        zero = jnp.zeros(cells)
        (h, c), states = jax.lax.scan(step, (zero, zero), fed)
        design = jnp.concatenate([states[washout:], jnp.ones((train_end - washout, 1))], axis=1)
        wanted = y[washout:train_end]
        if solver == "lstsq":
            w_out = jnp.linalg.lstsq(design, wanted, rcond=rcond)[0]
        elif solver == "pinv":
            w_out = jnp.linalg.pinv(design, rtol=rcond) @ wanted
        else:
            w_out = jnp.linalg.solve(design.T @ design, design.T @ wanted)

        def free(carry, _):
            h, c, y_prev = carry
            (h, c), _ = step((h, c), y_prev)
            out = h @ w_out[:cells] + w_out[cells]
            return (h, c, out), out

        _, outputs = jax.lax.scan(free, (h, c, y[train_end - 1]), None, length=valid.shape[0])
        nrmse = jnp.sqrt(jnp.mean((outputs - valid) ** 2) / jnp.var(valid))
        return jnp.where(jnp.isfinite(nrmse), nrmse, jnp.inf)

    return jax.jit(jax.vmap(one))


def _peer_run(peer, on_device) -> np.ndarray:
    return np.asarray(peer(on_device))  # waits for the result: the errors on the host, as an optimizer needs them


def _gap(errors: np.ndarray, reference: np.ndarray) -> float:
    """Largest relative difference to the reference's errors; inf when other genomes fail."""
    finite = np.isfinite(reference)
    if not np.array_equal(np.isfinite(errors), finite):
        return np.inf
    return float(np.max(np.abs(errors[finite] - reference[finite]) / reference[finite], initial=0.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=["10x400", "40x950"], help="CELLSxSTEPS")
    parser.add_argument("--population", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rcond", type=float, default=1e-6, help="the readout's singular-value cutoff")
    parser.add_argument("--kernels", nargs="+", choices=KERNELS, default=list(KERNELS),
                        help="evolino's kernels to time (the numpy reference's errors are always computed)")
    from provenance import add_output_arguments, command_line, output_path, write_results

    add_output_arguments(parser, RESULTS, "10 cells x 100 steps, 10 genomes, one repeat")
    args = parser.parse_args()
    if args.smoke:
        args.cases, args.population, args.repeats = ["10x100"], 10, 1
    out = output_path(parser, args, RESULTS, "jax_peer")
    cases = []
    _limit_threads(args.threads)
    import jax

    jax.config.update("jax_enable_x64", True)  # once, as a JAX user of float64 would

    from evolino.fitness import evaluate_genomes, fitness_lines
    from evolino.kernels import limit_compiled_threads
    from evolino.kernels.jax_kernel import device
    from evolino.network import LSTMSpec
    from evolino.readout import ReadoutConfig

    print(f"CPU {cpu_name()}; load average {load_average()} (1, 5, 15 min) at the start")
    print(f"JAX {jax.__version__} on {device()}; {args.threads} thread(s); population {args.population}; best of "
          f"{args.repeats}, taking turns")
    limit_compiled_threads(args.threads)
    summary = []
    for case in args.cases:
        cells, steps = (int(x) for x in case.split("x"))
        task = make_task(steps)
        spec = LSTMSpec(cells=cells)
        genomes = np.random.default_rng(0).normal(0.0, 0.1, (args.population, spec.dimension))
        on_device = jax.device_put(genomes)  # kept on the device, as a JAX user's population would be
        line = np.concatenate([p.targets for p in (*task.train, *task.validation)])
        config = ReadoutConfig(rcond=args.rcond)
        lines = fitness_lines(spec, task)
        reference = evaluate_genomes(genomes, spec, task, config, kernel="numpy", lines=lines)
        runs, gaps = {}, {}
        for kernel in args.kernels:
            runs[kernel] = partial(evaluate_genomes, genomes, spec, task, config, kernel=kernel, lines=lines)
            gaps[kernel] = _gap(runs[kernel](), reference)  # the first call compiles (or loads the cache)
            assert gaps[kernel] < AGREEMENT, f"{kernel} disagrees with the numpy reference by {gaps[kernel]:.1e}"
        for solver in SOLVERS:
            peer = peer_fitness(cells, spec.feedback_scale, line, task.washout, task.train[0].steps, args.rcond,
                                solver)
            runs[f"JAX peer, {solver}"] = partial(_peer_run, peer, on_device)
            gaps[f"JAX peer, {solver}"] = _gap(runs[f"JAX peer, {solver}"](), reference)  # compiles
        best = dict.fromkeys(runs, np.inf)
        for _ in range(args.repeats):  # taking turns: a busy neighbour slows every kernel alike
            for name, run in runs.items():
                started = time.perf_counter()
                run()
                best[name] = min(best[name], time.perf_counter() - started)
        valid_peers = [name for name in runs if name.startswith("JAX peer") and gaps[name] < AGREEMENT]
        peer = min(valid_peers, key=best.get)
        print(f"\n{cells} cells x {steps} steps; the peer is the fastest JAX peer whose errors agree: {peer}")
        print("| kernel | ms per population | genomes/s | speed / peer's | largest relative difference to numpy |")
        print("|---|---|---|---|---|")
        for name, seconds in sorted(best.items(), key=lambda item: item[1]):
            print(f"| {name} | {seconds * 1e3:.2f} | {args.population / seconds:,.0f} | {best[peer] / seconds:.2f}x | "
                  f"{gaps[name]:.1e} |")
        cases.append({"case": case, "peer": peer, "seconds": best, "largest_relative_difference": gaps})
        if "compiled" in best:
            summary.append(f"{cells} x {steps}: compiled {best[peer] / best['compiled']:.2f}x the {peer}")
    print(f"\nload average {load_average()} at the end; CPU {cpu_name()}")
    print("; ".join(summary))
    write_results(out, {"cpu": cpu_name(), "jax": jax.__version__, "device": str(device()), "threads": args.threads,
                        "population": args.population, "repeats": args.repeats, "cases": cases, "summary": summary},
                  command_line(args))


if __name__ == "__main__":
    main()
