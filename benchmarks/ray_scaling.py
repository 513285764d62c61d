"""Ray scaling: one generation evaluated serially and on Ray with 1 and 2 workers, side by side in one run.

Population 200, 10 cells, 700 steps per evaluation (525 teacher-forced, 175 closed-loop) on a two-sine task. Each
Ray configuration is measured in its own phase, with only its own actors alive, as in a real run (idle actors of
other configurations would take CPU from it: Ray workers wake up in the background); within a phase the serial
backend and the Ray configuration take turns, 5 generations at a time as a run calls them back to back, so a busy
neighbour slows them alike, and the ratio is taken between those two. The errors of every backend are checked to
be bit-identical. The script prints seconds per generation, throughput, the ratio to serial, and the per-generation
overhead of the Ray backend: the same population and chunking scored by a fitness that does no work, so what is
left is chunking, transfer, scheduling and reassembly.

The ratios are to serial on one thread, the way each Ray actor runs (one CPU, one thread). The compiled kernel also
parallelises over genomes inside one process: its serial run on all cores is printed too, for reference.

    python benchmarks/ray_scaling.py                      # local Ray with this machine's cores
    python benchmarks/ray_scaling.py --quick              # fewer rounds
    python benchmarks/ray_scaling.py --kernel numpy       # the numpy reference kernel (default: auto)
    python benchmarks/ray_scaling.py --address HOST:PORT  # an existing cluster (workers = 1, 2 still)
    python benchmarks/ray_scaling.py --smoke              # population 20, 100 steps, one turn: a check that it runs

Writes runs/ray_scaling/ray_scaling.json (``--out`` elsewhere; ``--write-results``: benchmarks/results/
ray_scaling.json) with provenance: every timing, the overhead and the settings.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "experiments")]  # this checkout's evolino and the experiments' provenance
from provenance import add_output_arguments, command_line, output_path, write_results  # noqa: E402

from evolino.backends.ray import RayEvaluator  # noqa: E402
from evolino.backends.ray_cluster import connect  # noqa: E402
from evolino.backends.serial import SerialEvaluator  # noqa: E402
from evolino.fitness import EvolinoProblem  # noqa: E402
from evolino.kernels import limit_compiled_threads, resolve_kernel  # noqa: E402
from evolino.network import LSTMSpec  # noqa: E402
from evolino.tasks.oscillators import MSO_FREQUENCIES, oscillator_task  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "ray_scaling.json"


class NoWorkProblem:
    """Errors of zero, instantly: timing it measures the backend alone (pickled by value from __main__)."""

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        return np.zeros(genomes.shape[0])


def make_problem(cells: int, steps: int, kernel: str) -> EvolinoProblem:
    """A generative two-sine task whose fitness runs ``steps`` steps: 3/4 teacher-forced, 1/4 closed loop."""
    train_end = steps * 3 // 4
    # The test part is never run here, but a Task checks that every part's target varies (NRMSE divides by its
    # spread): one step of test, as before, was a constant target and the Task refused it; 50 steps, as in
    # eval_throughput.py and jax_peer.py.
    task = oscillator_task("ray-scaling", MSO_FREQUENCIES[:2], train_end=train_end, validation_end=steps,
                           test_end=steps + 50, washout=steps // 4)
    return EvolinoProblem(LSTMSpec(cells=cells), task, kernel=kernel)


class ThreadedSerial(SerialEvaluator):
    """The serial backend with the compiled kernel's thread pool set to ``threads`` (numba: per calling thread)."""

    def __init__(self, problem, threads: int) -> None:
        super().__init__(problem)
        self.threads = threads

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        limit_compiled_threads(self.threads)
        return super().evaluate(genomes)


def time_rounds(evaluators: dict, genomes: np.ndarray, rounds: int, block: int) -> dict[str, list[float]]:
    """Seconds per generation of each evaluator: each takes its turn for ``block`` generations in a row, round
    after round."""
    seconds: dict[str, list[float]] = {name: [] for name in evaluators}
    for _ in range(rounds):
        for name, evaluator in evaluators.items():
            for _ in range(block):
                started = time.perf_counter()
                evaluator.evaluate(genomes)
                seconds[name].append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=200)
    parser.add_argument("--cells", type=int, default=10)
    parser.add_argument("--steps", type=int, default=700)
    parser.add_argument("--rounds", type=int, default=6, help="turns per configuration and phase")
    parser.add_argument("--block", type=int, default=5, help="generations in a row per turn")
    parser.add_argument("--chunks-per-worker", type=int, default=None,
                        help="chunks per actor in the main phases (default: the backend's, 1 on one node)")
    parser.add_argument("--kernel", default="auto", choices=["auto", "numpy", "compiled"])
    parser.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray)")
    parser.add_argument("--quick", action="store_true", help="2 rounds")
    add_output_arguments(parser, RESULTS, "population 20, 10 cells, 100 steps, one turn of one generation")
    args = parser.parse_args()
    if args.smoke:
        args.population, args.steps, args.rounds, args.block = 20, 100, 1, 1
    out = output_path(parser, args, RESULTS, "ray_scaling")
    rounds = 2 if args.quick else args.rounds

    problem = make_problem(args.cells, args.steps, args.kernel)
    genomes = np.random.default_rng(0).normal(0.0, 0.3, (args.population, problem.dimension))
    started = time.perf_counter()
    owns_ray = connect(args.address, timeout=30.0)
    print(f"Ray up in {time.perf_counter() - started:.1f}s; {os.cpu_count()} cores here; population "
          f"{args.population}, {args.cells} cells, {args.steps} steps, kernel {resolve_kernel(args.kernel)}; "
          f"{rounds} turns of {args.block} generations per backend and phase")

    import ray

    cores = os.cpu_count() or 1
    # All-core serial first: numba's OpenMP threads spin for a while after a parallel region and would take a core
    # from the Ray actors if those came straight after it (a run never interleaves the two).
    serial = {}
    if resolve_kernel(args.kernel) == "compiled" and cores > 1:
        serial[f"serial, {cores} threads"] = ThreadedSerial(problem, cores)
    serial["serial, 1 thread"] = ThreadedSerial(problem, 1)
    chunks = "default chunks" if args.chunks_per_worker is None else f"{args.chunks_per_worker} chunk(s) each"
    phases = {f"ray, 2 workers, {chunks}": (2, args.chunks_per_worker)}
    for other in sorted({2, 4} - {args.chunks_per_worker}):  # more chunks: load balance, at a cost per chunk
        phases[f"ray, 2 workers, {other} chunks each"] = (2, other)
    phases[f"ray, 1 worker, {chunks}"] = (1, args.chunks_per_worker)
    expected = problem.evaluate(genomes)
    for evaluator in serial.values():
        evaluator.evaluate(genomes)  # warm-up
    rows = []  # (phase, backend, seconds, serial seconds of the same phase)
    overhead = {}
    try:
        for phase, (workers, chunks) in phases.items():
            with RayEvaluator(problem, workers=workers, chunks_per_worker=chunks) as evaluator:
                if not np.array_equal(evaluator.evaluate(genomes), expected):
                    raise SystemExit(f"{phase}: errors differ from problem.evaluate")
                seconds = time_rounds({**serial, phase: evaluator}, genomes, rounds, args.block)
            for name, values in seconds.items():
                rows.append((phase, name, values, seconds["serial, 1 thread"]))
        for workers in (1, 2):
            with RayEvaluator(NoWorkProblem(), workers=workers, chunks_per_worker=args.chunks_per_worker) as no_work:
                no_work.evaluate(genomes)
                overhead[workers] = (time_rounds({"no work": no_work}, genomes, rounds, args.block)["no work"],
                                     len(no_work.chunk_nodes))
    finally:
        if owns_ray:
            ray.shutdown()

    print(f"\n{'phase':34s} {'backend':34s} {'s/gen median':>12s} {'s/gen best':>11s} {'genomes/s':>10s} "
          f"{'x serial':>9s}")
    for phase, name, values, serial_values in rows:
        median = statistics.median(values)
        print(f"{phase:34s} {name:34s} {median:12.4f} {min(values):11.4f} {args.population / median:10.1f} "
              f"{statistics.median(serial_values) / median:9.2f}")
    print("\nper-generation overhead of the Ray backend (same population and chunks, fitness doing no work):")
    for workers, (values, chunk_count) in overhead.items():
        print(f"  {workers} worker{'s' * (workers > 1)}: median {1e3 * statistics.median(values):.2f} ms, "
              f"best {1e3 * min(values):.2f} ms ({chunk_count} chunks)")
    print("all backends gave bit-identical errors")
    write_results(out, {"settings": {"population": args.population, "cells": args.cells, "steps": args.steps,
                                     "rounds": rounds, "block": args.block, "kernel": resolve_kernel(args.kernel),
                                     "cores": cores},
                        "rows": [{"phase": phase, "backend": name, "seconds": values,
                                  "ratio_to_serial": statistics.median(serial_values) / statistics.median(values)}
                                 for phase, name, values, serial_values in rows],
                        "overhead": {str(workers): {"seconds": values, "chunks": chunk_count}
                                     for workers, (values, chunk_count) in overhead.items()}},
                  command_line(args, skip=("address",)), load_average=list(os.getloadavg()))


if __name__ == "__main__":
    main()
