"""Reproduce the MSO results of the Evolino papers and choose the readout settings on validation.

    python experiments/mso.py table      # MSO2..MSO4 and the five sines with the paper's cell counts, several seeds
    python experiments/mso.py ablation   # MSO2: pseudo-inverse cutoff x feedback scale, chosen on validation
    python experiments/mso.py table --seeds 0 1 2 --generations 300

Protocol of the Evolino paper (Schmidhuber, Wierstra, Gagliolo, Gomez, Neural Computation 19(3), 2007) and the echo
state network literature: teacher forcing on steps 0-399 with a washout of 100, then a free run over steps 400-699
scored by NRMSE (:mod:`evolino.tasks.oscillators`). Evolution sees steps 0-399 only: the readout is fitted on 100-299
and the fitness is the closed-loop NRMSE on 300-399 (the validation error).

The ablation chooses the setting with the lowest median *validation* error over the seeds; the test errors are
recorded in the JSON but take no part in the choice.

Writes experiments/results/mso_<mode>.json (with provenance, see evolino/provenance.py) and prints a markdown table.
Every number comes from ``evolino.Evolino(...).fit(make_task(...)).result_`` with the settings printed beside it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from provenance import command_line, error_or_inf, finite_or_none, write_results

import evolino

RESULTS = Path(__file__).parent / "results"
# Published numbers: the Evolino paper (recalled, not verified) and PyBrain's Evolino after 100 generations (measured
# outside this repository, see docs/reproducing.md): (cells, paper, PyBrain).
PUBLISHED = {"mso2": (10, 4.2e-3, 2.8e-5), "mso3": (15, 8.0e-3, 7.0e-4), "mso4": (20, 0.11, 8.0e-3),
             "sines5": (20, 0.17, 0.86)}
DEFAULTS = dict(population=40, feedback_scale=1e-4, rcond=1e-14, init_scale=0.1)
ABLATION = {"rcond": (1e-6, 1e-8, 1e-10, 1e-12, 1e-14), "feedback_scale": (1e-2, 1e-3, 1e-4, 1e-5)}


def measured(result) -> dict:
    """The numbers of an Evolino fit that the experiments record (the one place that reads the fit's result)."""
    return {"validation_error": finite_or_none(result.validation_error),
            "test_error": finite_or_none(result.test_error), "evaluations": result.evaluations,
            "trivial_baselines": result.baselines}




def _median(values) -> float:
    return float(np.median([error_or_inf(v) for v in values]))


def run(task: str, cells: int, seed: int, generations: int, optimizer: str = "cma", **overrides) -> dict:
    params = {**DEFAULTS, **overrides}
    started = time.perf_counter()
    result = evolino.Evolino(cells=cells, optimizer=optimizer, generations=generations, seed=seed,
                             **params).fit(evolino.make_task(task)).result_
    return {"task": task, "cells": cells, "seed": seed, "optimizer": optimizer, "generations": generations,
            **params, **measured(result), "seconds": round(time.perf_counter() - started, 2)}


def table(seeds: list[int], generations: int, optimizer: str) -> list[dict]:
    print("| task | cells | seed | validation NRMSE | test NRMSE | AR(p) test | time | Evolino paper | PyBrain |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    for task, (cells, paper, pybrain) in PUBLISHED.items():
        for seed in seeds:
            row = run(task, cells, seed, generations, optimizer=optimizer)
            row.update(paper=paper, pybrain=pybrain)
            rows.append(row)
            ar = row["trivial_baselines"].get("ar", {}).get("test_error", float("nan"))
            print(f"| {task} | {cells} | {seed} | {error_or_inf(row['validation_error']):.2e} | "
                  f"{error_or_inf(row['test_error']):.2e} | "
                  f"{ar:.1e} | {row['seconds']:.0f} s | {paper} | {pybrain} |", flush=True)
    return rows


def ablation(seeds: list[int], generations: int, optimizer: str) -> tuple[list[dict], dict]:
    """Every (rcond, feedback scale) on MSO2 with 10 cells; the summary's choice uses validation errors only."""
    print("| rcond | feedback scale | validation NRMSE, seeds " + " / ".join(map(str, seeds)) + " | median | time |")
    print("|---|---|---|---|---|")
    rows, settings = [], []
    for rcond in ABLATION["rcond"]:
        for feedback_scale in ABLATION["feedback_scale"]:
            mine = [run("mso2", 10, seed, generations, optimizer=optimizer, rcond=rcond,
                        feedback_scale=feedback_scale) for seed in seeds]
            rows += mine
            median = _median(r["validation_error"] for r in mine)
            settings.append({"rcond": rcond, "feedback_scale": feedback_scale, "median_validation_error": median})
            print(f"| {rcond:g} | {feedback_scale:g} | "
                  + " / ".join(f"{error_or_inf(r['validation_error']):.1e}" for r in mine)
                  + f" | {median:.1e} | {sum(r['seconds'] for r in mine):.0f} s |", flush=True)
    chosen = min(settings, key=lambda s: s["median_validation_error"])
    tests = [r["test_error"] for r in rows
             if r["rcond"] == chosen["rcond"] and r["feedback_scale"] == chosen["feedback_scale"]]
    summary = {"chosen_on": "median validation NRMSE over the seeds", "settings": settings, "chosen": chosen,
               "chosen_test_errors": tests, "defaults": {"rcond": DEFAULTS["rcond"],
                                                         "feedback_scale": DEFAULTS["feedback_scale"]}}
    print(f"\nchosen on validation: rcond {chosen['rcond']:g}, feedback scale {chosen['feedback_scale']:g} "
          f"(median validation NRMSE {chosen['median_validation_error']:.1e}); its test NRMSE: "
          + " / ".join(f"{error_or_inf(t):.1e}" for t in tests))
    return rows, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("table", "ablation"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--generations", type=int, default=300)
    parser.add_argument("--optimizer", default="cma")
    parser.add_argument("--out", type=Path, help="default experiments/results/mso_<mode>.json")
    args = parser.parse_args()
    if args.mode == "table":
        payload = {"rows": table(args.seeds, args.generations, args.optimizer)}
    else:
        rows, summary = ablation(args.seeds, args.generations, args.optimizer)
        payload = {"summary": summary, "rows": rows}
    write_results(args.out or RESULTS / f"mso_{args.mode}.json", payload, command_line(args, positional=("mode",)))


if __name__ == "__main__":
    main()
