"""Ray scaling: one generation evaluated serially and on Ray with 1 and 2 workers, side by side in one run.

Population 200, 10 cells, 700 steps per evaluation (525 teacher-forced, 175 closed-loop) on a two-sine task. The
configurations take turns round after round (so a busy neighbour slows them alike), the errors of every backend are
checked to be bit-identical, and the script prints seconds per generation, throughput and the ratio to serial, and
the per-generation overhead of the Ray backend: the same population and chunking scored by a fitness that does no
work, so what is left is chunking, transfer, scheduling and reassembly.

The ratios are to serial on one thread, the way each Ray actor runs (one CPU, one thread). The compiled kernel also
parallelises over genomes inside one process: its serial run on all cores is printed too, for reference.

    python benchmarks/ray_scaling.py                      # local Ray with this machine's cores
    python benchmarks/ray_scaling.py --quick              # fewer rounds
    python benchmarks/ray_scaling.py --kernel numpy       # the numpy reference kernel (default: auto)
    python benchmarks/ray_scaling.py --address HOST:PORT  # an existing cluster (workers = 1, 2 still)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

from evolino.backends.ray import RayEvaluator, connect
from evolino.backends.serial import SerialEvaluator
from evolino.fitness import EvolinoProblem
from evolino.kernels import resolve_kernel
from evolino.network import LSTMSpec
from evolino.tasks.oscillators import MSO_FREQUENCIES, oscillator_task


class NoWorkProblem:
    """Errors of zero, instantly: timing it measures the backend alone (pickled by value from __main__)."""

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        return np.zeros(genomes.shape[0])


def make_problem(cells: int, steps: int, kernel: str) -> EvolinoProblem:
    """A generative two-sine task whose fitness runs ``steps`` steps: 3/4 teacher-forced, 1/4 closed loop."""
    train_end = steps * 3 // 4
    task = oscillator_task("ray-scaling", MSO_FREQUENCIES[:2], train_end=train_end, validation_end=steps,
                           test_end=steps + 1, washout=steps // 4)
    return EvolinoProblem(LSTMSpec(cells=cells), task, kernel=kernel)


class ThreadedSerial(SerialEvaluator):
    """The serial backend with the compiled kernel's thread pool set to ``threads`` (numba: per calling thread)."""

    def __init__(self, problem, threads: int) -> None:
        super().__init__(problem)
        self.threads = threads

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        if "numba" in sys.modules:
            import numba

            numba.set_num_threads(min(self.threads, numba.config.NUMBA_NUM_THREADS))
        return super().evaluate(genomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=200)
    parser.add_argument("--cells", type=int, default=10)
    parser.add_argument("--steps", type=int, default=700)
    parser.add_argument("--rounds", type=int, default=10, help="timed generations per configuration")
    parser.add_argument("--chunks-per-worker", type=int, default=2)
    parser.add_argument("--kernel", default="auto", choices=["auto", "numpy", "compiled"])
    parser.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray)")
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds

    problem = make_problem(args.cells, args.steps, args.kernel)
    genomes = np.random.default_rng(0).normal(0.0, 0.3, (args.population, problem.dimension))
    started = time.perf_counter()
    # The Ray evaluators hold 8 actors at once but take turns computing: a local Ray declares 8 logical CPUs so
    # that every actor has its slot (a cluster given with --address needs 8 CPUs for the same).
    owns_ray = connect(args.address, timeout=30.0, num_cpus=None if args.address else 8)
    print(f"Ray up in {time.perf_counter() - started:.1f}s; {os.cpu_count()} cores here; population "
          f"{args.population}, {args.cells} cells, {args.steps} steps, {args.chunks_per_worker} chunks per worker, "
          f"{rounds} rounds, kernel {resolve_kernel(args.kernel)}")

    import ray

    cores = os.cpu_count() or 1
    evaluators = {"serial, 1 thread": ThreadedSerial(problem, 1)}
    if resolve_kernel(args.kernel) == "compiled" and cores > 1:
        evaluators[f"serial, {cores} threads"] = ThreadedSerial(problem, cores)
    for workers in (1, 2):
        evaluators[f"ray, {workers} worker{'s' * (workers > 1)}"] = RayEvaluator(
            problem, workers=workers, chunks_per_worker=args.chunks_per_worker)
    if args.chunks_per_worker != 1:  # fewer, bigger calls: less per-call cost, no load balancing
        evaluators["ray, 2 w, 1 chunk"] = RayEvaluator(problem, workers=2, chunks_per_worker=1)
    no_work = {w: RayEvaluator(NoWorkProblem(), workers=w, chunks_per_worker=args.chunks_per_worker) for w in (1, 2)}
    try:
        expected = problem.evaluate(genomes)
        for name, evaluator in evaluators.items():  # warm-up, and the determinism check
            if not np.array_equal(evaluator.evaluate(genomes), expected):
                raise SystemExit(f"{name} errors differ from problem.evaluate")
        for evaluator in no_work.values():
            evaluator.evaluate(genomes)
        seconds: dict[str, list[float]] = {name: [] for name in [*evaluators, *[f"no-work {w}" for w in no_work]]}
        for _ in range(rounds):
            for name, evaluator in [*evaluators.items(), *[(f"no-work {w}", e) for w, e in no_work.items()]]:
                t0 = time.perf_counter()
                evaluator.evaluate(genomes)
                seconds[name].append(time.perf_counter() - t0)
    finally:
        for evaluator in [*evaluators.values(), *no_work.values()]:
            evaluator.close()
        if owns_ray:
            ray.shutdown()

    serial = statistics.median(seconds["serial, 1 thread"])
    print(f"\n{'backend':18s} {'s/gen median':>12s} {'s/gen best':>11s} {'genomes/s':>10s} {'x serial':>9s}")
    for name in evaluators:
        median = statistics.median(seconds[name])
        print(f"{name:18s} {median:12.4f} {min(seconds[name]):11.4f} {args.population / median:10.1f} "
              f"{serial / median:9.2f}")
    print("\nper-generation overhead of the Ray backend (same population and chunks, fitness doing no work):")
    for workers in no_work:
        values = seconds[f"no-work {workers}"]
        print(f"  {workers} worker{'s' * (workers > 1)}: median {1e3 * statistics.median(values):.2f} ms, "
              f"best {1e3 * min(values):.2f} ms ({workers * args.chunks_per_worker} chunks)")
    print("all backends gave bit-identical errors")


if __name__ == "__main__":
    main()
