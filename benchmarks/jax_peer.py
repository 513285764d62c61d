"""evolino's fitness kernels against a plain JAX implementation of the same fitness, on the same genomes.

The peer is Evolino's fitness written as a JAX user would write it (:func:`peer_fitness`): one genome's function
(unpack the genome, teacher-force the LSTM with ``lax.scan``, least-squares readout by ``pinv``, free run over the
validation window, NRMSE), ``vmap`` over the population, ``jit``, float64. The task is a generative sum of sines
of ``--steps`` steps, as in benchmarks/ray_scaling.py: washout a quarter, training to three quarters, the rest a
free-run validation window (MSO2's frequencies; 400 steps is MSO2's own split). Every kernel scores the same
population; their errors are checked to agree with the numpy reference (relative 1e-9), then each is timed, taking
turns, best of ``--repeats``. The readout cuts singular values below 1e-6 of the largest (``--rcond``): with
evolino's default of 1e-14 the least squares of random genomes keep directions that rounding decides, and
implementations that sum in another order (numpy against compiled too) then differ by up to 1e-3 in some errors;
the cutoff changes nothing in the time.

    python benchmarks/jax_peer.py                                  # 10 cells x 400 steps and 40 cells x 950 steps
    python benchmarks/jax_peer.py --cases 10x400 --population 100 --threads 2

One core by default: numba's threads and XLA's CPU threads are limited to ``--threads`` (XLA_FLAGS is set before JAX
is imported). Prints the JAX device; a GPU is used when JAX finds one (then the ratio is a GPU against the CPU
kernels).
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial

import numpy as np


def _limit_threads(threads: int) -> None:
    flags = os.environ.get("XLA_FLAGS", "")
    if threads == 1 and "multi_thread_eigen" not in flags:
        os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1").strip()


def make_task(steps: int):
    from evolino.tasks.oscillators import MSO_FREQUENCIES, oscillator_task

    train_end = steps * 3 // 4
    return oscillator_task("jax-peer", MSO_FREQUENCIES[:2], train_end=train_end, validation_end=steps,
                           test_end=steps + 50, washout=steps // 4)


def peer_fitness(cells: int, feedback_scale: float, targets: np.ndarray, washout: int, train_end: int,
                 rcond: float):
    """The jitted peer: genomes (n, d) -> NRMSE (n,) of the free run over ``targets[train_end:]`` (1 output)."""
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
        w_out = jnp.linalg.pinv(design, rtol=rcond) @ y[washout:train_end]

        def free(carry, _):
            h, c, y_prev = carry
            (h, c), _ = step((h, c), y_prev)
            out = h @ w_out[:cells] + w_out[cells]
            return (h, c, out), out

        _, outputs = jax.lax.scan(free, (h, c, y[train_end - 1]), None, length=valid.shape[0])
        nrmse = jnp.sqrt(jnp.mean((outputs - valid) ** 2) / jnp.var(valid))
        return jnp.where(jnp.isfinite(nrmse), nrmse, jnp.inf)

    return jax.jit(jax.vmap(one))


def _peer_run(peer, genomes: np.ndarray) -> np.ndarray:
    import jax

    with jax.enable_x64(True):
        return np.asarray(peer(genomes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=["10x400", "40x950"], help="CELLSxSTEPS")
    parser.add_argument("--population", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rcond", type=float, default=1e-6, help="the readout's singular-value cutoff")
    args = parser.parse_args()
    _limit_threads(args.threads)
    import jax

    from evolino.fitness import evaluate_genomes
    from evolino.kernels import limit_compiled_threads
    from evolino.kernels.jax_kernel import device
    from evolino.network import LSTMSpec
    from evolino.readout import ReadoutConfig

    print(f"JAX {jax.__version__} on {device()}; {args.threads} thread(s); population {args.population}")
    print("| cells x steps | kernel | ms per population | genomes/s | kernel / peer speed |")
    print("|---|---|---|---|---|")
    for case in args.cases:
        cells, steps = (int(x) for x in case.split("x"))
        task = make_task(steps)
        spec = LSTMSpec(cells=cells)
        genomes = np.random.default_rng(0).normal(0.0, 0.1, (args.population, spec.dimension))
        line = np.concatenate([p.targets for p in (*task.train, *task.validation)])
        with jax.enable_x64(True):
            peer = peer_fitness(cells, spec.feedback_scale, line, task.washout, task.train[0].steps, args.rcond)
            peer_errors = np.asarray(peer(genomes))  # compiles
        config = ReadoutConfig(rcond=args.rcond)
        limit_compiled_threads(args.threads)
        runs = {kernel: partial(evaluate_genomes, genomes, spec, task, config, kernel=kernel)
                for kernel in ("numpy", "compiled", "jax")}
        reference = runs["numpy"]()
        finite = np.isfinite(reference)
        for name, errors in [("peer", peer_errors), *((k, f()) for k, f in runs.items() if k != "numpy")]:
            assert np.array_equal(np.isfinite(errors), finite), f"{name}: other genomes fail than numpy's"
            gap = np.max(np.abs(errors[finite] - reference[finite]) / reference[finite])
            assert gap < 1e-9, f"{name} disagrees with the numpy reference by {gap:.1e}"

        runs["peer"] = partial(_peer_run, peer, genomes)
        best = dict.fromkeys(runs, np.inf)
        for _ in range(args.repeats):  # taking turns: a busy neighbour slows every kernel alike
            for name, run in runs.items():
                started = time.perf_counter()
                run()
                best[name] = min(best[name], time.perf_counter() - started)
        for name, seconds in best.items():
            print(f"| {cells} x {steps} | {name} | {seconds * 1e3:.1f} | {args.population / seconds:,.0f} | "
                  f"{best['peer'] / seconds:.2f}x |")
    print(f"every kernel's errors and the peer's agree with the numpy reference to 1e-9 (relative), rcond "
          f"{args.rcond:g}")


if __name__ == "__main__":
    main()
