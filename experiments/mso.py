"""Reproduce the MSO results of the Evolino papers (shared/REFERENCE.md §2) and ablate the readout settings.

    python experiments/mso.py table      # MSO2..MSO5 with the paper's cell counts, several seeds
    python experiments/mso.py ablation   # MSO2: pseudo-inverse cutoff x feedback scale
    python experiments/mso.py table --seeds 0 1 2 --generations 300

Writes experiments/results/mso_<mode>.json and prints a markdown table. Every number comes from
``evolino.Evolino(...).fit(make_task(...))`` with the settings printed beside it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from provenance import command_line, write_results

import evolino

RESULTS = Path(__file__).parent / "results"
# Published numbers (REFERENCE.md §2): Evolino paper [R] and PyBrain's Evolino after 100 generations [M].
PUBLISHED = {"mso2": (10, 4.2e-3, 2.8e-5), "mso3": (15, 8.0e-3, 7.0e-4), "mso4": (20, 0.11, 8.0e-3),
             "sines5": (20, 0.17, 0.86)}
DEFAULTS = dict(population=40, feedback_scale=1e-4, rcond=1e-14, init_scale=0.1)


def run(task: str, cells: int, seed: int, generations: int, optimizer: str = "cma", **overrides) -> dict:
    params = {**DEFAULTS, **overrides}
    started = time.perf_counter()
    result = evolino.Evolino(cells=cells, optimizer=optimizer, generations=generations, seed=seed,
                             **params).fit(evolino.make_task(task))
    return {"task": task, "cells": cells, "seed": seed, "optimizer": optimizer, "generations": generations,
            **params, "validation_error": result.validation_error, "test_error": result.test_error,
            "seconds": round(time.perf_counter() - started, 2)}


def table(seeds: list[int], generations: int, optimizer: str) -> list[dict]:
    rows = []
    for task, (cells, paper, pybrain) in PUBLISHED.items():
        for seed in seeds:
            row = run(task, cells, seed, generations, optimizer=optimizer)
            row.update(paper=paper, pybrain=pybrain)
            rows.append(row)
            print(f"| {task} | {cells} | {seed} | {row['test_error']:.2e} | {row['seconds']:.0f} s | {paper} | "
                  f"{pybrain} |", flush=True)
    return rows


def ablation(seeds: list[int], generations: int, optimizer: str) -> list[dict]:
    rows = []
    for rcond in (1e-6, 1e-10, 1e-14):
        for feedback_scale in (1e-2, 1e-3, 1e-4, 1e-5):
            for seed in seeds:
                row = run("mso2", 10, seed, generations, optimizer=optimizer, rcond=rcond,
                          feedback_scale=feedback_scale)
                rows.append(row)
                print(f"| {rcond:g} | {feedback_scale:g} | {seed} | {row['test_error']:.2e} | "
                      f"{row['seconds']:.0f} s |", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("table", "ablation"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--generations", type=int, default=300)
    parser.add_argument("--optimizer", default="cma")
    args = parser.parse_args()
    if args.mode == "table":
        print("| task | cells | seed | test NRMSE | time | Evolino paper | PyBrain |\n|---|---|---|---|---|---|---|")
        rows = table(args.seeds, args.generations, args.optimizer)
    else:
        print("| rcond | feedback scale | seed | test NRMSE | time |\n|---|---|---|---|---|")
        rows = ablation(args.seeds, args.generations, args.optimizer)
    write_results(RESULTS / f"mso_{args.mode}.json", {"rows": rows}, command_line(args, positional=("mode",)))


if __name__ == "__main__":
    main()
