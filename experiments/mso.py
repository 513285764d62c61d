"""Reproduce the MSO results of the Evolino papers and choose the readout settings on validation.

    python experiments/mso.py table      # MSO2..MSO4 and the five sines with the paper's cell counts, several seeds
    python experiments/mso.py ablation   # MSO2: pseudo-inverse cutoff x feedback scale, chosen on validation
    python experiments/mso.py table --seeds 0 1 2 --generations 300
    python experiments/mso.py table --write-results   # replace the committed experiments/results/mso_table.json
    python experiments/mso.py table --smoke           # MSO2, seed 0, 2 generations: a check that it runs

Protocol of the Evolino paper (Schmidhuber, Wierstra, Gagliolo, Gomez, Neural Computation 19(3), 2007) and the echo
state network literature: teacher forcing on steps 0-399 with a washout of 100, then a free run over steps 400-699
scored by NRMSE (:mod:`evolino.tasks.oscillators`). Evolution sees steps 0-399 only: the readout is fitted on 100-299
and the fitness is the closed-loop NRMSE on 300-399 (the validation error).

The ablation chooses the setting with the lowest median *validation* error over the seeds; the test errors are
recorded in the JSON but take no part in the choice.

Writes runs/mso/mso_<mode>.json (``--out`` elsewhere; ``--write-results``: the committed
experiments/results/mso_<mode>.json) with provenance (see evolino/provenance.py) and prints a markdown table.
Every number comes from the result.json of an ordinary evolino run with the settings printed beside it; the runs go
side by side as one sweep (experiments/sweeps.py: ``--address`` for a Ray cluster, ``--max-concurrent``; an
interrupted experiment resumes where it stopped).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from provenance import add_output_arguments, command_line, error_or_inf, output_path, write_results
from sweeps import SWEEP_ONLY, add_sweep_arguments, evolino_runs

RESULTS = Path(__file__).parent / "results"
# The Evolino paper's cell counts and figures (recalled, not verified): (cells, paper). Figures measured outside this
# repository (PyBrain's Evolino) are not this script's measurements: they are text in docs/reproducing.md.
PUBLISHED = {"mso2": (10, 4.2e-3), "mso3": (15, 8.0e-3), "mso4": (20, 0.11), "sines5": (20, 0.17)}
DEFAULTS = dict(population=40, feedback_scale=1e-4, rcond=1e-14, init_scale=0.1)
ABLATION = {"rcond": (1e-6, 1e-8, 1e-10, 1e-12, 1e-14), "feedback_scale": (1e-2, 1e-3, 1e-4, 1e-5)}


def _median(values) -> float:
    return float(np.median([error_or_inf(v) for v in values]))


def base_config(generations: int, optimizer: str) -> dict:
    """The run configuration of every MSO run here (DEFAULTS; task and cells come with each setting)."""
    return {"optimizer": {"name": optimizer, "population": DEFAULTS["population"]},
            "network": {"feedback_scale": DEFAULTS["feedback_scale"], "init_scale": DEFAULTS["init_scale"]},
            "readout": {"rcond": DEFAULTS["rcond"]}, "stop": {"generations": generations}}


def measured(run: dict) -> dict:
    """The numbers of one run (experiments/sweeps.py) that the experiments record."""
    result = run["result"]
    return {"validation_error": result["validation_error"], "test_error": result["test_error"],
            "evaluations": result["evaluations"], "trivial_baselines": result["baselines"]}


def row(run: dict, generations: int, optimizer: str) -> dict:
    settings = run["settings"]
    params = {**DEFAULTS, "rcond": settings.get("readout.rcond", DEFAULTS["rcond"]),
              "feedback_scale": settings.get("network.feedback_scale", DEFAULTS["feedback_scale"])}
    return {"task": settings["task.name"], "cells": settings["network.cells"], "seed": run["seed"],
            "optimizer": optimizer, "generations": generations, **params, **measured(run),
            "seconds": round(run["result"]["wall_seconds"], 2)}


def table(seeds: list[int], generations: int, optimizer: str, args: argparse.Namespace,
          tasks: list[str] | None = None) -> list[dict]:
    """Every task of PUBLISHED (or ``tasks``) with the paper's cell count, once per seed, as one sweep."""
    tasks = tasks or list(PUBLISHED)
    settings = [{"task.name": task, "network.cells": PUBLISHED[task][0]} for task in tasks]
    runs = evolino_runs(f"mso_table_{optimizer}_{generations}", base_config(generations, optimizer), args,
                        seeds=seeds, settings=settings)
    print("| task | cells | seed | validation NRMSE | test NRMSE | AR(p) test | time | Evolino paper |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for run in runs:
        r = row(run, generations, optimizer)
        cells, paper = PUBLISHED[r["task"]]
        r.update(paper=paper)
        rows.append(r)
        ar = r["trivial_baselines"].get("ar", {}).get("test_error", float("nan"))
        print(f"| {r['task']} | {cells} | {r['seed']} | {error_or_inf(r['validation_error']):.2e} | "
              f"{error_or_inf(r['test_error']):.2e} | {ar:.1e} | {r['seconds']:.0f} s | {paper} |")
    return rows


def ablation(seeds: list[int], generations: int, optimizer: str, args: argparse.Namespace) -> tuple[list[dict], dict]:
    """Every (rcond, feedback scale) on MSO2 with 10 cells; the summary's choice uses validation errors only."""
    runs = evolino_runs(f"mso_ablation_{optimizer}_{generations}", base_config(generations, optimizer), args,
                        seeds=seeds, settings=[{"task.name": "mso2", "network.cells": 10}],
                        grid={"readout.rcond": ABLATION["rcond"], "network.feedback_scale": ABLATION["feedback_scale"]})
    rows = [row(run, generations, optimizer) for run in runs]
    print("| rcond | feedback scale | validation NRMSE, seeds " + " / ".join(map(str, seeds)) + " | median | time |")
    print("|---|---|---|---|---|")
    settings = []
    for rcond in ABLATION["rcond"]:
        for feedback_scale in ABLATION["feedback_scale"]:
            mine = [r for r in rows if r["rcond"] == rcond and r["feedback_scale"] == feedback_scale]
            median = _median(r["validation_error"] for r in mine)
            settings.append({"rcond": rcond, "feedback_scale": feedback_scale, "median_validation_error": median})
            print(f"| {rcond:g} | {feedback_scale:g} | "
                  + " / ".join(f"{error_or_inf(r['validation_error']):.1e}" for r in mine)
                  + f" | {median:.1e} | {sum(r['seconds'] for r in mine):.0f} s |")
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
    parser.add_argument("--tasks", nargs="+", choices=list(PUBLISHED), default=None, help="table: these tasks only")
    add_output_arguments(parser, RESULTS / "mso_table.json", "MSO2, seed 0, 2 generations")
    add_sweep_arguments(parser)
    args = parser.parse_args()
    if args.smoke:
        args.tasks, args.seeds, args.generations = ["mso2"], [0], 2
    out = output_path(parser, args, RESULTS / f"mso_{args.mode}.json", "mso")
    if args.mode == "table":
        payload = {"rows": table(args.seeds, args.generations, args.optimizer, args, args.tasks)}
    else:
        rows, summary = ablation(args.seeds, args.generations, args.optimizer, args)
        payload = {"summary": summary, "rows": rows}
    write_results(out, payload,
                  command_line(args, positional=("mode",), skip=SWEEP_ONLY))


if __name__ == "__main__":
    main()
