"""Evolino against its baselines on the same tasks, protocol and readout code.

* Evolino (CMA-ES, least-squares readout; the settings of ``experiments/mso.py table``), its runs side by side as
  one sweep (experiments/sweeps.py: ``--address`` for a Ray cluster),
* the same LSTM trained by BPTT + Adam (hidden and output weights by gradient, teacher forcing): learning rate,
  forget gates' initial bias and number of Adam steps chosen on the validation window (``BPTT_GRID``: 12 settings,
  12,000 Adam steps, as many as Evolino's evaluations), the chosen setting trained again on train + validation
  (steps 0-399) like Evolino's final refit,
* an echo state network of Evolino's size and one of 100 units (fixed random reservoir, same readout), its settings
  searched on the validation window as in ``experiments/esn_baseline.py``.

    python experiments/baselines.py [--tasks mso2 mso3] [--seeds 0 1 2] [--reservoirs 4]

Every method is chosen on the validation window (steps 300-399) only, refitted on steps 0-399 and scored once on
the free run over steps 400-699: the test window is read for the chosen setting only. Writes
runs/baselines/baselines.json (``--out`` elsewhere; ``--write-results``: the committed
experiments/results/baselines.json) with provenance and prints a markdown table (test NRMSE).
"""

from __future__ import annotations

import argparse
import itertools
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
# The BPTT LSTM's settings, each trained on the training part (steps 0-299) and scored on the validation window
# (300-399); the chosen one is trained again on train + validation (0-399) and generates the test window once.
# 12 settings, 12,000 Adam steps per search: as many as Evolino's evaluations (300 generations x 40); the feedback
# scale stays at 0.1, the choice of every run of the earlier search over 1.0 / 0.1 on validation.
BPTT_GRID = {"learning_rate": (1e-2, 3e-3, 1e-3), "forget_bias": (0.0, 2.0), "iterations": (500, 1500),
             "feedback_scale": (0.1,)}
# --smoke: four settings of 3 or 5 Adam steps (a choice to make, the refit, the test read once).
SMOKE_BPTT_GRID = {"learning_rate": (1e-2,), "forget_bias": (0.0, 2.0), "iterations": (5, 3),
                   "feedback_scale": (0.1,)}


def grid_settings(grid: dict) -> list[dict]:
    """Every combination of ``grid``'s values, in order."""
    return [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]


def bptt_run(task_name: str, cells: int, seed: int, grid: dict | None = None) -> dict:
    """The BPTT LSTM's setting chosen on validation, refitted on train + validation, then tested once.

    Every setting of ``grid`` (default BPTT_GRID) is trained on the training part of a copy of the task without its
    test part and scored on the validation window; the one with the lowest validation NRMSE (ties: the first) is
    trained again, same seed, on train + validation (``BPTTLSTM.fit(task, refit=True)``, as Evolino's final readout
    is refitted), and only that network generates the test window.
    """
    task = evolino.make_task(task_name)
    hidden = task.without_test()
    started, scores = time.perf_counter(), []
    for setting in grid_settings(grid or BPTT_GRID):
        r = BPTTLSTM(cells=cells, random_state=seed, **setting).fit(hidden).result_
        scores.append({**setting, "validation_error": finite_or_none(r.validation_error)})
    search_seconds = time.perf_counter() - started
    best = min(scores, key=lambda s: error_or_inf(s["validation_error"]))
    chosen = {k: v for k, v in best.items() if k != "validation_error"}
    refitted = BPTTLSTM(cells=cells, random_state=seed, **chosen).fit(task, refit=True).result_
    return {"chosen": chosen, "validation_error": best["validation_error"],
            "test_error": finite_or_none(refitted.test_error), "settings": len(scores),
            "adam_steps": sum(s["iterations"] for s in scores), "search": scores,
            "search_seconds": round(search_seconds, 1),
            "refit_seconds": round(time.perf_counter() - started - search_seconds, 1)}


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
        numbers = bptt_run(task, cells, seed, SMOKE_BPTT_GRID if args.smoke else BPTT_GRID)
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
    parser.add_argument("--reservoirs", type=int, default=4, help="ESN reservoirs per setting")
    parser.add_argument("--generations", type=int, default=300, help="Evolino's generations")
    add_output_arguments(parser, RESULTS / "baselines.json",
                         "MSO2, seed 0, 2 generations, BPTT settings of 5 and 3 Adam steps, ESNs of one reservoir "
                         "and one setting")
    add_sweep_arguments(parser)
    args = parser.parse_args()
    if args.smoke:
        args.tasks, args.seeds, args.generations, args.reservoirs = ["mso2"], [0], 2, 1
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
