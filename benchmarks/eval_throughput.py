"""Fitness-evaluation throughput: per-genome numpy loop, batched numpy, the compiled kernels (1 thread / all threads).

Every configuration evaluates the *same* genomes with every path in this one process, checks that the errors agree,
and prints evaluations/s, cell-steps/s, the ratio to the per-genome loop, microseconds per network step per genome,
and the peak memory (tracemalloc) of one evaluation. Steps = teacher-forced + closed-loop steps per evaluation.

    python benchmarks/eval_throughput.py            # everything (a few minutes)
    python benchmarks/eval_throughput.py --quick    # small and fast
    python benchmarks/eval_throughput.py --smoke    # tiny sizes, one repeat: a check that it runs

Part 1 (issue 2): 100 genomes, 10 cells, 400 steps: batched numpy vs per-genome numpy loop (ratio must be >= 5).
Part 2 (issue 4): the paths for (10 cells, 400 steps), (40 cells, 950 steps), (100 cells, 2000 steps); the compiled
kernel (genomes in SIMD lanes) and compiled-scalar (one genome per parallel iteration, the kernel before it).
Part 3: peak memory of a large population (1000 genomes x 2000 steps x 50 cells) with streamed readout statistics.
Part 4: compile time of the kernels in a fresh process with an empty numba cache, then with the cache filled.
Timings on a shared machine are noisy: compare the ratios printed side by side.

Writes runs/eval_throughput/eval_throughput.json (``--out`` elsewhere; ``--write-results``:
benchmarks/results/eval_throughput.json) with provenance: the report as printed and part 1's ratio.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "experiments")]  # this checkout's evolino and the experiments' provenance
from provenance import add_output_arguments, command_line, output_path, transcript, write_results  # noqa: E402

from evolino.fitness import evaluate_genomes  # noqa: E402
from evolino.network import LSTMSpec  # noqa: E402
from evolino.readout import ReadoutConfig  # noqa: E402
from evolino.tasks.oscillators import MSO_FREQUENCIES, oscillator_task  # noqa: E402

CONFIG = ReadoutConfig()
RESULTS = ROOT / "benchmarks" / "results" / "eval_throughput.json"


def make_problem(cells: int, steps: int, genomes: int, seed: int = 0):
    """A 2-sine generative task whose fitness runs ``steps`` steps: 3/4 teacher-forced, 1/4 closed loop."""
    train_end = steps * 3 // 4
    task = oscillator_task("bench", MSO_FREQUENCIES[:2], train_end=train_end, validation_end=steps,
                           test_end=steps + 50, washout=steps // 4)  # the test part is never run here
    spec = LSTMSpec(cells=cells)
    population = np.random.default_rng(seed).normal(0.0, 0.3, (genomes, spec.dimension))
    return spec, task, population


def timed(fn, repeats: int) -> tuple[float, object]:
    """Best wall time of ``repeats`` calls (the least disturbed by other processes) and the last result."""
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def per_genome(spec, task, population, kernel="numpy"):
    return np.concatenate([evaluate_genomes(g[None], spec, task, CONFIG, kernel=kernel) for g in population])


def peak_memory(fn) -> float:
    """Peak traced allocation in MB while running fn once."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def set_threads(count: int) -> None:
    import numba

    numba.set_num_threads(count)


def part1(repeats: int, genomes: int = 100, steps: int = 400) -> float:
    spec, task, population = make_problem(10, steps, genomes)
    t_loop, e_loop = timed(lambda: per_genome(spec, task, population), repeats)
    t_batch, e_batch = timed(lambda: evaluate_genomes(population, spec, task, CONFIG, kernel="numpy"), repeats)
    identical = np.array_equal(e_loop, e_batch)
    print(f"Part 1: {genomes} genomes, 10 cells, {steps} steps, numpy kernel")
    print(f"  per-genome loop : {genomes / t_loop:10.0f} evaluations/s")
    print(f"  batched         : {genomes / t_batch:10.0f} evaluations/s")
    print(f"  batched / per-genome ratio: {t_loop / t_batch:.1f}  (errors identical: {identical})")
    if not identical:
        raise SystemExit("batched and per-genome errors differ")
    return t_loop / t_batch


def part2(sizes, repeats: int, max_threads: int) -> None:
    print(f"\nPart 2: per-genome numpy, batched numpy, compiled and compiled-scalar (1 and {max_threads} threads); "
          "same genomes per row")
    header = (f"  {'cells':>5} {'steps':>5} {'n':>4} {'path':<22} {'eval/s':>9} {'cell-steps/s':>13} "
              f"{'x loop':>7} {'us/step/genome':>15} {'peak MB':>8}")
    print(header)
    for cells, steps, n, n_loop in sizes:
        run_size(cells, steps, n, n_loop, repeats, max_threads)


def run_size(cells: int, steps: int, n: int, n_loop: int, repeats: int, max_threads: int) -> None:
    spec, task, population = make_problem(cells, steps, n)
    loop_pop = population[:n_loop]
    t_loop, e_loop = timed(lambda lp=loop_pop: per_genome(spec, task, lp), 1 if n_loop < n else repeats)
    rate_loop = n_loop / t_loop
    rows = [("per-genome numpy", rate_loop, peak_memory(lambda lp=loop_pop: per_genome(spec, task, lp[:1])))]
    t, e_numpy = timed(lambda: evaluate_genomes(population, spec, task, CONFIG, kernel="numpy"), repeats)
    mem = peak_memory(lambda: evaluate_genomes(population, spec, task, CONFIG, kernel="numpy"))
    rows.append(("batched numpy", n / t, mem))
    results = {}
    for kernel in ("compiled", "compiled-scalar"):
        evaluate_genomes(population[:2], spec, task, CONFIG, kernel=kernel)  # compile or load the cache
        mem = peak_memory(lambda k=kernel: evaluate_genomes(population, spec, task, CONFIG, kernel=k))
        for threads in sorted({1, max_threads}):
            set_threads(threads)
            t, results[kernel, threads] = timed(
                lambda k=kernel: evaluate_genomes(population, spec, task, CONFIG, kernel=k), repeats)
            rows.append((f"{kernel} {threads} thr", n / t, mem))
    set_threads(max_threads)
    for name, rate, mb in rows:
        print(f"  {cells:5d} {steps:5d} {n:4d} {name:<22} {rate:9.0f} {rate * cells * steps:13.3g} "
              f"{rate / rate_loop:7.1f} {1e6 / (rate * steps):15.3f} {mb:8.1f}")
    rates = {name: rate for name, rate, _ in rows}
    if max_threads > 1:
        print(f"  {'':16} compiled {max_threads} threads / 1 thread: "
              f"{rates[f'compiled {max_threads} thr'] / rates['compiled 1 thr']:.2f}x")
    print(f"  {'':16} compiled / compiled-scalar, 1 thread: "
          f"{rates['compiled 1 thr'] / rates['compiled-scalar 1 thr']:.2f}x")
    first = results["compiled", 1]
    same = all(np.array_equal(first, r) for r in results.values())
    finite = np.isfinite(e_numpy)
    rel = np.max(np.abs(first[finite] - e_numpy[finite]) / np.abs(e_numpy[finite]), initial=0.0)
    loop_ok = np.array_equal(e_loop, e_numpy[:n_loop])
    print(f"  {'':16} errors: per-genome == batched numpy: {loop_ok}; both compiled kernels on any thread count "
          f"identical: {same}; max relative compiled vs numpy: {rel:.1e} (least squares amplifies rounding)")


def part3(n: int, steps: int, cells: int) -> None:
    spec, task, population = make_problem(cells, steps, n)
    full_mb = n * steps * cells * 8 / 1e6
    print(f"\nPart 3: {n} genomes x {steps} steps x {cells} cells, compiled; a full (n, T, cells) state array "
          f"would be {full_mb:.0f} MB")
    start = time.perf_counter()
    mb = peak_memory(lambda: evaluate_genomes(population, spec, task, CONFIG, kernel="compiled"))
    print(f"  peak traced memory of one evaluation: {mb:.0f} MB ({time.perf_counter() - start:.1f} s, traced)")


COMPILE_SNIPPET = """
import time, numpy as np
t = time.perf_counter()
from evolino.fitness import evaluate_genomes
from evolino.network import LSTMSpec
from evolino.readout import ReadoutConfig
import evolino
spec = LSTMSpec(cells=3)
evaluate_genomes(np.zeros((2, spec.dimension)), spec, evolino.make_task("mso2"), ReadoutConfig(), kernel="compiled")
print(time.perf_counter() - t)
"""


def part4() -> None:
    print("\nPart 4: import + first compiled evaluation in a new process")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("empty cache (compiles)", "cache filled (loads)"):
            out = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], env=env, capture_output=True, text=True,
                                 check=True)
            print(f"  {label:<24}: {float(out.stdout.strip()):.1f} s")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and fewer repeats")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per path (best is kept)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for 'all threads'")
    parser.add_argument("--skip-compile-time", action="store_true")
    add_output_arguments(parser, RESULTS, "20 genomes of 10 cells over 100 steps, one repeat, no compile time")
    args = parser.parse_args(argv)
    out = output_path(parser, args, RESULTS, "eval_throughput")
    repeats = args.repeats or (1 if args.smoke else 2 if args.quick else 5)
    if args.smoke:
        sizes = [(10, 100, 20, 5)]
    elif args.quick:
        sizes = [(10, 400, 100, 100), (40, 950, 40, 5), (100, 2000, 8, 2)]
    else:
        sizes = [(10, 400, 100, 100), (40, 950, 100, 20), (100, 2000, 24, 4)]
    with transcript() as report:
        ratio = part1(repeats, *((20, 100) if args.smoke else ()))
        part2(sizes, repeats, max(1, args.threads))
        part3(*((20, 200, 10) if args.smoke else (100, 2000, 50) if args.quick else (1000, 2000, 50)))
        if not (args.smoke or args.quick or args.skip_compile_time):
            part4()
        print(f"\nbatched numpy / per-genome ratio (issue 2 target >= 5): {ratio:.1f}")
    write_results(out, {"batched_per_genome_ratio": ratio, "sizes": sizes, "repeats": repeats, "report": report},
                  command_line(args), load_average=list(os.getloadavg()))


if __name__ == "__main__":
    main()
