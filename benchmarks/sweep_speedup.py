"""Sweep speed-up: the same runs one after another (as users did by hand) and as one sweep, side by side in one run.

By default 8 runs of MSO3 with 15 cells and 150 generations (seeds 0-7), each 10-20 s alone on a 2-core machine.
The serial side is 8 ``python -m evolino run`` commands, one after another; the sweep side one
``python -m evolino sweep`` of the same 8 runs (``seeds = 8``), both timed from launch to exit, so each pays its own
start-up (Python, numba, Ray and Tune). Then it checks that every trial's test error is bit-identical to its run
alone, and prints the wall times, the ratio, and a probe of the sweep's overhead: the time from launching the sweep
to its first trial starting (Ray and Tune start-up) and the busy share of the trial slots.

    python benchmarks/sweep_speedup.py                  # 8 runs, local Ray on this machine's cores
    python benchmarks/sweep_speedup.py --runs 4 --generations 60
    python benchmarks/sweep_speedup.py --address HOST:PORT   # the sweep side on a cluster
    python benchmarks/sweep_speedup.py --smoke               # 2 runs of MSO2, 5 cells, 3 generations: a check

Writes runs/sweep_speedup/sweep_speedup.json (``--out`` elsewhere; ``--write-results``:
benchmarks/results/sweep_speedup.json) with provenance: the times, the ratio and the probe.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))  # the experiments' provenance
from provenance import add_output_arguments, command_line, output_path, write_results  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "sweep_speedup.json"

BASE = """[task]
name = "{task}"
[network]
cells = {cells}
[stop]
generations = {generations}
[output]
plots = false
checkpoint_every = 0
"""


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--task", default="mso3")
    parser.add_argument("--cells", type=int, default=15)
    parser.add_argument("--generations", type=int, default=150)
    parser.add_argument("--address", default=None)
    add_output_arguments(parser, RESULTS, "2 runs of MSO2, 5 cells, 3 generations")
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.task, args.cells, args.generations = 2, "mso2", 5, 3
    out = output_path(parser, args, RESULTS, "sweep_speedup")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    folder = Path(tempfile.mkdtemp(prefix="sweep-speedup-"))
    base = BASE.format(task=args.task, cells=args.cells, generations=args.generations)
    (folder / "run.toml").write_text(base)
    (folder / "sweep.toml").write_text(base + f"\n[sweep]\nseeds = {args.runs}\n")
    evolino = [sys.executable, "-m", "evolino"]

    # One untimed run first, so that neither side pays for compiling and caching the kernel.
    timed([*evolino, "run", "--config", str(folder / "run.toml"), "--generations", "2", "--out",
           str(folder / "warm-up"), "--quiet"])
    serial_times = []
    for seed in range(args.runs):
        serial_times.append(timed([*evolino, "run", "--config", str(folder / "run.toml"), "--seed", str(seed),
                                   "--out", str(folder / f"alone_{seed}"), "--quiet"]))
    launched = time.time()
    sweep_seconds = timed([*evolino, "sweep", str(folder / "sweep.toml"), "--out", str(folder / "sweep"),
                           *(["--address", args.address] if args.address else [])])

    records = [json.loads(p.read_text()) for p in sorted((folder / "sweep" / "trials").glob("*.json"))]
    for record in records:
        swept = json.loads((folder / "sweep" / record["folder"] / "result.json").read_text())
        alone = json.loads((folder / f"alone_{record['seed']}" / "result.json").read_text())
        assert swept["test_error"] == alone["test_error"], (record["name"], swept["test_error"], alone["test_error"])
    serial = sum(serial_times)
    first_start = min(r["started"] for r in records) - launched
    trial_seconds = sum(r["ended"] - r["started"] for r in records)
    slots = min(os.cpu_count() or 1, args.runs) if args.address is None else None
    print(f"{args.runs} runs of {args.task}, {args.cells} cells, {args.generations} generations; "
          f"{os.cpu_count()} cores; test errors of every trial bit-identical to its run alone")
    print(f"one after another: {serial:.1f} s (each {min(serial_times):.1f}-{max(serial_times):.1f} s, "
          "start-up included)")
    print(f"sweep:             {sweep_seconds:.1f} s")
    print(f"speed-up:          {serial / sweep_seconds:.2f}x")
    busy = f", trial slots busy {trial_seconds / (slots * (sweep_seconds - first_start)):.0%}" if slots else ""
    print(f"probe: first trial started {first_start:.1f} s after launch (Ray + Tune start-up){busy}")
    write_results(out, {"runs": args.runs, "task": args.task, "cells": args.cells, "generations": args.generations,
                        "cores": os.cpu_count(), "serial_seconds": serial_times, "sweep_seconds": sweep_seconds,
                        "speed_up": serial / sweep_seconds, "first_trial_after_seconds": first_start,
                        "busy_share": trial_seconds / (slots * (sweep_seconds - first_start)) if slots else None},
                  command_line(args, skip=("address",)))


if __name__ == "__main__":
    main()
