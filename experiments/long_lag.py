"""The long time-lag benchmarks: Evolino, the BPTT-trained LSTM of the same parameterisation and the ESN, on fresh
test sequences, with the cost of each.

    python experiments/long_lag.py                          # every task: every method on the same 5 seeds
    python experiments/long_lag.py tasks --tasks adding --seeds 0 1 --methods evolino
    python experiments/long_lag.py lags                     # adding and temporal order at T = 100, 200, 500, 1000
    python experiments/long_lag.py plot                     # redraw the lag study's figure from its results
    python experiments/long_lag.py --write-results          # replace experiments/results/long_lag.json
    python experiments/long_lag.py --smoke                  # latch, one seed, tiny budgets: a check that it runs

Tasks and their published figures (the papers themselves; the figures recalled, not verified):
adding, temporal order (3 symbols: 8 classes), two-sequence and embedded Reber from Hochreiter & Schmidhuber, Long
short-term memory, Neural Computation 9(8), 1997; latch and parity from Schmidhuber & Hochreiter, Guessing can
outperform many long time lag algorithms, 1996 (see evolino.tasks.long_lag for each protocol). Every task draws its
training, validation and test sequences from separate seeds; the test sequences (2,000 for adding, temporal order and
two-sequence, 1,000 for the others) are scored once, by the task's success criterion ("solved": the fraction of test
sequences answered right) and by the MSE.

Methods, each chosen on the validation sequences only:

* Evolino: CMA-ES on the hidden weights (``--optimizer``; full CMA-ES by default, as in the committed results),
  least-squares readout on the last step of every training sequence; the fitness is the validation MSE. Cost:
  evaluations (networks scored) and sequences seen (evaluations x training and
  validation sequences, each run once per evaluation).
* BPTT: the same LSTM trained by Adam on the training MSE, full batch by default (``--bptt-batch`` for minibatches:
  many more updates for the same sequences, as LSTM was trained in 1997); the learning rate (1e-2 or 1e-3) and the
  forget gates' initial bias (0 or +3) are chosen on the validation MSE. Cost: sequences seen (steps x sequences
  per step, for every setting tried).
* ESN: a leaky tanh reservoir of as many units as Evolino has cells with Evolino's readout, its settings (leak,
  spectral radius, input scale, density, readout) searched on validation (evolino.baselines.ESNSearch).

The lag study runs the three methods at T = 100, 200, 500 and 1000 with the budgets of ``LAG_SETTINGS`` (three
seeds per lag: ``lags --seeds 0 1 2``), trained on 100 sequences, chosen on 50 and tested on 2,000 fresh ones: the
largest T at which the median run still answers at least 99% (adding) or 95% (temporal order) of the fresh test
sequences right. BPTT moves to a longer lag only while one of its seeds succeeds (a run at T = 1000 takes minutes;
Evolino and the ESN run at every lag, so the plot shows their whole curve).

Writes runs/long_lag/long_lag.json or long_lag_lags.json (``--out`` elsewhere; ``--write-results``: the committed
files of experiments/results/, and the lag study's figure docs/images/long_lag_lags.png) with provenance and prints
markdown tables.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from provenance import (
    RUNS,
    add_output_arguments,
    command_line,
    error_or_inf,
    finite_or_none,
    output_path,
    write_results,
)
from tables import LAG_FILES, merged_lag_study

import evolino
from evolino.baselines import BPTTLSTM, ESNSearch
from evolino.tasks.long_lag import solved_fraction

RESULTS = Path(__file__).parent / "results"
FIGURE = Path(__file__).resolve().parent.parent / "docs" / "images" / "long_lag_lags.png"

# Task options, Evolino's settings, and the published figure with its source (recalled, not verified).
SETTINGS = {
    "adding": {"task": {}, "evolino": dict(cells=8, init_scale=1.0, generations=200),
               "published": ("LSTM: solved after ~74,000 training sequences (T = 100)",
                             "Hochreiter & Schmidhuber 1997")},
    "temporal-order": {"task": {"relevant": 3}, "evolino": dict(cells=8, init_scale=1.0, generations=200),
                       "published": ("LSTM: ~570,000 training sequences (3 symbols, 8 classes)",
                                     "Hochreiter & Schmidhuber 1997")},
    "two-sequence": {"task": {}, "evolino": dict(cells=4, init_scale=1.0, generations=50),
                     "published": ("LSTM: ~27,000 training sequences (T = 100, N = 3); random guessing faster",
                                   "Hochreiter & Schmidhuber 1997; Schmidhuber & Hochreiter 1996")},
    "latch": {"task": {}, "evolino": dict(cells=4, init_scale=1.0, generations=50),
              "published": ("random weight guessing: 22 trials (latch with noise)", "Schmidhuber & Hochreiter 1996")},
    "parity": {"task": {}, "evolino": dict(cells=4, init_scale=1.0, generations=50),
               "published": ("random weight guessing: ~2,900 trials (one hidden unit, 500-600 steps)",
                             "Schmidhuber & Hochreiter 1996")},
    "embedded-reber": {"task": {}, "evolino": dict(cells=12, init_scale=1.0, generations=200),
                       "published": ("LSTM: 100% of runs, ~8,000-15,000 training strings",
                                     "Hochreiter & Schmidhuber 1997")},
}
POPULATION = 40
OPTIMIZER = "cma"  # what the committed results used; the CLI's default is now sep-cma
# The readout sees the cells at the scored step only, as in the Evolino paper and as BPTT's LSTM and the ESN do. A task
# scored at its last step alone is a label per sequence, for which evolino's default readout also reads the mean and
# max of the cells over the sequence (evolino.labels): the mean integrates outside the network, a memory that answers
# the adding problem at any lag and would hide whether the LSTM bridges it.
READOUT_POOL = "last"
BPTT_LEARNING_RATES = (1e-2, 1e-3)
# A forget gate that starts near 0.5 forgets (and loses the gradient) within a few steps; +3 starts it near 0.95.
BPTT_FORGET_BIASES = (0.0, 3.0)
BPTT_ITERATIONS = 500  # full-batch Adam steps per setting; the four settings take about Evolino's time
ESN_GRID = {"leak": (1.0, 0.3), "spectral_radius": (0.5, 0.9, 1.0), "input_scale": (0.1, 1.0), "density": (1.0,),
            # ridge="auto" keeps the cutoff 1e-10 it was chosen with (ReadoutConfig's default before it became 1e-14)
            "readout": (evolino.ReadoutConfig(rcond=1e-14), evolino.ReadoutConfig(rcond=1e-10, ridge="auto"))}
LAGS = (100, 200, 500, 1000)
LAG_TASKS = {"adding": 0.99, "temporal-order": 0.95}  # the share of test sequences that counts as success
LAG_TRAINING = dict(train=100, validation=50, test=2000)
# --smoke: short sequences, few of them (the full test sets alone take a minute to score with BPTT's LSTM).
SMOKE_TASK = dict(train=20, validation=10, test=50)
SMOKE_STEPS = 50
# Evolino's budget per run in the lag study (the baselines are the same size): the adding problem's 4 cells and 1,000
# generations answered 97% of fresh sequences at T = 100 in the main table, temporal order's 8 cells and 200 all.
LAG_SETTINGS = {"adding": dict(cells=4, init_scale=1.0, generations=1000),
                "temporal-order": dict(cells=8, init_scale=1.0, generations=200)}



def _sequences(task) -> int:
    return len(task.train) + len(task.validation)


def run_evolino(name: str, seed: int, task_options: dict, settings: dict) -> dict:
    task = evolino.make_task(name, **task_options)
    started = time.perf_counter()
    settings = {"population": POPULATION, "optimizer": OPTIMIZER, "readout_pool": READOUT_POOL, **settings}
    estimator = evolino.Evolino(seed=seed, **settings).fit(task)
    result = estimator.result_
    return {"method": "evolino", "solved": solved_fraction(task, result.test_outputs),
            "test_error": finite_or_none(result.test_error),
            "validation_error": finite_or_none(result.validation_error), "evaluations": result.evaluations,
            "sequences_seen": result.evaluations * _sequences(task), "settings": settings,
            "seconds": round(time.perf_counter() - started, 1)}


def run_bptt(name: str, seed: int, task_options: dict, cells: int, iterations: int = BPTT_ITERATIONS,
             batch_size: int | None = None) -> dict:
    task = evolino.make_task(name, **task_options)
    started, best = time.perf_counter(), None
    grid = [(rate, bias) for rate in BPTT_LEARNING_RATES for bias in BPTT_FORGET_BIASES]
    for rate, bias in grid:
        fitted = BPTTLSTM(cells=cells, iterations=iterations, learning_rate=rate, forget_bias=bias,
                          batch_size=batch_size, random_state=seed).fit(task)
        if best is None or fitted.result_.validation_error < best[0].result_.validation_error:
            best = (fitted, rate, bias)
    fitted, rate, bias = best
    outputs = [fitted.predict(inputs=p.inputs) for p in task.test]
    return {"method": "bptt", "solved": solved_fraction(task, outputs),
            "test_error": finite_or_none(fitted.result_.test_error),
            "validation_error": finite_or_none(fitted.result_.validation_error),
            "sequences_seen": iterations * min(batch_size or len(task.train), len(task.train)) * len(grid),
            "settings": {"cells": cells, "iterations": iterations, "learning_rate": rate, "forget_bias": bias,
                         "batch_size": batch_size},
            "seconds": round(time.perf_counter() - started, 1)}


def run_esn(name: str, seed: int, task_options: dict, units: int) -> dict:
    task = evolino.make_task(name, **task_options)
    started = time.perf_counter()
    search = ESNSearch(units=units, grid=ESN_GRID, reservoirs=2, random_state=seed).fit(task)
    result = search.result_
    chosen = {k: v for k, v in search.best_params_.items() if k != "readout"}
    readout = search.best_params_["readout"]
    return {"method": "esn", "solved": solved_fraction(task, result.test_outputs),
            "test_error": finite_or_none(result.test_error),
            "validation_error": finite_or_none(result.validation_error), "settings_scored": search.settings_,
            "settings": {**chosen, "units": units, "readout": {"rcond": readout.rcond, "ridge": readout.ridge}},
            "seconds": round(time.perf_counter() - started, 1)}


def _evolino_flags(args: argparse.Namespace, *extra: str) -> dict:
    """Evolino's settings given on the command line (those left out keep each task's own)."""
    keys = ("population", "init_scale", "optimizer", "cells", *extra)
    return {key: getattr(args, key) for key in keys if getattr(args, key) is not None}


def tasks_table(args: argparse.Namespace) -> dict:
    print("| task | method | seed | solved (test) | test MSE | sequences seen | time |\n|---|---|---|---|---|---|---|")
    rows = []
    for name in args.tasks:
        setting = SETTINGS[name]
        chosen = _evolino_flags(args, "generations")
        if chosen:
            setting = {**setting, "evolino": {**setting["evolino"], **chosen}}
        if args.smoke:
            setting = {**setting, "task": {**setting["task"], **SMOKE_TASK, "steps": SMOKE_STEPS}}
        cells = setting["evolino"]["cells"]
        for method in args.methods:
            for seed in args.seeds if method == "evolino" else args.baseline_seeds:
                if method == "evolino":
                    row = run_evolino(name, seed, setting["task"], setting["evolino"])
                elif method == "bptt":
                    row = run_bptt(name, seed, setting["task"], cells, args.bptt_iterations, args.bptt_batch)
                else:
                    row = run_esn(name, seed, setting["task"], cells)
                row = {"task": name, "seed": seed, "task_options": setting["task"], **row}
                rows.append(row)
                print(f"| {name} | {method} | {seed} | {row['solved']:.3f} | {error_or_inf(row['test_error']):.2e} "
                      f"| {row.get('sequences_seen', '-')} | {row['seconds']:.0f} s |", flush=True)
    summary = {}
    for row in rows:
        summary.setdefault(f"{row['task']}/{row['method']}", []).append(row["solved"])
    summary = {key: {"runs": len(v), "median_solved": float(np.median(v)), "solved_all": sum(s == 1.0 for s in v)}
               for key, v in summary.items()}
    published = {name: {"text": SETTINGS[name]["published"][0], "source": SETTINGS[name]["published"][1]}
                 for name in args.tasks}
    return {"summary": summary, "published": published, "rows": rows}


def _lag_run(method: str, name: str, seed: int, options: dict, settings: dict, args: argparse.Namespace) -> dict:
    if method == "evolino":
        return run_evolino(name, seed, options, settings)
    if method == "bptt":
        return run_bptt(name, seed, options, settings["cells"], args.bptt_iterations, args.bptt_batch)
    return run_esn(name, seed, options, settings["cells"])


def lag_study(args: argparse.Namespace) -> dict:
    """Every method at every lag, except that BPTT moves to a longer lag only while one of its seeds succeeds."""
    print("| task | method | T | seed | solved (test) | cost | time |\n|---|---|---|---|---|---|---|")
    rows, summary = [], {}
    for name, needed in LAG_TASKS.items():
        settings = {**LAG_SETTINGS[name], **_evolino_flags(args, "generations")}
        summary[name] = {}
        for method in args.methods:
            tried = []
            for steps in args.lags:
                if method == "bptt" and tried and not any(r["solved"] >= needed for r in tried[-1]):
                    break  # each BPTT run at T = 1000 costs minutes; one that fails at a shorter lag is not retried
                options = dict(SETTINGS[name]["task"], steps=steps, **(SMOKE_TASK if args.smoke else LAG_TRAINING))
                at_lag = []
                for seed in args.seeds:
                    row = {"task": name, "steps": steps, "seed": seed, "needed": needed,
                           **_lag_run(method, name, seed, options, settings, args)}
                    at_lag.append(row)
                    print(f"| {name} | {method} | {steps} | {seed} | {row['solved']:.3f} | "
                          f"{row.get('sequences_seen', '-')} | {row['seconds']:.0f} s |", flush=True)
                tried.append(at_lag)
                rows += at_lag
            medians = {runs[0]["steps"]: float(np.median([r["solved"] for r in runs])) for runs in tried}
            reached = [steps for steps, m in medians.items() if m >= needed]
            summary[name][method] = {"needed": needed, "median_solved": medians,
                                     "largest_lag": max(reached, default=None), "budget": tried[0][0]["settings"]}
    return {"summary": summary, "rows": rows}


def plot_lags(payload: dict, path: Path) -> None:
    """Fraction of fresh test sequences solved against the lag T: one panel per task, one line per method (median
    and the range of the seeds), the success threshold dotted."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    tasks = list(payload["summary"])
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.5), squeeze=False, sharey=True)
    for ax, name in zip(axes[0], tasks, strict=True):
        for method, summary in payload["summary"][name].items():
            lags = sorted(int(t) for t in summary["median_solved"])
            solved = [[r["solved"] for r in payload["rows"]
                       if r["task"] == name and r["method"] == method and r["steps"] == t] for t in lags]
            line = ax.plot(lags, [np.median(v) for v in solved], marker="o", label=method)[0]
            ax.fill_between(lags, [min(v) for v in solved], [max(v) for v in solved], color=line.get_color(),
                            alpha=0.2)
            ax.axhline(summary["needed"], color="grey", linestyle=":", linewidth=1)
        ax.set_xscale("log")
        ax.set_xlabel("lag T (sequence length)")
        ax.set_title(name)
        ax.legend()
    axes[0][0].set_ylabel("fresh test sequences solved")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", choices=["tasks", "lags", "plot"], default="tasks",
                        help="plot: redraw the lag study's figure from its results files")
    parser.add_argument("--tasks", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--methods", nargs="+", default=["evolino", "bptt", "esn"], choices=["evolino", "bptt", "esn"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="every method's seeds")
    parser.add_argument("--baseline-seeds", type=int, nargs="+", default=None,
                        help="tasks: BPTT's and the ESN's seeds instead (default: --seeds, as Evolino's)")
    parser.add_argument("--population", type=int, default=None, help=f"Evolino's population (default {POPULATION})")
    parser.add_argument("--optimizer", default=None, help=f"Evolino's optimizer (default {OPTIMIZER})")
    parser.add_argument("--init-scale", type=float, default=None, help="Evolino's initial weight scale (default: "
                        "each task's own)")
    parser.add_argument("--cells", type=int, default=None, help="Evolino's cells, and the baselines' size (default: "
                        "each task's own)")
    parser.add_argument("--bptt-iterations", type=int, default=BPTT_ITERATIONS, help="Adam steps per learning rate")
    parser.add_argument("--bptt-batch", type=int, default=None, help="BPTT minibatch size (default: full batch)")
    parser.add_argument("--lags", type=int, nargs="+", default=list(LAGS))
    parser.add_argument("--generations", type=int, default=None,
                        help="Evolino's generations (default: each task's own)")
    parser.add_argument("--figure", type=Path, default=None,
                        help=f"the lag study's plot (default runs/long_lag/; --write-results: {FIGURE.name} in docs)")
    add_output_arguments(parser, RESULTS / "long_lag.json", "tasks: latch, Evolino seed 0 with 2 generations, BPTT "
                         "with 5 Adam steps and the ESN on seed 0; lags: T = 50 only; both on 50-step sequences, "
                         "20 to train on and 50 to test")
    args = parser.parse_args()
    if args.smoke:
        args.tasks, args.seeds, args.baseline_seeds, args.generations, args.bptt_iterations = ["latch"], [0], [0], 2, 5
        args.lags = [SMOKE_STEPS]
    if args.baseline_seeds is None:
        args.baseline_seeds = list(args.seeds)  # every method of a table over the same seeds
    # The committed figure is redrawn only on request, like the committed results.
    figure = args.figure or (FIGURE if args.write_results else RUNS / "long_lag" / FIGURE.name)
    if args.mode == "plot":
        plot_lags(merged_lag_study(RESULTS), figure)
        return
    out = output_path(parser, args, RESULTS / ("long_lag.json" if args.mode == "tasks" else "long_lag_lags.json"),
                      "long_lag")
    payload = tasks_table(args) if args.mode == "tasks" else lag_study(args)
    write_results(out, payload, command_line(args, positional=("mode",), skip=("figure",)))
    if args.mode == "lags" and args.write_results and all((RESULTS / f"{name}.json").exists() for name in LAG_FILES):
        plot_lags(merged_lag_study(RESULTS), figure)


if __name__ == "__main__":
    main()
