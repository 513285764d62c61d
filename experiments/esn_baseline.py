"""Echo state network baseline on the MSO tasks: a fair search of its settings, chosen on validation only.

    python experiments/esn_baseline.py                      # MSO2-4 and the five sines; Evolino's sizes and 100 units
    python experiments/esn_baseline.py --tasks mso2 --seeds 0 --reservoirs 2

For every task and reservoir size, each search (``evolino.baselines.ESNSearch``, one per seed) scores every setting
of ``evolino.baselines.esn.DEFAULT_GRID`` (leak rate, spectral radius, feedback scale, density, and Evolino's own
readout options: pseudo-inverse cutoffs 1e-14 / 1e-10 / 1e-6, ridge 1e-8 / 1e-4 and ridge chosen by GCV) on
``--reservoirs`` random reservoirs by its closed-loop NRMSE on the validation window (steps 300-399), the protocol
Evolino's fitness uses; the setting with the lowest validation error is refitted on steps 100-399 and generates the
test window 400-699 once. Input scaling is not searched: the MSO tasks have no inputs. The budget of one search
(9,072 validation scores on 1,512 reservoirs) is below Evolino's 12,000 evaluations of 300 generations x 40.

Sizes: Evolino's cell counts (10 / 15 / 20 cells for MSO2 / 3 / 4, 20 and 40 for the five sines: the same number of
readout weights) and 100 units.
Writes runs/esn_baseline/esn_baseline.json (``--out`` elsewhere; ``--write-results``: the committed
experiments/results/esn_baseline.json) with provenance and prints a markdown table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from provenance import add_output_arguments, command_line, error_or_inf, finite_or_none, output_path, write_results

from evolino.baselines import ESNSearch
from evolino.baselines.esn import DEFAULT_GRID
from evolino.readout import ReadoutConfig
from evolino.tasks import make_task

RESULTS = Path(__file__).parent / "results"
EQUAL_SIZE = {"mso2": (10,), "mso3": (15,), "mso4": (20,), "sines5": (20, 40)}  # Evolino's cells in the tables
LARGE = 100
# --smoke: one value of each setting (the first of DEFAULT_GRID's, two readouts), so a search is a handful of fits.
SMOKE_GRID = {key: values[:2] if key == "readout" else values[:1] for key, values in DEFAULT_GRID.items()}


def readout_json(config: ReadoutConfig) -> dict:
    return {"rcond": config.rcond, "ridge": config.ridge, "bias": config.bias}


def grid_json(grid: dict) -> dict:
    return {key: [readout_json(v) if isinstance(v, ReadoutConfig) else v for v in values]
            for key, values in grid.items()}


def search(task_name: str, units: int, seed: int, reservoirs: int, grid: dict | None = None) -> dict:
    """One search on validation (over ``grid``, default DEFAULT_GRID); its chosen setting with its validation and
    test NRMSE."""
    started = time.perf_counter()
    found = ESNSearch(units=units, grid=grid, reservoirs=reservoirs, random_state=seed).fit(make_task(task_name))
    chosen = {k: readout_json(v) if isinstance(v, ReadoutConfig) else v for k, v in found.best_params_.items()}
    return {"task": task_name, "units": units, "seed": seed, "reservoirs": reservoirs, "settings": found.settings_,
            "chosen": chosen, "validation_error": finite_or_none(found.result_.validation_error),
            "test_error": finite_or_none(found.result_.test_error),
            "seconds": round(time.perf_counter() - started, 1)}




def summarize(rows: list[dict]) -> dict:
    summary = {}
    for row in rows:
        summary.setdefault(f"{row['task']}/{row['units']}", []).append(row)
    return {key: {"test_errors": [r["test_error"] for r in mine],
                  "median_test_error": finite_or_none(float(np.median([error_or_inf(r["test_error"]) for r in mine]))),
                  "settings_per_search": mine[0]["settings"], "seconds_per_search": max(r["seconds"] for r in mine)}
            for key, mine in summary.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=list(EQUAL_SIZE), choices=list(EQUAL_SIZE))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one search per seed")
    parser.add_argument("--reservoirs", type=int, default=4, help="random reservoirs per setting")
    add_output_arguments(parser, RESULTS / "esn_baseline.json", "MSO2, seed 0, one reservoir, one setting")
    args = parser.parse_args()
    if args.smoke:
        args.tasks, args.seeds, args.reservoirs = ["mso2"], [0], 1
    out = output_path(parser, args, RESULTS / "esn_baseline.json", "esn_baseline")
    grid = SMOKE_GRID if args.smoke else DEFAULT_GRID
    print("| task | units | seed | chosen setting | validation NRMSE | test NRMSE | settings | time |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for name in args.tasks:
        for units in (*EQUAL_SIZE[name], LARGE):
            for seed in args.seeds:
                row = search(name, units, seed, args.reservoirs, grid)
                rows.append(row)
                c = row["chosen"]
                setting = (f"leak {c['leak']}, radius {c['spectral_radius']}, feedback {c['feedback_scale']:g}, "
                           f"density {c['density']}, rcond {c['readout']['rcond']:g}, ridge {c['readout']['ridge']}")
                print(f"| {name} | {units} | {seed} | {setting} | {error_or_inf(row['validation_error']):.2e} | "
                      f"{error_or_inf(row['test_error']):.2e} | {row['settings']} | {row['seconds']:.0f} s |",
                      flush=True)
    write_results(out, {"grid": grid_json(grid), "summary": summarize(rows), "rows": rows},
                  command_line(args))


if __name__ == "__main__":
    main()
