"""Gradient-free optimizers on the Evolino problem at equal evaluation budgets: evolino's own, evosax's and nevergrad's.

    nice -n 10 python experiments/optimizer_benchmark.py                  # all -> runs/optimizer_benchmark/
    nice -n 10 python experiments/optimizer_benchmark.py --write-results  # -> experiments/results/ (committed)
    python experiments/optimizer_benchmark.py --smoke                      # 2 optimizers, 1 task, 1 seed, seconds
    python experiments/optimizer_benchmark.py plot                         # the figure from the committed JSON
    python experiments/optimizer_benchmark.py plot --write-results         # ... replacing docs/images/'s
    python experiments/optimizer_benchmark.py --tasks mso2 --optimizers cma evosax:SNES --seeds 0 1

Every optimizer evolves the same LSTM's hidden weights with evolino's fitness (the validation error of the
least-squares readout, compiled kernel); the library optimizers only ask and tell (evolino.optimizers.family).
Tasks and budgets (:data:`TASKS`): MSO2 with 10 cells and MSO3 with 15 (the Evolino paper's protocol, test NRMSE of
the free run), the adding problem at T = 100 with 4 cells (50 training and 25 validation sequences; test: the
share of 500 fresh sequences answered within 0.04, and the MSE; a run there costs about 20 times an MSO run, so its
budget is a quarter of theirs and far from the 40,000 evaluations experiments/long_lag.py gives CMA-ES) and
a^n b^n c^n with 8 cells (test MSE on n = 11..50 and the generalisation limit M of experiments/anbncn.py, capped at
``MAX_N``). Population 40 for every optimizer; the budget of a run is ``evaluations`` networks scored (the same for
every optimizer of a task); nevergrad's optimizers are told that budget.

Protocol. (1) Setting: each optimizer has three settings of its main step-size knob (:data:`OPTIMIZERS`; the
task's ``init_scale`` s times 1/3, 1 and 3 unless said otherwise), each run once on the tuning seed
``TUNING_SEED`` (not a test seed) with half the run budget; the one with the lowest validation error is kept (the
tuning budget is 1.5 run budgets for every optimizer). (2) Runs: the kept setting on seeds 0-4, the test error
measured after 1/8, 1/4, 1/2 and all of the budget (a run is stopped at each mark and resumed from its checkpoint,
which continues it exactly). Recorded: every run's test error (or share solved) at each mark, validation error,
evaluations and wall time; the medians and spreads go to the table (experiments/tables.py) and the figure
(``plot``).

Writes runs/optimizer_benchmark/optimizer_benchmark.json (``--out`` elsewhere; ``--write-results``: the committed
experiments/results/optimizer_benchmark.json) with provenance; finished runs are cached in ``--work-dir`` (one JSON line
each), so an interrupted benchmark resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402
from provenance import (  # noqa: E402
    RUNS,
    add_output_arguments,
    command_line,
    error_or_inf,
    finite_or_none,
    output_path,
    write_results,
)

from evolino.errors import EvolinoError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "results" / "optimizer_benchmark.json"
FIGURE = ROOT / "docs" / "images" / "optimizer_benchmark.png"
POPULATION = 40
SEEDS = (0, 1, 2, 3, 4)
TUNING_SEED = 100
MARKS = (0.125, 0.25, 0.5, 1.0)  # fractions of the budget at which the test error is measured
MAX_N = 100  # a^n b^n c^n: the longest string tried for the generalisation limit

# task label -> the evolino task, its options, the network and the run budget (evaluations).
TASKS = {
    "mso2": {"task": "mso2", "options": {}, "cells": 10, "init_scale": 0.1, "evaluations": 3200,
             "metric": "test NRMSE"},
    "mso3": {"task": "mso3", "options": {}, "cells": 15, "init_scale": 0.1, "evaluations": 3200,
             "metric": "test NRMSE"},
    "adding": {"task": "adding", "options": {"train": 50, "validation": 25, "test": 500}, "cells": 4,
               "init_scale": 1.0, "evaluations": 800, "metric": "test MSE"},
    "anbncn": {"task": "anbncn", "options": {}, "cells": 8, "init_scale": 0.5, "evaluations": 3200,
               "metric": "test MSE"},
}

# label -> (optimizer, fixed options, the knob tuned, its three values as multiples of the task's init_scale s or
# as absolute values ("abs")).
_SIGMA = ("sigma0", (1 / 3, 1.0, 3.0), "scale")
OPTIMIZERS = {
    "cma": ("cma", {}, *_SIGMA),
    "sep-cma": ("sep-cma", {}, *_SIGMA),
    "esp": ("esp", {}, "mutation_scale", (0.001, 0.003, 0.01), "abs"),
    "es": ("es", {}, *_SIGMA),
    "ga": ("ga", {}, "mutation_sigma", (0.01, 0.03, 0.1), "scale"),
    "guess": ("guess", {}, "half_width", (1.0, 10.0, 100.0), "abs"),
    "evosax:SNES": ("evosax:SNES", {}, *_SIGMA),
    "evosax:DES": ("evosax:DES", {}, *_SIGMA),
    "evosax:Open_ES": ("evosax:Open_ES", {"optimizer": "adam"}, "learning_rate", (1 / 30, 0.1, 1 / 3), "scale"),
    "evosax:PGPE": ("evosax:PGPE", {}, "learning_rate", (1 / 30, 0.1, 1 / 3), "scale"),
    "nevergrad:NGOpt": ("nevergrad:NGOpt", {}, *_SIGMA),
    "nevergrad:TBPSA": ("nevergrad:TBPSA", {}, *_SIGMA),
    "nevergrad:TwoPointsDE": ("nevergrad:TwoPointsDE", {}, *_SIGMA),
    "nevergrad:OnePlusOne": ("nevergrad:OnePlusOne", {}, *_SIGMA),
}
FAMILY = {"evosax": "evosax", "nevergrad": "nevergrad"}
SMOKE = {"optimizers": ["sep-cma", "evosax:SNES"], "tasks": ["mso2"], "seeds": [0], "evaluations": 160,
         "population": 8}


def family(label: str) -> str:
    return label.split(":")[0] if ":" in label else "evolino"


def settings_of(label: str, task: dict) -> list[dict]:
    """The three settings tried for optimizer ``label`` on ``task``: fixed options plus one value of its knob."""
    _, fixed, knob, values, unit = OPTIMIZERS[label]
    scale = task["init_scale"] if unit == "scale" else 1.0
    return [{**fixed, knob: float(np.float64(v) * scale)} for v in values]


# --------------------------------------------------------------------------------------------------------- running

def _make_task(spec: dict):
    import evolino

    return evolino.make_task(spec["task"], **spec["options"])


def _scores(spec: dict, task, estimator) -> dict:
    """The task's own test scores of a fitted estimator: the adding problem's share solved, a^n b^n c^n's M."""
    result = estimator.result_
    if spec["task"] == "adding":
        from evolino.tasks.long_lag import solved_fraction

        return {"solved": solved_fraction(task, result.test_outputs)}
    if spec["task"] == "anbncn":
        from evolino.tasks.languages import generalization_limit

        return {"limit": generalization_limit(estimator.model_.predict, MAX_N)}
    return {}


def run_one(spec: dict, optimizer: str, options: dict, seed: int, evaluations: int, population: int,
            marks: tuple[float, ...], folder: Path) -> dict:
    """One run of ``evaluations`` networks, stopped at every mark (a fraction of the budget) to measure the test
    error and resumed from its checkpoint (which continues it exactly). Returns the run's record."""
    import evolino

    task = _make_task(spec)
    generations = [max(1, round(mark * evaluations / population)) for mark in marks]
    options = dict(options)
    if optimizer.startswith("nevergrad:"):
        options.setdefault("budget", generations[-1] * population)  # the whole run's, at every mark
    # readout_pool "last": the adding problem's readout sees the cells at its last step only, as in
    # experiments/long_lag.py (a mean over the sequence would bridge the lag outside the network)
    estimator = evolino.Evolino(cells=spec["cells"], optimizer=optimizer, population=population, seed=seed,
                                init_scale=spec["init_scale"], optimizer_options=options,
                                generations=generations[0], readout_pool="last")
    if folder.exists():
        shutil.rmtree(folder)
    curve = []
    for k, g in enumerate(generations):
        estimator.set_params(generations=g)
        try:
            estimator.fit(task, resume=k > 0, checkpoint_dir=folder)
        except EvolinoError as exc:  # a library that fails inside its own code (see evolino.optimizers)
            shutil.rmtree(folder, ignore_errors=True)
            print(f"  failed: {exc}", flush=True)
            return {"seed": seed, "options": options, "evaluations": None, "test_error": None,
                    "validation_error": None, "seconds": None, "failed": str(exc), "curve": curve}
        result = estimator.result_
        curve.append({"evaluations": result.evaluations, "test_error": finite_or_none(result.test_error),
                      "validation_error": finite_or_none(result.validation_error),
                      "seconds": round(result.wall_seconds, 3), **(_scores(spec, task, estimator)
                                                                   if k == len(generations) - 1 else {})})
    shutil.rmtree(folder, ignore_errors=True)
    final = curve[-1]
    return {"seed": seed, "options": options, "evaluations": final["evaluations"],
            "test_error": final["test_error"], "validation_error": final["validation_error"],
            "seconds": final["seconds"], **{k: final[k] for k in ("solved", "limit") if k in final},
            "curve": curve}


class Cache:
    """Finished runs, one JSON line each, keyed by what they computed: an interrupted benchmark resumes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[str, dict] = {}
        if path.is_file():
            for line in path.read_text().splitlines():
                if line.strip():
                    entry = json.loads(line)
                    self.rows[entry["key"]] = entry["row"]

    @staticmethod
    def key(*parts) -> str:
        return json.dumps(parts, sort_keys=True, default=str)

    def get(self, key: str) -> dict | None:
        return self.rows.get(key)

    def put(self, key: str, row: dict) -> None:
        self.rows[key] = row
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as handle:
            handle.write(json.dumps({"key": key, "row": row}) + "\n")


def benchmark(tasks: list[str], optimizers: list[str], seeds: list[int], work: Path, population: int = POPULATION,
              evaluations: int | None = None, log=print) -> list[dict]:
    """For every task and optimizer: the setting chosen on the tuning seed, then the runs on ``seeds``."""
    cache = Cache(work / "runs.jsonl")
    entries = []
    for task_label in tasks:
        spec = TASKS[task_label]
        budget = int(evaluations or spec["evaluations"])
        for label in optimizers:
            optimizer = OPTIMIZERS[label][0]
            started = time.perf_counter()
            tried = []
            for options in settings_of(label, spec):
                key = Cache.key("tune", task_label, label, options, TUNING_SEED, budget // 2, population)
                row = cache.get(key)
                if row is None:
                    row = run_one(spec, optimizer, options, TUNING_SEED, budget // 2, population, (1.0,),
                                  work / "run")
                    cache.put(key, row)
                tried.append(row)
            chosen = min(range(len(tried)), key=lambda i: error_or_inf(tried[i]["validation_error"]))
            setting = settings_of(label, spec)[chosen]
            runs = []
            for seed in seeds:
                key = Cache.key("run", task_label, label, setting, seed, budget, population)
                row = cache.get(key)
                if row is None:
                    row = run_one(spec, optimizer, setting, seed, budget, population, MARKS, work / "run")
                    cache.put(key, row)
                runs.append(row)
            entry = {"task": task_label, "optimizer": label, "family": family(label), "setting": setting,
                     "knob": OPTIMIZERS[label][2],
                     "tuning": [{"options": t["options"], "validation_error": t["validation_error"],
                                 "seconds": t["seconds"]} for t in tried],
                     "evaluations": budget, "runs": runs, "summary": summarize(spec, runs)}
            entries.append(entry)
            s = entry["summary"]
            log(f"{task_label:7s} {label:24s} {OPTIMIZERS[label][2]}={setting[OPTIMIZERS[label][2]]:.3g}  median "
                f"test {error_or_inf(s['median_test_error']):.3g}  [{error_or_inf(s['min_test_error']):.3g} .. "
                f"{error_or_inf(s['max_test_error']):.3g}]" + (f"  failed {s['failed']}" if s["failed"] else "")
                + (f"  solved {s['median_solved']:.3f}" if "median_solved" in s else "")
                + (f"  M {s['median_limit']:g}" if "median_limit" in s else "")
                + f"  {time.perf_counter() - started:.0f} s")
    return entries


def summarize(spec: dict, runs: list[dict]) -> dict:
    """Median, quartiles and range of the test error over the seeds (at every mark), and of the task's score; a run
    that failed inside its library counts as an infinite error from its failure on (``failed`` counts them)."""
    errors = np.array([error_or_inf(r["test_error"]) for r in runs])
    length = max(len(r["curve"]) for r in runs)
    marks = [[error_or_inf(r["curve"][k]["test_error"]) if k < len(r["curve"]) else np.inf for r in runs]
             for k in range(length)]
    counted = [next(r["curve"][k]["evaluations"] for r in runs if k < len(r["curve"])) for k in range(length)]
    finished = [r["seconds"] for r in runs if r["seconds"] is not None]
    summary = {"median_test_error": finite_or_none(np.median(errors)),
               "q1_test_error": finite_or_none(np.quantile(errors, 0.25)),
               "q3_test_error": finite_or_none(np.quantile(errors, 0.75)),
               "min_test_error": finite_or_none(errors.min()), "max_test_error": finite_or_none(errors.max()),
               "median_validation_error": finite_or_none(np.median([error_or_inf(r["validation_error"])
                                                                    for r in runs])),
               "median_seconds": float(np.median(finished)) if finished else None,
               "failed": sum("failed" in r for r in runs),
               "curve": [{"evaluations": counted[k],
                          "median": finite_or_none(np.median(m)), "q1": finite_or_none(np.quantile(m, 0.25)),
                          "q3": finite_or_none(np.quantile(m, 0.75)), "min": finite_or_none(np.min(m)),
                          "max": finite_or_none(np.max(m))} for k, m in enumerate(marks)]}
    for key in ("solved", "limit"):
        values = [r[key] for r in runs if key in r]
        if values:
            summary[f"median_{key}"] = float(np.median(values + [0.0] * (len(runs) - len(values))))
            summary[f"min_{key}"], summary[f"max_{key}"] = float(min(values)), float(max(values))
    return summary


# ---------------------------------------------------------------------------------------------------------- figure

def plot(data: dict, path: Path) -> Path:
    """Median test error against evaluations (quartiles shaded), one panel per task, one line per optimizer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(e["task"] for e in data["entries"]))
    labels = list(dict.fromkeys(e["optimizer"] for e in data["entries"]))
    styles = {"evolino": "-", "evosax": "--", "nevergrad": ":"}
    colors = plt.get_cmap("tab20")
    columns = min(2, len(tasks))
    rows = (len(tasks) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(6.2 * columns, 4.2 * rows), squeeze=False)
    for ax, task in zip(axes.flat, tasks, strict=False):
        for i, label in enumerate(labels):
            entry = next((e for e in data["entries"] if e["task"] == task and e["optimizer"] == label), None)
            if entry is None:
                continue
            curve = entry["summary"]["curve"]
            x = [c["evaluations"] for c in curve]
            y = [error_or_inf(c["median"]) for c in curve]
            low = [error_or_inf(c["q1"]) for c in curve]
            high = [error_or_inf(c["q3"]) for c in curve]
            color = colors((2 * i) % 20 + (2 * i) // 20 % 2)  # the dark shades first, then the light ones
            ax.plot(x, y, styles[entry["family"]], color=color, marker="o", markersize=3, label=label)
            ax.fill_between(x, low, high, color=color, alpha=0.08)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{task}: {TASKS.get(task, {}).get('metric', 'test error')} (median of seeds, quartiles "
                     "shaded)", fontsize=9)
        ax.set_xlabel("evaluations (networks scored)")
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=6, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.09 if len(labels) > 6 else 0.05, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")
    return path


# ------------------------------------------------------------------------------------------------------------ main

def _check_choices(parser: argparse.ArgumentParser, given: list[str], known, what: str) -> None:
    unknown = [x for x in given if x not in known]
    if unknown:
        parser.error(f"unknown {what} {', '.join(unknown)}; choose from {', '.join(known)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", choices=("run", "plot"), default="run",
                        help="run the benchmark (default) or draw the figure from a results file")
    parser.add_argument("--tasks", nargs="+", default=None, help=f"default: {' '.join(TASKS)}")
    parser.add_argument("--optimizers", nargs="+", default=None, help="default: all of OPTIMIZERS")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default: 0 1 2 3 4")
    parser.add_argument("--evaluations", type=int, default=None, help="budget of every run (default: the task's)")
    add_output_arguments(parser, RESULTS, "2 optimizers, 1 task, 1 seed, a few generations, the runs' cache in a "
                         "temporary folder (plot --write-results: replace the committed figure)")
    parser.add_argument("--work-dir", type=Path, default=None, help="cache of finished runs (default runs/"
                        "optimizer_benchmark/)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="plot: the results file to draw")
    parser.add_argument("--figure", type=Path, default=None,
                        help=f"plot: default runs/optimizer_benchmark/ (--write-results: {FIGURE.relative_to(ROOT)})")
    args = parser.parse_args(argv)

    if args.mode == "plot":
        if not args.results.is_file():
            parser.error(f"no results file {args.results}")
        plot(json.loads(args.results.read_text()),
             args.figure or (FIGURE if args.write_results else RUNS / "optimizer_benchmark" / FIGURE.name))
        return 0

    out = output_path(parser, args, RESULTS, "optimizer_benchmark")
    if args.smoke:
        tasks, optimizers = SMOKE["tasks"], SMOKE["optimizers"]
        seeds, evaluations, population = SMOKE["seeds"], SMOKE["evaluations"], SMOKE["population"]
        # A fresh cache beside the results: a smoke run never reuses (or leaves) runs of another budget.
        work = out.parent / "smoke_work"
        shutil.rmtree(work, ignore_errors=True)
    else:
        tasks, optimizers = args.tasks or list(TASKS), args.optimizers or list(OPTIMIZERS)
        seeds, evaluations, population = args.seeds or list(SEEDS), args.evaluations, POPULATION
        work = args.work_dir or RUNS / "optimizer_benchmark"
    _check_choices(parser, tasks, list(TASKS), "task(s)")
    _check_choices(parser, optimizers, list(OPTIMIZERS), "optimizer(s)")
    from evolino.optimizers import check_name

    for label in optimizers:
        try:
            check_name(OPTIMIZERS[label][0])
        except ValueError as exc:
            parser.error(str(exc))
    started = time.perf_counter()
    entries = benchmark(tasks, optimizers, seeds, work, population, evaluations)
    protocol = {"tasks": {t: {**TASKS[t], "evaluations": int(evaluations or TASKS[t]["evaluations"])}
                          for t in tasks},
                "population": population, "seeds": seeds, "tuning_seed": TUNING_SEED,
                "tuning": "three settings per optimizer, each one run of half the run budget on the tuning seed; "
                          "the lowest validation error is kept",
                "marks": list(MARKS), "max_n": MAX_N,
                "grids": {label: {"knob": OPTIMIZERS[label][2], "values": list(OPTIMIZERS[label][3]),
                                  "unit": "times init_scale" if OPTIMIZERS[label][4] == "scale" else "absolute",
                                  "fixed": OPTIMIZERS[label][1]} for label in optimizers}}
    from importlib import metadata

    libraries = {}
    for name in ("evosax", "nevergrad", "jax", "optax", "flax"):
        try:
            libraries[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            libraries[name] = None
    write_results(out, {"protocol": protocol, "entries": entries,
                        "wall_seconds": round(time.perf_counter() - started, 1)},
                  command_line(args, positional=("mode",), skip=("results", "figure", "work_dir")),
                  libraries=libraries, load_average=list(os.getloadavg()))
    if args.smoke:
        print(f"smoke run: {len(entries)} entries, their runs in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
