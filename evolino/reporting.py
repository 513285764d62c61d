"""Result files of a run: result.json, history.csv, model.npz, the test outputs, plots and report.md (open formats
only), and the CSV reading/writing of the ``predict`` and ``generate`` commands.

Every file is written atomically (:mod:`evolino.atomic`): a reader, a killed run or a full disk never leaves half a
file under its name. history.csv is the exception while a run is going: :class:`HistoryWriter` appends one line per
generation, so a long run can be watched (``tail -f``) and plotted from its folder; at the end :func:`write_run`
rewrites it whole, atomically.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from evolino.atomic import atomic_file, atomic_path, write_text
from evolino.forecasting.combined import DESCRIPTION as LINEAR_MODEL
from evolino.trainer import HISTORY_COLUMNS, FitResult

__all__ = ["write_json", "write_history", "read_history", "write_run", "check_writable", "write_report",
           "read_numeric_csv", "write_matrix_csv", "read_columns", "summary_line", "BASELINE_LABELS", "HistoryWriter"]

BASELINE_LABELS = {"ar": "AR(p)", "linear": "linear(p)", "persistence": "persistence",
                   "seasonal_naive": "seasonal naive", "mean": "training mean"}


def check_writable(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and make sure files can be written there; raises OSError otherwise."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd, probe = tempfile.mkstemp(dir=folder, prefix=".evolino-write-test.")
    os.close(fd)
    os.unlink(probe)
    return folder


def write_json(path: Path, data: dict) -> None:
    """Write JSON atomically (a reader never sees half a file)."""
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _history_lines(rows: list[dict], header: bool) -> str:
    """CSV text of history rows (floats at full precision), with the header line first if asked."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=HISTORY_COLUMNS, lineterminator="\r\n")
    if header:
        writer.writeheader()
    for row in rows:
        writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
    return buffer.getvalue()


def _history_line(row: dict) -> str:
    """One row's line of :func:`_history_lines`, joined directly when every value is a number (which needs no
    quoting): a generation's line in a fifth of the time the csv module takes."""
    values = [row.get(name) for name in HISTORY_COLUMNS]
    if len(row) == len(HISTORY_COLUMNS) and all(type(v) in (int, float) for v in values):
        return ",".join(map(repr, values)) + "\r\n"
    return _history_lines([row], header=False)


def write_history(path: Path, history: list[dict]) -> None:
    """Write history.csv (a header, then one row per generation) atomically."""
    with atomic_file(path, "w", newline="") as handle:
        handle.write(_history_lines(history, header=True))


class HistoryWriter:
    """A run callback that appends each generation's row to ``history.csv`` as soon as it is computed.

    The first row of a fresh run (generation 1) starts the file anew; a resumed run first rewrites it with the rows
    of its checkpoint (:meth:`resumed`, called by :meth:`evolino.trainer.Evolino.fit`), dropping rows that the
    interrupted run wrote after that checkpoint. The file stays open for the run (an open and a close a generation
    were 3% of a default MSO2 run) and each line is flushed to the operating system as it is written, so a reader
    sees whole lines; :meth:`close` ends it, and :func:`write_run` rewrites it whole, atomically, at the end.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._handle = None

    def resumed(self, history: list[dict]) -> None:
        self.close()
        # Started afresh in place, not atomically (no fsyncs: 1% of a default MSO2 run): until the run ends the file
        # is a view of the checkpoints, which a resume writes it from again.
        self._handle = open(self.path, "w", newline="")  # noqa: SIM115  (open for the run; closed by close())
        self._handle.write(_history_lines(history, header=True))
        self._handle.flush()

    def __call__(self, row: dict) -> None:
        if self._handle is None:
            self.resumed([])
        self._handle.write(_history_line(row))
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def write_run(folder: str | os.PathLike, result: FitResult, extra: dict | None = None,
              task=None) -> dict[str, Path]:
    """Write result.json, history.csv, model.npz and test_outputs.csv into ``folder``.

    test_outputs.csv has a row per test step (``sequence``, ``step``) and, per output column NAME, the target
    (``target_NAME``), the network's outputs (``evolino_NAME``: free runs for generative tasks, whose one-step
    predictions are ``evolino_one_step_NAME``; a forecast's interval bounds are ``evolino_lower_NAME`` and
    ``evolino_upper_NAME``) and the trivial models' (``ar_NAME``, ``persistence_NAME``, ``mean_NAME``, a forecast's
    ``seasonal_naive_NAME``; ``ar_one_step_NAME`` and ``persistence_one_step_NAME`` for generative tasks), all in
    original units; ``nan`` marks a step without a target.
    """
    folder = Path(folder)
    paths = {name: folder / name for name in ("result.json", "history.csv", "model.npz", "test_outputs.csv")}
    result.model.save(paths["model.npz"])
    write_history(paths["history.csv"], result.history)
    if result.test_outputs:
        _write_test_outputs(paths["test_outputs.csv"], result, task)
    else:
        paths.pop("test_outputs.csv")
    write_json(paths["result.json"], {**result.summary(), **(extra or {})})
    return paths


def _write_test_outputs(path: Path, result: FitResult, task) -> None:
    names = list(result.model.target_names) or [f"output_{j}" for j in range(result.model.spec.n_outputs)]
    to_original = (lambda x: x) if task is None else task.to_original  # noqa: E731
    bounds = getattr(result, "interval_outputs", None) or []  # a forecast's interval: [lower, upper]
    blocks = {"evolino": result.test_outputs, "evolino_one_step": result.test_one_step_outputs,
              **({"evolino_lower": [bounds[0]], "evolino_upper": [bounds[1]]} if bounds else {}),
              **result.baseline_outputs}
    columns, header = [], ["sequence", "step"]
    count = len(result.test_outputs)
    steps = [len(o) for o in result.test_outputs]
    columns.append(np.concatenate([np.full(n, i) for i, n in enumerate(steps)]))
    columns.append(np.concatenate([np.arange(n) for n in steps]))
    if task is not None:
        blocks = {"target": [p.targets for p in task.test], **blocks}
    for label, arrays in blocks.items():
        if len(arrays) != count:
            continue
        values = to_original(np.concatenate(arrays))
        for j, name in enumerate(names):
            header.append(f"{label}_{name}")
            columns.append(values[:, j])
    write_matrix_csv(path, np.stack(columns, axis=1), "", header)


def read_columns(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """A CSV with a header of names -> {name: float array}; ``nan`` cells are NaN."""
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    return {name: np.array([float(row[j]) for row in body]) for j, name in enumerate(header)}


def summary_line(task: str, summary: dict, folder) -> str:
    """The one line ``run`` prints at the end: errors, the trivial models' beside them, where the files are."""
    metric = summary.get("metric", "error")
    validation = summary.get("validation_error", summary.get("train_error"))
    test = f"test {metric} {_fmt(summary.get('test_error'))}"
    if summary.get("test_one_step_error") is not None:
        test += f" (free run), {_fmt(summary['test_one_step_error'])} (one step)"
    baselines = summary.get("baselines") or {}
    beside = ", ".join(f"{BASELINE_LABELS.get(name, name)} {_fmt(b.get('test_error'))}"
                       for name, b in baselines.items())
    scores = summary.get("test_scores") or {}
    if scores.get("accuracy") is not None:  # classes: the accuracy a reader looks for first
        test += f", accuracy {scores['accuracy']:.3f}" + (f" (balanced {scores['balanced_accuracy']:.3f})"
                                                           if scores.get("balanced_accuracy") is not None else "")
    forecast = ""
    if summary.get("final"):  # a forecast: what the backtest chose
        backtest = summary.get("backtest") or {}
        chosen = (f"{summary['ensemble']} network(s) under transform {summary.get('transform', {}).get('name')}"
                  if summary["final"] == "network" else f"the linear model ({LINEAR_MODEL})")
        forecast = (f"; forecast by {chosen} (backtest {metric}: networks {_fmt(backtest.get('network'))}, linear "
                    f"{_fmt(backtest.get('linear'))})")
        interval = summary.get("interval") or {}
        if interval.get("coverage") is not None:
            forecast += f"; {interval['level']:.0%} interval covers {interval['coverage']:.0%} of the test steps"
        validation_words = "backtest"
    else:
        validation_words = "validation"
    return (f"{task}: {summary.get('generations')} generations, {summary.get('evaluations')} evaluations, "
            f"{summary.get('wall_seconds', 0):.1f}s; {validation_words} {metric} {_fmt(validation)}, {test}"
            + (f"; baselines (test): {beside}" if beside else "") + forecast + f"; results in {folder}/")


def _label_lines(result: dict) -> list[str]:
    """Sequence labels in report.md: the final model chosen on validation, and the test part's confusion matrix."""
    labels, metric = result["labels"], result.get("metric", "error")
    candidates = labels.get("candidates") or {}
    network = min((v for k, v in candidates.items() if k.startswith("pool=")), default=None)
    lines = [f"Final model, chosen on the validation part: **{labels.get('final')}** (readout pools "
             f"{result.get('readout_pool')}, ridge {_fmt(result.get('ridge'))}); validation {metric}: class "
             f"frequencies {_fmt(candidates.get('class frequencies'))}, the best network {_fmt(network)}. Class "
             f"probabilities: a softmax of the outputs at temperature {_fmt(labels.get('temperature'))}, chosen on "
             "validation."]
    confusion = result.get("confusion")
    if confusion:
        classes = confusion["classes"]
        lines += ["", "Test confusion matrix (rows: the true class, columns: the predicted one):", "",
                  "| | " + " | ".join(map(str, classes)) + " |", "|---|" + "---|" * len(classes)]
        for name, row in zip(classes, confusion["counts"], strict=True):
            lines.append(f"| **{name}** | " + " | ".join(map(str, row)) + " |")
    return lines


def _forecast_lines(result: dict) -> list[str]:
    """The forecaster's choices in report.md: the transform, the season, the backtest and the interval."""
    metric = result.get("metric", "error")
    backtest = result.get("backtest") or {}
    transform = (result.get("transform") or {}).get("name", "?")
    season = result.get("season")
    final = (f"the average of the {result.get('ensemble')} best networks (ridge {_fmt(result.get('ridge'))}) under "
             f"the transform **{transform}**" if result.get("final") == "network" else
             f"the linear model ({LINEAR_MODEL})")
    lines = [f"Forecast: {final}" + (f"; season {season}" if season else "; no season") + ". Chosen on a "
             "rolling-origin backtest inside the training and validation parts: "
             f"{len(backtest.get('origins', []))} origins (steps {', '.join(map(str, backtest.get('origins', [])))})"
             f", each forecasting {backtest.get('horizon')} steps.",
             "", f"| candidate | backtest {metric} | weight in the linear model |", "|---|---|---|",
             f"| linear model (combined) | {_fmt(backtest.get('linear'))} | |",
             f"| networks (best ensemble and ridge) | {_fmt(backtest.get('network'))} | |"]
    for member in backtest.get("linear_members") or []:
        model = member.get("model") or f"AR({member.get('order')})"  # files written before smoothing members
        lines.append(f"| {model} under {member.get('transform')} | "
                     f"{_fmt(member.get('backtest_error'))} | {member.get('weight', 0):.3f} |")
    interval = result.get("interval") or {}
    if interval.get("coverage") is not None:
        lines += ["", f"The {interval['level']:.0%} prediction interval (from backtest residuals per horizon step, "
                      f"{interval.get('origins')} origins) covers {interval['coverage']:.1%} of the test steps."]
    return lines


def read_history(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """history.csv -> one float array (G,) per column."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    names = rows[0].keys() if rows else HISTORY_COLUMNS
    return {name: np.array([float(row[name]) for row in rows]) for name in names}


def read_numeric_csv(path: str | os.PathLike) -> np.ndarray:
    """A CSV of numbers -> (T, k) float array; a first line that is not numeric is taken as a header.

    Raises ValueError (one line) for a missing file, an empty file, ragged rows or non-numeric cells.
    """
    path = Path(path)
    try:
        with open(path, newline="") as handle:
            rows = [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    if rows and not _numeric(rows[0]):
        rows = rows[1:]
    if not rows:
        raise ValueError(f"{path} has no data rows")
    if len({len(row) for row in rows}) != 1:
        raise ValueError(f"{path}: rows have different numbers of columns")
    for number, row in enumerate(rows, start=1):
        if not _numeric(row):
            raise ValueError(f"{path}: data row {number} is not all numbers: {','.join(row)[:60]!r}")
    data = np.array([[float(cell) for cell in row] for row in rows])
    if not np.isfinite(data).all():
        raise ValueError(f"{path} contains NaN or infinite values")
    return data


def _numeric(row: list[str]) -> bool:
    try:
        [float(cell) for cell in row]
    except ValueError:
        return False
    return True


def write_matrix_csv(path: str | os.PathLike, matrix: np.ndarray, prefix: str, names=(), index=None,
                     index_name: str = "date") -> Path:
    """(T, k) array -> CSV with header ``names`` (or ``prefix_0, ..., prefix_{k-1}``), full float precision; an
    ``index`` of T labels (e.g. dates) becomes a first column named ``index_name``."""
    path = Path(path)
    matrix = np.asarray(matrix, dtype=np.float64)
    names = list(names) or [f"{prefix}_{j}" for j in range(matrix.shape[1])]
    header = ",".join(_csv_cell(name) for name in ([index_name, *names] if index is not None else names))
    with atomic_file(path, "w") as handle:
        if index is None:
            np.savetxt(handle, matrix, delimiter=",", header=header, comments="", fmt="%.17g")
        else:
            handle.write(header + "\n")
            for label, row in zip(index, matrix, strict=True):
                handle.write(",".join([_csv_cell(str(label)), *(f"{v:.17g}" for v in row)]) + "\n")
    return path


def _csv_cell(text: str) -> str:
    return f'"{text}"' if any(c in text for c in ',"\n') else text


def write_report(folder: str | os.PathLike, task=None) -> list[Path]:
    """Write learning_curve.png, test_window.png (when the run has test outputs) and report.md into ``folder``.

    Uses only the run's files: result.json, history.csv and test_outputs.csv (and, for folders written before
    test_outputs.csv held the targets, the run's ``task``).
    """
    from evolino.plots import plot_learning_curve, plot_test_window

    folder = Path(folder)
    result = json.loads((folder / "result.json").read_text())
    written = []
    history = read_history(folder / "history.csv") if (folder / "history.csv").is_file() else None
    title = f"{result.get('task', '?')}, {result.get('optimizer', '?')}, {result.get('cells', '?')} cells"
    if history is not None and history["generation"].size:
        with atomic_path(folder / "learning_curve.png") as tmp:
            plot_learning_curve(history, tmp, title)
        written.append(folder / "learning_curve.png")
    window = None if result.get("labels") else _test_window(folder, task)  # a label per sequence: the confusion
    if result.get("confusion"):
        from evolino.plots import plot_confusion

        with atomic_path(folder / "confusion.png") as tmp:
            plot_confusion(result["confusion"], tmp, f"{title}: test accuracy "
                           f"{_fmt((result.get('test_scores') or {}).get('accuracy'))}")
        written.append(folder / "confusion.png")
    if window is not None:
        targets, outputs, others, names, band = window
        mode = "free run" if result.get("test_one_step_error") is not None else "test"
        level = (result.get("interval") or {}).get("level")
        with atomic_path(folder / "test_window.png") as tmp:
            plot_test_window(targets, outputs, tmp, f"{title}: {mode} {result.get('metric', 'error')} "
                             f"{_fmt(result.get('test_error'))}", others, names, band,
                             f"{level:.0%} interval" if level else "interval")
        written.append(folder / "test_window.png")
    report = write_text(folder / "report.md", _report_markdown(result, history, [p.name for p in written],
                                                                    folder))
    return [*written, report]


def _test_window(folder: Path, task):
    """(targets, network outputs, {baseline: outputs}, column names, (lower, upper) or None) of the test steps, or
    None."""
    path = folder / "test_outputs.csv"
    if not path.is_file():
        return None
    columns = read_columns(path)
    names = [key[len("evolino_"):] for key in columns if key.startswith("evolino_")
             and not key.startswith(("evolino_one_step_", "evolino_lower_", "evolino_upper_"))]
    if names:
        if not all(f"target_{name}" in columns for name in names):
            return None
        stack = lambda label: np.stack([columns[f"{label}_{name}"] for name in names], axis=1)  # noqa: E731
        others = {label: stack(label) for label in BASELINE_LABELS if f"{label}_{names[0]}" in columns}
        band = (stack("evolino_lower"), stack("evolino_upper")) if f"evolino_lower_{names[0]}" in columns else None
        return stack("target"), stack("evolino"), others, names, band
    if task is None or not task.test:  # a folder of an older version: output_j columns only
        return None
    outputs = np.stack(list(columns.values()), axis=1)
    targets = task.to_original(np.concatenate([pair.targets for pair in task.test]))
    return (targets, outputs, {}, list(task.output_names), None) if outputs.shape == targets.shape else None


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3e}" if isinstance(value, float) else str(value)


def repeat_command(folder: str | os.PathLike) -> str:
    """The command that repeats the run in ``folder``, run from inside that folder: its config.toml names the folder
    relative to the working directory the run was started in (``output.dir``), so the command gives a new folder
    beside it with ``--out``; the data the config names (``data.npz``) is relative to the config file."""
    return f"python -m evolino run --config config.toml --out ../{Path(folder).resolve().name}-again"


def _report_markdown(result: dict, history: dict | None, images: list[str], folder: str | os.PathLike = ".") -> str:
    result = dict(result)
    if "validation_error" not in result and "train_error" in result:  # written before the name was right
        result["validation_error"] = result.pop("train_error")
    metric = result.get("metric", "error")
    lines = [f"# evolino run: {result.get('task', '?')}", "", "| quantity | value |", "|---|---|"]
    for key in ("task", "optimizer", "cells", "population", "seed", "generations", "evaluations", "stop_reason",
                "ridge", "readout_lags", "validation_error", "test_error", "test_one_step_error", "wall_seconds"):
        if key == "wall_seconds" and key in result:
            lines.append(f"| wall seconds | {result[key]:.1f} |")
        elif key in result and not (key == "test_one_step_error" and result[key] is None):
            label = key.replace("_", " ").replace("error", metric)
            lines.append(f"| {label} | {_fmt(result[key])} |")
    baselines = result.get("baselines") or {}
    if baselines:
        one_step = result.get("test_one_step_error") is not None
        lines += ["", f"Test {metric} beside the trivial models (same steps, same metric; fitted on train + "
                      "validation, settings chosen on validation):", "",
                  "| model | " + ("free run | one step |" if one_step else "test |") + " setting |",
                  "|---|---|" + ("---|" if one_step else "") + "---|",
                  f"| evolino | {_fmt(result.get('test_error'))} | "
                  + (f"{_fmt(result.get('test_one_step_error'))} | " if one_step else "")
                  + f"{result.get('cells', '?')} cells, {result.get('readout_lags', 0)} lags |"]
        for name, b in baselines.items():
            setting = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in b.items() if k.startswith("order"))
            lines.append(f"| {BASELINE_LABELS.get(name, name)} | {_fmt(b.get('test_error'))} | "
                         + (f"{_fmt(b.get('test_one_step_error'))} | " if one_step else "") + f"{setting} |")
    if result.get("final"):
        lines += ["", *_forecast_lines(result)]
    if result.get("labels"):
        lines += ["", *_label_lines(result)]
    if result.get("test_scores"):
        lines += ["", "Test scores: " + ", ".join(f"{k} {_fmt(v)}" for k, v in result["test_scores"].items()) + "."]
    for warning in result.get("warnings") or []:
        lines += ["", f"**Warning:** {warning}."]
    for note in result.get("notes") or []:
        lines += ["", f"**Note:** {note}."]
    if history is not None and history["generation"].size:
        best = history["best_ever"]
        held = "the last part of the training data" if result.get("holdout") else "the validation data"
        lines += ["", f"Best-ever fitness (the error on {held}) went from {best[0]:.3e} (generation 1) to "
                      f"{best[-1]:.3e} (generation {int(history['generation'][-1])})."]
    for name in images:
        lines += ["", f"![{name[:-4].replace('_', ' ')}]({name})"]
    lines += ["", f"Files: config.toml (repeat the run, from this folder, with `{repeat_command(folder)}`), "
                  "result.json, history.csv, model.npz, test_outputs.csv, task.npz, task.json, checkpoints/.", ""]
    return "\n".join(lines)
