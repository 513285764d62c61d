"""Time to solution: the default runs on MSO2 (10 cells) and MSO3 (15 cells), wall time, test error against the
target, and where the time goes (the fitness, the optimizer's ask + tell, the final test, the rest), for the default
optimizer and full CMA-ES and for the compiled kernel and the one before it, side by side in one run.

    python benchmarks/time_to_solution.py                     # seeds 0-2, sep-cma and cma, compiled and compiled-scalar
    python benchmarks/time_to_solution.py --tasks mso2 --optimizers sep-cma     # the default MSO2 run only
    python benchmarks/time_to_solution.py --smoke    # MSO2, sep-cma, compiled, 3 generations: a check that it runs
    python benchmarks/time_to_solution.py --tasks mso2 --optimizers sep-cma --kernels compiled --against 8857742
                                                     # the default run beside the same command at another commit

Each run is ``python -m evolino run --task TASK [--cells N] --optimizer OPT --seed S`` in a fresh process with
``EVOLINO_KERNEL`` set to the kernel (one untimed run per kernel first fills the kernel cache); runs take turns, so
every kernel and optimizer sees the same machine load. Inside the run: ``fitness`` is the time in the problem's
evaluations (every generation's population), ``optimizer`` the time in the optimizer's ``ask`` and ``tell``,
``finish`` the final validation, refit, test and baselines after the last generation, and ``other`` the rest of
``wall`` (the history, the progress report, checkpoints). ``wall`` is the run's own ``wall_seconds`` (result.json:
training and the final test, without Python's start-up). The targets are the test NRMSEs the project aims for: 3e-8
on MSO2 within 2.5 s, 1e-5 on MSO3 within 6 s. ``--against REV`` also runs the default command (default optimizer
and kernel) at git revision REV, checked out into a temporary worktree, taking turns with the others: the ratio of
the two medians is the speed-up since REV on this machine (its rows have the wall and the test error only, since the
timers hook this checkout's classes). The CPU and the load average before and after are printed: on a shared
machine the seconds vary from run to run, the shares and the side-by-side ratios less.

Writes runs/time_to_solution/time_to_solution.json (``--out`` elsewhere; ``--write-results``:
benchmarks/results/time_to_solution.json) with provenance: every run's row.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This checkout's evolino (not another install's) and jax_peer's CPU name, in this process and in every run's.
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
from jax_peer import load_average  # noqa: E402

from evolino.provenance import cpu_name  # noqa: E402

sys.path.insert(0, str(ROOT / "experiments"))  # the experiments' provenance
from provenance import add_output_arguments, command_line, output_path, write_results  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "time_to_solution.json"

TASKS = {"mso2": (10, 3e-8, 2.5), "mso3": (15, 1e-5, 6.0)}  # cells, target test NRMSE, target seconds
KERNELS = ("compiled", "compiled-scalar")
PARTS = ("fitness", "optimizer", "finish", "other")


def _timed(spent: dict, key: str, method):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - started
    return wrapper


def one_run(task: str, seed: int, optimizer: str, out: str, generations: int | None = None) -> None:
    """In the child process: the CLI run with its fitness, ask/tell and finish timed; prints a JSON line."""
    from evolino.cli import main
    from evolino.fitness import EvolinoProblem
    from evolino.optimizers.base import Optimizer
    from evolino.trainer import Evolino

    spent = dict.fromkeys(PARTS[:-1], 0.0)
    # Every optimizer's ask is its own; tell goes through the base class.
    for cls in {Optimizer, *_subclasses(Optimizer)}:
        if "ask" in vars(cls):
            cls.ask = _timed(spent, "optimizer", vars(cls)["ask"])
    Optimizer.tell = _timed(spent, "optimizer", Optimizer.tell)
    EvolinoProblem.evaluate = _timed(spent, "fitness", EvolinoProblem.evaluate)
    Evolino._finish = _timed(spent, "finish", Evolino._finish)
    cells = TASKS[task][0]
    status = main(["run", "--task", task, "--cells", str(cells), "--optimizer", optimizer, "--seed", str(seed),
                   "--out", out, "--overwrite", "--quiet", "--no-plots",
                   *(["--generations", str(generations)] if generations else [])])
    result = json.loads((Path(out) / "result.json").read_text())
    print(json.dumps({"status": status, "wall": result["wall_seconds"], "test_error": result["test_error"],
                      **{f"{part}_seconds": seconds for part, seconds in spent.items()}}))


def _subclasses(cls) -> set:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def measure(task: str, seed: int, optimizer: str, kernel: str, folder: Path, generations: int | None = None) -> dict:
    out = folder / f"{task}_{optimizer}_{kernel}_{seed}"
    done = subprocess.run([sys.executable, __file__, "--one", task, str(seed), optimizer, str(out),
                           str(generations or 0)],
                          check=True, capture_output=True, text=True, env={**os.environ, "EVOLINO_KERNEL": kernel})
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["other_seconds"] = result["wall"] - sum(result[f"{part}_seconds"] for part in PARTS[:-1])
    return result


_AT_REVISION = """
import json, sys
sys.path.insert(0, sys.argv[1])
from evolino.cli import main
task, cells, seed, out, generations = sys.argv[2:7]
status = main(["run", "--task", task, "--cells", cells, "--seed", seed, "--out", out, "--overwrite", "--quiet",
               "--no-plots", *(["--generations", generations] if generations != "0" else [])])
result = json.loads(open(out + "/result.json").read())
print(json.dumps({"status": status, "wall": result["wall_seconds"], "test_error": result["test_error"]}))
"""


def measure_at(checkout: Path, task: str, seed: int, folder: Path, generations: int | None = None) -> dict:
    """The default command at another checkout (its own optimizer and kernel defaults): wall and test error."""
    out = folder / f"{task}_at_{checkout.name}_{seed}"
    env = {key: value for key, value in os.environ.items() if key != "EVOLINO_KERNEL"}
    done = subprocess.run([sys.executable, "-c", _AT_REVISION, str(checkout), task, str(TASKS[task][0]), str(seed),
                           str(out), str(generations or 0)], check=True, capture_output=True, text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def checkout_at(revision: str) -> Path:
    """A temporary detached worktree of this repository at ``revision`` (removed by :func:`remove_checkout`)."""
    folder = Path(tempfile.mkdtemp(prefix="time-to-solution-at-")) / revision[:12]
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), revision], check=True,
                   capture_output=True, text=True)
    return folder


def remove_checkout(folder: Path) -> None:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], capture_output=True,
                   text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--optimizers", nargs="+", default=["sep-cma", "cma"])
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--kernels", nargs="+", choices=KERNELS, default=list(KERNELS),
                        help="EVOLINO_KERNEL of the runs (compiled-scalar: the compiled kernel before blocks)")
    parser.add_argument("--generations", type=int, default=None, help="default: each run's own")
    parser.add_argument("--against", metavar="REV", default=None,
                        help="also run the default command at git revision REV, side by side")
    parser.add_argument("--one", nargs=5, help=argparse.SUPPRESS)
    add_output_arguments(parser, RESULTS, "MSO2, seed 0, sep-cma, the compiled kernel, 3 generations")
    args = parser.parse_args()
    if args.one:
        task, seed, optimizer, out, generations = args.one
        one_run(task, int(seed), optimizer, out, int(generations) or None)
        return
    if args.smoke:
        args.tasks, args.seeds, args.optimizers, args.kernels, args.generations = ["mso2"], [0], ["sep-cma"], \
            ["compiled"], 3
    results_file = output_path(parser, args, RESULTS, "time_to_solution")
    folder = Path(tempfile.mkdtemp(prefix="time-to-solution-"))
    from evolino.optimizers import optimizer_names  # the optimizers given must exist before anything is timed

    unknown = sorted(set(args.optimizers) - set(optimizer_names()))
    if unknown:
        parser.error(f"unknown optimizer(s) {', '.join(unknown)}")
    print(f"CPU {cpu_name()}, {os.cpu_count()} cores; load average {load_average()} (1, 5, 15 min) at the start")
    against = checkout_at(args.against) if args.against else None
    try:
        rows = _measure_all(args, folder, against)
    finally:
        if against is not None:
            remove_checkout(against)
    write_results(results_file, {"cpu": cpu_name(), "rows": rows, "against": args.against,
                                 "targets": {task: {"test_error": TASKS[task][1], "seconds": TASKS[task][2]}
                                             for task in args.tasks}},
                  command_line(args, skip=("one",)), load_average=load_average())


def _measure_all(args: argparse.Namespace, folder: Path, against: Path | None) -> list[dict]:
    """Every run, taking turns, and the summary tables; returns the rows."""
    for kernel in args.kernels:  # compiles and caches each kernel: timed by no one
        measure("mso2", 0, args.optimizers[0], kernel, folder / "warm-up", args.generations)
    if against is not None:
        measure_at(against, "mso2", 0, folder / "warm-up", args.generations)
    print("| task | optimizer | kernel | seed | test NRMSE | wall | fitness | optimizer | finish | other |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for task in args.tasks:
        for seed in args.seeds:
            for optimizer in args.optimizers:
                for kernel in args.kernels:  # taking turns, so all see the same machine load
                    r = measure(task, seed, optimizer, kernel, folder, args.generations)
                    rows.append({"task": task, "optimizer": optimizer, "kernel": kernel, "seed": seed, **r})
                    shares = " | ".join(f"{r[f'{part}_seconds'] / r['wall']:.0%}" for part in PARTS)
                    print(f"| {task} | {optimizer} | {kernel} | {seed} | {r['test_error']:.2e} | {r['wall']:.2f} s | "
                          f"{shares} |", flush=True)
            if against is not None:
                r = measure_at(against, task, seed, folder, args.generations)
                rows.append({"task": task, "optimizer": "default", "kernel": "default", "seed": seed,
                             "revision": args.against, **r})
                print(f"| {task} | default at {args.against} | default | {seed} | {r['test_error']:.2e} | "
                      f"{r['wall']:.2f} s | | | | |", flush=True)
    print(f"\nload average {load_average()} at the end")
    print("\n| task | optimizer | kernel | median test NRMSE (target) | median wall (target) | meets both | "
          "outside the fitness | of which optimizer |")
    print("|---|---|---|---|---|---|---|---|")
    for task in args.tasks:
        _, target_error, target_seconds = TASKS[task]
        for optimizer in args.optimizers:
            walls = {}
            for kernel in args.kernels:
                mine = [r for r in rows if r["task"] == task and r["optimizer"] == optimizer and r["kernel"] == kernel]
                error = statistics.median(r["test_error"] for r in mine)
                walls[kernel] = wall = statistics.median(r["wall"] for r in mine)
                outside = statistics.median(1 - r["fitness_seconds"] / r["wall"] for r in mine)
                in_optimizer = statistics.median(r["optimizer_seconds"] / r["wall"] for r in mine)
                ok = error <= target_error and wall <= target_seconds
                print(f"| {task} | {optimizer} | {kernel} | {error:.2e} ({target_error:g}) | {wall:.2f} s "
                      f"({target_seconds:g} s) | {'yes' if ok else 'no'} | {outside:.0%} | {in_optimizer:.0%} |")
            if len(walls) == 2:
                print(f"| {task} | {optimizer} | compiled / compiled-scalar | | "
                      f"{walls['compiled'] / walls['compiled-scalar']:.2f}x the wall | | | |")
        if against is not None:
            theirs = [r for r in rows if r["task"] == task and r.get("revision")]
            mine = [r for r in rows if r["task"] == task and r["optimizer"] == args.optimizers[0]
                    and r["kernel"] == args.kernels[0]]
            error = statistics.median(r["test_error"] for r in theirs)
            wall = statistics.median(r["wall"] for r in theirs)
            print(f"| {task} | default at {args.against} | default | {error:.2e} | {wall:.2f} s | | | |")
            print(f"| {task} | {args.optimizers[0]}, {args.kernels[0]} / default at {args.against} | | | "
                  f"{statistics.median(r['wall'] for r in mine) / wall:.2f}x the wall | | | |")
    return rows


if __name__ == "__main__":
    main()
