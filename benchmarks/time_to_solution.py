"""Time to solution: the default runs on MSO2 (10 cells) and MSO3 (15 cells), wall time, test error against the
target, and the share of the time spent in the optimizer (ask + tell), for the default optimizer and full CMA-ES
side by side in one run.

    python benchmarks/time_to_solution.py                     # seeds 0-2, optimizers sep-cma and cma
    python benchmarks/time_to_solution.py --seeds 0 --optimizers sep-cma

Each run is ``python -m evolino run --task TASK [--cells N] --optimizer OPT --seed S`` in a fresh process (one
untimed run first warms the kernel cache), with the optimizer's ``ask`` and ``tell`` timed inside it. ``wall`` is
the run's own ``wall_seconds`` (result.json: training and the final test, without Python's start-up). The targets
are the test NRMSEs the project aims for: 3e-8 on MSO2 within 2.5 s, 1e-5 on MSO3 within 6 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TASKS = {"mso2": (10, 3e-8, 2.5), "mso3": (15, 1e-5, 6.0)}  # cells, target test NRMSE, target seconds


def one_run(task: str, seed: int, optimizer: str, out: str) -> None:
    """In the child process: the CLI run with the optimizer's ask and tell timed; prints a JSON line."""
    from evolino.cli import main
    from evolino.optimizers.base import Optimizer

    spent = [0.0]

    def timed(method):
        def wrapper(self, *args, **kwargs):
            started = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - started
        return wrapper

    # Every optimizer's ask is its own; tell goes through the base class.
    for cls in {Optimizer, *_subclasses(Optimizer)}:
        if "ask" in vars(cls):
            cls.ask = timed(vars(cls)["ask"])
    Optimizer.tell = timed(Optimizer.tell)
    cells = TASKS[task][0]
    status = main(["run", "--task", task, "--cells", str(cells), "--optimizer", optimizer, "--seed", str(seed),
                   "--out", out, "--overwrite", "--quiet", "--no-plots"])
    result = json.loads((Path(out) / "result.json").read_text())
    print(json.dumps({"status": status, "wall": result["wall_seconds"], "test_error": result["test_error"],
                      "optimizer_seconds": spent[0]}))


def _subclasses(cls) -> set:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def measure(task: str, seed: int, optimizer: str, folder: Path) -> dict:
    out = folder / f"{task}_{optimizer}_{seed}"
    done = subprocess.run([sys.executable, __file__, "--one", task, str(seed), optimizer, str(out)],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--optimizers", nargs="+", default=["sep-cma", "cma"])
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        task, seed, optimizer, out = args.one
        one_run(task, int(seed), optimizer, out)
        return
    folder = Path(tempfile.mkdtemp(prefix="time-to-solution-"))
    from evolino.optimizers import optimizer_names  # the optimizers given must exist before anything is timed

    unknown = sorted(set(args.optimizers) - set(optimizer_names()))
    if unknown:
        parser.error(f"unknown optimizer(s) {', '.join(unknown)}")
    measure("mso2", 0, args.optimizers[0], folder / "warm-up")  # compiles and caches the kernel: timed by no one
    print("| task | optimizer | seed | test NRMSE | wall | in the optimizer |")
    print("|---|---|---|---|---|---|")
    rows = []
    for task in args.tasks:
        for seed in args.seeds:
            for optimizer in args.optimizers:  # interleaved, so both optimizers see the same machine load
                r = measure(task, seed, optimizer, folder)
                rows.append({"task": task, "optimizer": optimizer, "seed": seed, **r})
                print(f"| {task} | {optimizer} | {seed} | {r['test_error']:.2e} | {r['wall']:.2f} s | "
                      f"{r['optimizer_seconds'] / r['wall']:.0%} |", flush=True)
    print("\n| task | optimizer | median test NRMSE (target) | median wall (target) | meets both |")
    print("|---|---|---|---|---|")
    for task in args.tasks:
        _, target_error, target_seconds = TASKS[task]
        for optimizer in args.optimizers:
            mine = [r for r in rows if r["task"] == task and r["optimizer"] == optimizer]
            error = statistics.median(r["test_error"] for r in mine)
            wall = statistics.median(r["wall"] for r in mine)
            ok = error <= target_error and wall <= target_seconds
            print(f"| {task} | {optimizer} | {error:.2e} ({target_error:g}) | {wall:.2f} s ({target_seconds:g} s) | "
                  f"{'yes' if ok else 'no'} |")


if __name__ == "__main__":
    main()
