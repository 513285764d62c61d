"""The summary of a sweep: every trial's settings and errors, the settings ranked by validation error, the best config.

Written into the sweep folder from the trial folders alone (so a resumed sweep's summary is that of an
uninterrupted one)::

    summary.csv         one row per trial: name, status, seed, each swept key, validation / test error, cost
    summary.json        the same rows, the settings ranked, the best trial, the sweep, provenance
    summary.md          the trials and the settings as markdown tables, sorted by validation error
    best_config.toml    the best trial's run config, writing to runs/sweep-best: `python -m evolino run --config`
    error_vs_settings.png   validation error (filled) and test error (hollow) against each swept key (a log x axis
                            for log-spaced settings: :func:`axis_scale`)

Selection
---------
A setting (the values of the swept keys) is ranked by the median validation error of its trials over the seeds;
the best trial is the one with the lowest validation error within the best setting. Test errors are reported beside,
never used. Trials that did not finish (stopped early by ASHA, failed, not reached within the time budget) are
listed with their status (stopped, error, interrupted, pending) and take no part in the ranking.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path

import numpy as np

from evolino.metrics import finite_or_none
from evolino.sweep.records import TRIALS_FOLDER, trial_records
from evolino.sweep.space import SweepSpec, plan_trials

__all__ = ["write_summary", "axis_scale", "BEST_CONFIG", "BEST_RUN_FOLDER"]

BEST_CONFIG = "best_config.toml"
BEST_RUN_FOLDER = "runs/sweep-best"
_COST = ("generations", "evaluations", "wall_seconds")


def write_summary(out: str | os.PathLike, spec: SweepSpec, command: str | None = None) -> dict:
    """Write the summary files into ``out`` and return what summary.json holds."""
    from evolino.atomic import write_text
    from evolino.provenance import provenance

    out = Path(out)
    keys = list(spec.keys)
    rows = []
    for name, record in trial_records(out).items():
        result = _result(out / TRIALS_FOLDER / name) if record.get("status") == "finished" else {}
        rows.append({"trial": name, "status": record.get("status"), "seed": record.get("seed"),
                     **{key: record.get("settings", {}).get(key) for key in keys},
                     "validation_error": result.get("validation_error"), "test_error": result.get("test_error"),
                     "fitness": result.get("fitness", record.get("fitness")),
                     **{key: result.get(key) for key in _COST}})
    if spec.search != "optuna":  # planned trials that never started are listed too: the table is the whole sweep
        started = {row["trial"] for row in rows}
        rows += [{"trial": t.name, "status": "pending", "seed": t.seed, **{key: t.settings.get(key) for key in keys},
                  "validation_error": None, "test_error": None, "fitness": None, **dict.fromkeys(_COST)}
                 for t in plan_trials(spec) if t.name not in started]
    rows.sort(key=lambda row: (_sort_error(row["validation_error"]), row["trial"]))
    settings = _rank_settings(rows, keys)
    best = _best_trial(rows, settings, keys)
    summary = {"meta": provenance(command), "sweep": spec.as_dict(), "selection": "median validation error over "
               "the seeds of a setting; test errors are shown, never used", "trials": rows, "settings": settings,
               "best": best}
    write_text(out / "summary.json", json.dumps(summary, indent=1))
    write_text(out / "summary.csv", _csv(rows))
    write_text(out / "summary.md", _markdown(rows, settings, keys, best))
    if best is not None:
        _write_best_config(out / TRIALS_FOLDER / best["trial"] / "config.toml", out / BEST_CONFIG)
    if keys and any(row["validation_error"] is not None for row in rows):
        _plot(rows, keys, out / "error_vs_settings.png")
    return summary


def _result(folder: Path) -> dict:
    try:
        return json.loads((folder / "result.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _sort_error(value) -> float:
    return math.inf if value is None or not math.isfinite(float(value)) else float(value)


def _setting_id(row: dict, keys: list[str]) -> str:
    return json.dumps([row[key] for key in keys])


def _rank_settings(rows: list[dict], keys: list[str]) -> list[dict]:
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(_setting_id(row, keys), []).append(row)
    ranked = []
    for members in groups.values():
        finished = [row for row in members if row["status"] == "finished"]
        validation = [_sort_error(row["validation_error"]) for row in finished]
        test = [_sort_error(row["test_error"]) for row in finished]
        ranked.append({**{key: members[0][key] for key in keys}, "trials": len(members), "finished": len(finished),
                       "median_validation_error": finite_or_none(np.median(validation)) if validation else None,
                       "median_test_error": finite_or_none(np.median(test)) if test else None,
                       "seeds": sorted(row["seed"] for row in members)})
    ranked.sort(key=lambda s: (_sort_error(s["median_validation_error"]), json.dumps([s[k] for k in keys])))
    return ranked


def _best_trial(rows: list[dict], settings: list[dict], keys: list[str]) -> dict | None:
    if not settings or settings[0]["median_validation_error"] is None:
        return None
    wanted = json.dumps([settings[0][key] for key in keys])
    members = [row for row in rows if row["status"] == "finished" and _setting_id(row, keys) == wanted]
    return min(members, key=lambda row: (_sort_error(row["validation_error"]), row["trial"]))




def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows([{k: "" if v is None else v for k, v in row.items()} for row in rows])
    return buffer.getvalue()


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _markdown(rows: list[dict], settings: list[dict], keys: list[str], best: dict | None) -> str:
    lines = ["# Sweep summary", "",
             "Settings are ranked by the median validation error over their seeds; test errors are shown, never "
             "used to choose.", ""]
    if best is not None:
        lines += [f"Best: `{best['trial']}` (validation {_fmt(best['validation_error'])}, test "
                  f"{_fmt(best['test_error'])}); repeat it with `python -m evolino run --config {BEST_CONFIG}`.", ""]
    lines += ["## Settings", "", "| " + " | ".join([*keys, "trials", "median validation", "median test"]) + " |",
              "|" + "---|" * (len(keys) + 3)]
    for s in settings:
        cells = [*(_fmt(s[k]) for k in keys), f"{s['finished']}/{s['trials']}", _fmt(s["median_validation_error"]),
                 _fmt(s["median_test_error"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Trials", "", "| " + " | ".join(["trial", "status", "seed", *keys, "validation", "test",
                                                      "generations", "seconds"]) + " |",
              "|" + "---|" * (len(keys) + 7)]
    for row in rows:
        cells = [row["trial"], str(row["status"]), _fmt(row["seed"]), *(_fmt(row[k]) for k in keys),
                 _fmt(row["validation_error"]), _fmt(row["test_error"]), _fmt(row["generations"]),
                 _fmt(row["wall_seconds"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _write_best_config(source: Path, target: Path) -> None:
    from dataclasses import replace

    from evolino.atomic import write_text
    from evolino.config import config_to_toml, load_config

    config = load_config(source, registered=False)
    config = replace(config, output=replace(config.output, dir=BEST_RUN_FOLDER))
    write_text(target, config_to_toml(config))


LOG_SPAN = 20.0  # positive values spanning more than this factor get a log axis


def axis_scale(values) -> str:
    """The x axis of a numeric swept key in error_vs_settings.png: "log" when its values are positive and span more
    than a factor of :data:`LOG_SPAN` or are log-spaced (three or more, evenly spaced in log but not in linear
    terms: 1, 2, 4), "symlog" when they are that besides a zero (ridge 0, 1e-8, 1e-6), else "linear"."""
    distinct = sorted({float(v) for v in values})
    if len(distinct) < 2 or any(not math.isfinite(v) for v in distinct):
        return "linear"
    if distinct[0] == 0 and all(v > 0 for v in distinct[1:]):
        rest = distinct[1:]
        return "symlog" if len(rest) >= 2 and axis_scale(rest) == "log" else "linear"
    if distinct[0] <= 0:
        return "linear"
    if distinct[-1] / distinct[0] > LOG_SPAN:
        return "log"
    if len(distinct) >= 3:
        steps = np.diff(distinct)
        ratios = np.diff(np.log(distinct))
        evenly_linear = np.allclose(steps, steps[0], rtol=1e-6)
        evenly_log = np.allclose(ratios, ratios[0], rtol=1e-6)
        if evenly_log and not evenly_linear:
            return "log"
    return "linear"


def _plot(rows: list[dict], keys: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from evolino.atomic import atomic_path

    finished = [row for row in rows if row["status"] == "finished"]
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        values = [row[key] for row in finished]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        labels = sorted({json.dumps(v) for v in values})
        xs = [v if numeric else labels.index(json.dumps(v)) for v in values]
        for column, style in (("validation_error", dict(marker="o", label="validation")),
                              ("test_error", dict(marker="o", facecolors="none", edgecolors="gray", label="test"))):
            ys = [_sort_error(row[column]) for row in finished]
            ax.scatter(xs, ys, **style)
        ax.set_yscale("log")
        if numeric:
            scale = axis_scale(values)
            if scale == "symlog":  # a zero among log-spaced values: linear near 0, logarithmic beyond
                ax.set_xscale("symlog", linthresh=min(abs(v) for v in values if v != 0))
            elif scale == "log":
                ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(range(len(labels)), [json.loads(label) for label in labels])
        ax.set_xlabel(key)
        ax.set_ylabel("error")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
