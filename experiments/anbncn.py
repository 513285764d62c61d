"""a^n b^n c^n and a^n b^n (tasks "anbncn", "anbn"): train on n = 1..10, report the largest M such that every n <= M
is accepted.

    python experiments/anbncn.py                          # Evolino (CMA-ES) with 4 and 8 cells, seeds 0-9, + BPTT
    python experiments/anbncn.py --language anbn          # the context-free language -> results/anbn.json
    python experiments/anbncn.py --cells 4 --seeds 0 1 --bptt-seeds
    python experiments/anbncn.py --optimizer sep-cma --cells 8 --seeds 0 1 2 --bptt-seeds --out results/x.json

Protocol of the Evolino paper (Schmidhuber, Wierstra, Gagliolo, Gomez, Neural Computation 19(3), 2007): strings
S a^n b^n c^n T, input one-hot of the current symbol, target multi-hot of the symbols that may come next; a string is
accepted when every thresholded (0.5) prediction along it is right. Evolino evolves the hidden weights with CMA-ES and
fits the readout by least squares on the 10 training strings (fitness: MSE); the gradient baseline is the same LSTM
(peepholes, forget gates) trained by BPTT and Adam on the same MSE. The Evolino paper reports generalisation to about
n = 29 from training on 1..10 (recalled with low confidence, not verified). For a^n b^n, gradient-trained LSTM (Gers &
Schmidhuber, IEEE Trans. Neural Networks 2001) generalised from 1..10 to about n = 1000 in some runs; the Evolino
papers report a^n b^n c^n only.
Writes runs/anbncn/<language>.json (``--out`` elsewhere; ``--write-results``: the committed
experiments/results/<language>.json) with provenance and prints a table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from provenance import add_output_arguments, command_line, output_path, write_results
from sweeps import SWEEP_ONLY, add_sweep_arguments, evolino_runs

import evolino
from evolino.baselines.bptt import BPTTLSTM
from evolino.model import EvolinoModel
from evolino.tasks.languages import anbn_string, anbncn_string, generalization_limit

RESULTS = Path(__file__).parent / "results"
EVOLINO_SETTINGS = dict(optimizer="cma", population=40, init_scale=0.5)
BPTT_SETTINGS = dict(iterations=2000, learning_rate=1e-2, init_scale=0.1)
# Each language's strings and the published limit from training on n = 1..10 (recalled, not verified).
LANGUAGES = {"anbncn": (anbncn_string, 29, "the Evolino paper (recalled with low confidence, not verified)"),
             "anbn": (anbn_string, 1000, "gradient LSTM in some runs (Gers & Schmidhuber 2001)")}


def _scores(predict, task, max_n: int) -> dict:
    string = LANGUAGES[task.name][0]
    limit = generalization_limit(predict, max_n, string=string)  # counts accepted lengths from n = 1: tells both
    return {"train_solved": limit >= task.info["train_max"], "limit": limit}


def evolino_rows(language: str, cells: list[int], seeds: list[int], generations: int, max_n: int,
                 args: argparse.Namespace, optimizer: str = EVOLINO_SETTINGS["optimizer"]
                 ) -> dict[tuple[int, int], dict]:
    """Evolino's runs for every cell count and seed, side by side as one sweep: {(cells, seed): row}. The
    generalisation limit is measured on each run's saved model."""
    task = evolino.make_task(language)
    settings = {**EVOLINO_SETTINGS, "optimizer": optimizer}
    base = {"task": {"name": language}, "stop": {"generations": generations},
            "optimizer": {"name": optimizer, "population": settings["population"]},
            "network": {"init_scale": settings["init_scale"]}}
    name = f"{language}_{generations}" + ("" if optimizer == EVOLINO_SETTINGS["optimizer"] else f"_{optimizer}")
    runs = evolino_runs(name, base, args, seeds=seeds, grid={"network.cells": cells})
    rows = {}
    for run in runs:
        result, n = run["result"], run["settings"]["network.cells"]
        model = EvolinoModel.load(run["folder"] / "model.npz")
        rows[(n, run["seed"])] = {
            "method": "evolino", "cells": n, "seed": run["seed"], **settings,
            "generations": result["generations"], "train_mse": float(result["validation_error"]),
            "test_mse": float(result["test_error"]), **_scores(model.predict, task, max_n),
            "seconds": round(result["wall_seconds"], 1)}
    return rows


def run_bptt(language: str, cells: int, seed: int, max_n: int) -> dict:
    task = evolino.make_task(language)
    started = time.perf_counter()
    result = BPTTLSTM(cells=cells, random_state=seed, **BPTT_SETTINGS).fit(task).result_
    seconds = time.perf_counter() - started
    return {"method": "bptt", "cells": cells, "seed": seed, **BPTT_SETTINGS,
            "train_mse": float(result.train_loss[-1]), "test_mse": float(result.test_error),
            **_scores(result.model.predict, task, max_n), "seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--language", choices=list(LANGUAGES), default="anbncn")
    parser.add_argument("--cells", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--bptt-seeds", type=int, nargs="*", default=list(range(3)), help="none: skip BPTT")
    parser.add_argument("--generations", type=int, default=500)
    parser.add_argument("--optimizer", default=EVOLINO_SETTINGS["optimizer"], help="Evolino's optimizer")
    parser.add_argument("--max-n", type=int, default=1000, help="longest string tried for the generalisation limit")
    add_output_arguments(parser, RESULTS / "anbncn.json", "4 cells, seed 0, 2 generations, one BPTT seed of 5 steps")
    add_sweep_arguments(parser)
    args = parser.parse_args()
    if args.smoke:
        args.cells, args.seeds, args.bptt_seeds, args.generations = [4], [0], [0], 2
        args.max_n = evolino.make_task(args.language).info["train_max"]
    out = output_path(parser, args, RESULTS / f"{args.language}.json", "anbncn")
    published = LANGUAGES[args.language][1]
    if args.max_n < evolino.make_task(args.language).info["train_max"]:
        parser.error("--max-n must cover the training lengths")

    print("| method | cells | seed | train MSE | training strings all accepted | limit M | time |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    evolved = evolino_rows(args.language, args.cells, args.seeds, args.generations, args.max_n, args, args.optimizer)
    for cells in args.cells:
        jobs = [("evolino", seed) for seed in args.seeds] + [("bptt", seed) for seed in args.bptt_seeds]
        for method, seed in jobs:
            row = (evolved[(cells, seed)] if method == "evolino"
                   else run_bptt(args.language, cells, seed, args.max_n))
            rows.append(row)
            print(f"| {method} | {cells} | {seed} | {row['train_mse']:.2e} | {row['train_solved']} | {row['limit']} | "
                  f"{row['seconds']:.0f} s |", flush=True)
    test_max = evolino.make_task(args.language).info["test_max"]
    summary = {}
    for method in ("evolino", "bptt"):
        for cells in args.cells:
            mine = [r for r in rows if r["method"] == method and r["cells"] == cells]
            if mine:
                limits = [r["limit"] for r in mine]
                summary[f"{method}/{cells}"] = {
                    "runs": len(mine), "train_solved": sum(r["train_solved"] for r in mine),
                    "median_limit": float(np.median(limits)), "best_limit": max(limits),
                    "runs_beyond_published": sum(limit > published for limit in limits),
                    "runs_beyond_test": sum(limit > test_max for limit in limits), "limit_capped_at": args.max_n}
    print(f"\n| method/cells | runs | training set solved | median M | best M | runs with M > {published} |")
    print("|---|---|---|---|---|---|")
    for key, s in summary.items():
        print(f"| {key} | {s['runs']} | {s['train_solved']} | {s['median_limit']:g} | {s['best_limit']} | "
              f"{s['runs_beyond_published']} |")
    write_results(out, {"summary": summary, "rows": rows},
                  command_line(args, skip=SWEEP_ONLY), language=args.language, published_limit=published,
                  published_source=LANGUAGES[args.language][2], test_max=test_max)


if __name__ == "__main__":
    main()
