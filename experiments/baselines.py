"""Evolino against its baselines on the same tasks, protocol and readout code.

* Evolino (CMA-ES, least-squares readout; the settings of ``experiments/mso.py table``), its runs side by side as
  one sweep (experiments/sweeps.py: ``--address`` for a Ray cluster),
* the same LSTM trained by BPTT + Adam (hidden and output weights by gradient, teacher forcing), feedback scale
  chosen on the validation window,
* an echo state network of Evolino's size and one of 100 units (fixed random reservoir, same readout), its settings
  searched on the validation window as in ``experiments/esn_baseline.py``.

    python experiments/baselines.py [--tasks mso2 mso3] [--seeds 0 1 2] [--bptt-iterations 500] [--reservoirs 4]

Every method is chosen on the validation window (steps 300-399) only and scored once on the free run over steps
400-699. Writes runs/baselines/baselines.json (``--out`` elsewhere; ``--write-results``: the committed
experiments/results/baselines.json) with provenance and prints a markdown table (test NRMSE).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from esn_baseline import EQUAL_SIZE, LARGE, SMOKE_GRID
from esn_baseline import search as esn_search
from mso import PUBLISHED, base_config
from provenance import add_output_arguments, command_line, error_or_inf, finite_or_none, output_path, write_results
from sweeps import SWEEP_ONLY, add_sweep_arguments, evolino_runs

import evolino
from evolino.baselines import BPTTLSTM

RESULTS = Path(__file__).parent / "results"
BPTT_FEEDBACK_SCALES = (1.0, 0.1)


def bptt_run(task_name: str, cells: int, seed: int, iterations: int) -> dict:
    """BPTT with each feedback scale; the one with the lower validation error is kept."""
    task, best = evolino.make_task(task_name), None
    for feedback_scale in BPTT_FEEDBACK_SCALES:
        r = BPTTLSTM(cells=cells, iterations=iterations, learning_rate=1e-2, feedback_scale=feedback_scale,
                     random_state=seed).fit(task).result_
        if best is None or r.validation_error < best["validation_error"]:
            best = {"feedback_scale": feedback_scale, "validation_error": finite_or_none(r.validation_error),
                    "test_error": finite_or_none(r.test_error)}
    return best


def evolino_rows(args: argparse.Namespace) -> dict[tuple[str, int], dict]:
    """Evolino's runs of every task and seed, side by side as one sweep: {(task, seed): row}."""
    settings = [{"task.name": task, "network.cells": PUBLISHED[task][0]} for task in args.tasks]
    runs = evolino_runs(f"baselines_evolino_{args.generations}", base_config(args.generations, "cma"), args,
                        seeds=args.seeds, settings=settings)
    return {(run["settings"]["task.name"], run["seed"]): {
        "task": run["settings"]["task.name"], "method": "evolino", "seed": run["seed"],
        "cells": run["settings"]["network.cells"], "validation_error": run["result"]["validation_error"],
        "test_error": run["result"]["test_error"], "seconds": round(run["result"]["wall_seconds"], 1)}
        for run in runs}


def one(method: str, task: str, cells: int, seed: int, args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    if method == "bptt":
        numbers = bptt_run(task, cells, seed, args.bptt_iterations)
    else:
        found = esn_search(task, cells if method == "esn_equal_size" else LARGE, seed, args.reservoirs,
                           SMOKE_GRID if args.smoke else None)
        numbers = {k: found[k] for k in ("validation_error", "test_error", "units", "chosen")}
    return {"task": task, "method": method, "seed": seed, "cells": cells, **numbers,
            "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["mso2", "mso3"], choices=list(EQUAL_SIZE))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--bptt-iterations", type=int, default=500)
    parser.add_argument("--reservoirs", type=int, default=4, help="ESN reservoirs per setting")
    parser.add_argument("--generations", type=int, default=300, help="Evolino's generations")
    add_output_arguments(parser, RESULTS / "baselines.json",
                         "MSO2, seed 0, 2 generations, 5 BPTT steps, ESNs of one reservoir and one setting")
    add_sweep_arguments(parser)
    args = parser.parse_args()
    if args.smoke:
        args.tasks, args.seeds, args.generations, args.bptt_iterations, args.reservoirs = ["mso2"], [0], 2, 5, 1
    out = output_path(parser, args, RESULTS / "baselines.json", "baselines")
    methods = ("evolino", "bptt", "esn_equal_size", "esn_100")
    evolved = evolino_rows(args)
    rows = []
    print("| task | method | seed | validation NRMSE | test NRMSE | seconds |\n|---|---|---|---|---|---|")
    for task in args.tasks:
        cells = PUBLISHED[task][0]
        for seed in args.seeds:
            for method in methods:
                row = evolved[(task, seed)] if method == "evolino" else one(method, task, cells, seed, args)
                rows.append(row)
                print(f"| {task} | {method} | {seed} | {error_or_inf(row['validation_error']):.2e} | "
                      f"{error_or_inf(row['test_error']):.2e} | {row['seconds']:.0f} |", flush=True)
    summary = {}
    for row in rows:
        summary.setdefault(f"{row['task']}/{row['method']}", []).append(error_or_inf(row["test_error"]))
    summary = {k: {"median_test_error": finite_or_none(float(np.median(v))), "runs": len(v)}
               for k, v in summary.items()}
    write_results(out, {"summary": summary, "rows": rows}, command_line(args, skip=SWEEP_ONLY))



if __name__ == "__main__":
    main()
