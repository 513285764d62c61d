"""Evolino against its baselines on the same tasks, protocol and readout code.

* Evolino (CMA-ES, least-squares readout),
* the same LSTM trained by BPTT + Adam (hidden and output weights by gradient, teacher forcing),
* an echo state network of 100 units (fixed random reservoir, same readout), setting chosen on validation error.

    python experiments/baselines.py [--tasks mso2 mso3] [--seeds 0 1 2] [--bptt-iterations 500]

Writes experiments/results/baselines.json and prints a markdown table (test NRMSE, free run over steps 400-699).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import evolino
from evolino.baselines import BPTTLSTM, EchoStateNetwork
from evolino.readout import ReadoutConfig

RESULTS = Path(__file__).parent / "results"
CELLS = {"mso1": 4, "mso2": 10, "mso3": 15, "mso4": 20, "sines5": 20}


def evolino_run(task, cells, seed):
    r = evolino.Evolino(cells=cells, population=40, generations=300, seed=seed, feedback_scale=1e-4, rcond=1e-14,
                        init_scale=0.1).fit(task)
    return r.validation_error, r.test_error


def bptt_run(task, cells, seed, iterations):
    best = None
    for feedback_scale in (1.0, 0.1):
        r = BPTTLSTM(cells=cells, iterations=iterations, learning_rate=1e-2, feedback_scale=feedback_scale,
                     random_state=seed).fit(task)
        if best is None or r.validation_error < best[0]:
            best = (r.validation_error, r.test_error)
    return best


def esn_run(task, seed):
    best = None
    for radius in (0.8, 0.95):
        for feedback in (0.01, 0.1):
            r = EchoStateNetwork(units=100, spectral_radius=radius, feedback_scale=feedback,
                                 readout=ReadoutConfig(ridge=1e-10), random_state=seed).fit(task)
            if best is None or r.validation_error < best[0]:
                best = (r.validation_error, r.test_error)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["mso2", "mso3"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--bptt-iterations", type=int, default=500)
    args = parser.parse_args()
    rows = []
    print("| task | method | seed | validation NRMSE | test NRMSE | seconds |\n|---|---|---|---|---|---|")
    for name in args.tasks:
        task, cells = evolino.make_task(name), CELLS[name]
        for seed in args.seeds:
            for method in ("evolino", "bptt", "esn"):
                started = time.perf_counter()
                if method == "evolino":
                    validation, test = evolino_run(task, cells, seed)
                elif method == "bptt":
                    validation, test = bptt_run(task, cells, seed, args.bptt_iterations)
                else:
                    validation, test = esn_run(task, seed)
                seconds = time.perf_counter() - started
                rows.append({"task": name, "method": method, "seed": seed, "cells": cells,
                             "validation_error": validation, "test_error": test, "seconds": round(seconds, 1)})
                print(f"| {name} | {method} | {seed} | {validation:.2e} | {test:.2e} | {seconds:.0f} |", flush=True)
    summary = {}
    for row in rows:
        summary.setdefault(f"{row['task']}/{row['method']}", []).append(row["test_error"])
    summary = {k: {"median_test_error": float(np.median(v)), "runs": len(v)} for k, v in summary.items()}
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "baselines.json"
    out.write_text(json.dumps({"rows": rows, "summary": summary}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
