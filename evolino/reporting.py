"""Result files of a run: result.json, history.csv, model.npz, the test outputs, plots and report.md (open formats
only), and the CSV reading/writing of the ``predict`` and ``generate`` commands."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np

from evolino.trainer import HISTORY_COLUMNS, FitResult

__all__ = ["write_json", "write_history", "read_history", "write_run", "check_writable", "write_report",
           "read_numeric_csv", "write_matrix_csv"]


def check_writable(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and make sure files can be written there; raises OSError otherwise."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / ".evolino-write-test"
    probe.write_text("ok")
    probe.unlink()
    return folder


def write_json(path: Path, data: dict) -> None:
    """Write JSON atomically (a reader never sees half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def write_history(path: Path, history: list[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HISTORY_COLUMNS)
        writer.writeheader()
        for row in history:
            writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
    os.replace(tmp, path)


def write_run(folder: str | os.PathLike, result: FitResult, extra: dict | None = None) -> dict[str, Path]:
    """Write result.json, history.csv, model.npz and test_outputs.csv into ``folder``."""
    folder = Path(folder)
    paths = {name: folder / name for name in ("result.json", "history.csv", "model.npz", "test_outputs.csv")}
    result.model.save(paths["model.npz"])
    write_history(paths["history.csv"], result.history)
    if result.test_outputs:
        write_matrix_csv(paths["test_outputs.csv"], np.concatenate(result.test_outputs, axis=0), "output")
    else:
        paths.pop("test_outputs.csv")
    write_json(paths["result.json"], {**result.summary(), **(extra or {})})
    return paths


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


def write_matrix_csv(path: str | os.PathLike, matrix: np.ndarray, prefix: str) -> Path:
    """(T, k) array -> CSV with header ``prefix_0, ..., prefix_{k-1}``, full float precision."""
    path = Path(path)
    matrix = np.asarray(matrix, dtype=np.float64)
    header = ",".join(f"{prefix}_{j}" for j in range(matrix.shape[1]))
    np.savetxt(path, matrix, delimiter=",", header=header, comments="", fmt="%.17g")
    return path


def _test_targets(folder: Path) -> np.ndarray | None:
    """Targets of the test window of the run's task (rebuilt from config.toml), or None."""
    from evolino.config import load_config
    from evolino.tasks import make_task

    if not (folder / "config.toml").is_file():
        return None
    config = load_config(folder / "config.toml")
    try:
        task = make_task(config.task.name, **config.task.options)
    except (TypeError, ValueError):
        return None
    if not task.test:
        return None
    return np.concatenate([pair.targets for pair in task.test])


def write_report(folder: str | os.PathLike) -> list[Path]:
    """Write learning_curve.png, test_window.png (when the task has test data) and report.md into ``folder``.

    Uses only the run's files: result.json, history.csv, test_outputs.csv and config.toml.
    """
    from evolino.plots import plot_learning_curve, plot_test_window

    folder = Path(folder)
    result = json.loads((folder / "result.json").read_text())
    written = []
    history = read_history(folder / "history.csv") if (folder / "history.csv").is_file() else None
    title = f"{result.get('task', '?')}, {result.get('optimizer', '?')}, {result.get('cells', '?')} cells"
    if history is not None and history["generation"].size:
        written.append(plot_learning_curve(history, folder / "learning_curve.png", title))
    targets = _test_targets(folder)
    outputs_path = folder / "test_outputs.csv"
    if targets is not None and outputs_path.is_file():
        outputs = read_numeric_csv(outputs_path)
        if outputs.shape == targets.shape:
            written.append(plot_test_window(targets, outputs, folder / "test_window.png",
                                            f"{title}: test error {_fmt(result.get('test_error'))}"))
    report = folder / "report.md"
    report.write_text(_report_markdown(result, history, [p.name for p in written]))
    return [*written, report]


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3e}" if isinstance(value, float) else str(value)


def _report_markdown(result: dict, history: dict | None, images: list[str]) -> str:
    lines = [f"# evolino run: {result.get('task', '?')}", "", "| quantity | value |", "|---|---|"]
    for key in ("task", "optimizer", "cells", "population", "seed", "generations", "evaluations", "stop_reason",
                "train_error", "test_error", "wall_seconds"):
        if key == "wall_seconds" and key in result:
            lines.append(f"| wall seconds | {result[key]:.1f} |")
        elif key in result:
            lines.append(f"| {key.replace('_', ' ')} | {_fmt(result[key])} |")
    if history is not None and history["generation"].size:
        best = history["best_ever"]
        lines += ["", f"Best-ever training error went from {best[0]:.3e} (generation 1) to {best[-1]:.3e} "
                      f"(generation {int(history['generation'][-1])})."]
    for name in images:
        lines += ["", f"![{name[:-4].replace('_', ' ')}]({name})"]
    lines += ["", "Files: config.toml (repeat with `python -m evolino run --config config.toml`), result.json, "
                  "history.csv, model.npz, test_outputs.csv, checkpoints/.", ""]
    return "\n".join(lines)
