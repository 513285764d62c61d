"""Tasks from your own data files: CSV (with or without a header line), NPY and NPZ tables.

A file is read as a :class:`Table` of named columns (rows are time steps). :func:`data_task` picks target and input
columns (by name or 0-based index), cuts the rows into train / validation / test, and builds a :class:`Task` of one of
four kinds:

``generate``
    Continue the target series closed-loop (the network feeds its output back); validated by free runs from several
    points of the validation part, tested by a free run over the whole test part and by one-step prediction.
    Input columns, if any, are exogenous signals known in advance.
``predict``
    Predict the target columns ``horizon`` steps ahead from the current values of the targets and inputs
    (teacher-forced, no feedback).
``map``
    Map the input columns to the target columns at the same step. Empty or NaN target cells mean "no target here".
``classify``
    The target column holds class labels (numbers or words), encoded one-hot; empty cells mean "no label here". With
    a ``sequence`` column the label is taken at the last row of each sequence (sequence classification).

Rows with the same value in the ``sequence`` column, consecutive, form one sequence; sequences are independent (each
starts from a zero state after the washout) and the split counts sequences. Without it the file is one series,
split by steps, and each part continues the previous one.

Defaults: split 0.7 / 0.15 / 0.15; washout min(50, a tenth of the training part) for a series, 0 for sequences;
per-column standardisation fitted on the training part (classification labels are left alone); for ``generate``,
five validation free runs each as long as the test part. Every problem with the data raises ValueError with one line
that names the file and the column.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evolino import atomic
from evolino.tasks.base import SequencePair, Task

__all__ = ["Table", "read_table", "data_task", "KINDS", "DEFAULT_SPLIT", "save_table"]

KINDS = ("generate", "predict", "map", "classify")
DEFAULT_SPLIT = (0.7, 0.15, 0.15)
DEFAULT_VALIDATION_WINDOWS = 5


@dataclass(frozen=True, eq=False)
class Table:
    """Named columns of equal length: float arrays (NaN where a cell is empty) or, where some cell is not a number,
    string arrays.

    Attributes
    ----------
    names : tuple of str
    columns : tuple of (T,) arrays
    source : str
        The file it was read from.
    sha256 : str
        Hash of that file's bytes.
    """

    names: tuple[str, ...]
    columns: tuple[np.ndarray, ...]
    source: str
    sha256: str

    @classmethod
    def from_arrays(cls, data, source: str = "arrays") -> Table:
        """A table from a dict {name: (T,) array}, or a (T,) or (T, k) array (columns ``column_0``, ...)."""
        if isinstance(data, dict):
            names = [str(k) for k in data]
            columns = [np.asarray(v) for v in data.values()]
        else:
            names, columns = _from_array(np.asarray(data), Path(source))
        if not columns or any(c.ndim != 1 or c.shape != columns[0].shape for c in columns) or not len(columns[0]):
            raise ValueError("columns must be non-empty 1-D arrays of one length")
        columns = [c.astype(np.float64) if c.dtype.kind in "fiub" else c.astype(str) for c in columns]
        digest = hashlib.sha256(b"".join(np.ascontiguousarray(c).tobytes() for c in columns)).hexdigest()
        return cls(tuple(names), tuple(columns), source, digest)

    @property
    def rows(self) -> int:
        return self.columns[0].shape[0]

    def index(self, column: str | int) -> int:
        """Position of a column given by name or by 0-based index (a name wins over an index)."""
        if isinstance(column, str) and column in self.names:
            return self.names.index(column)
        try:
            position = int(column)
        except (TypeError, ValueError):
            position = None
        if position is None or str(column).strip() != str(position) or not 0 <= position < len(self.names):
            known = ", ".join(repr(n) for n in self.names[:12]) + (", ..." if len(self.names) > 12 else "")
            raise ValueError(f"{self.source}: no column {column!r} (columns: {known}; or a 0-based index)")
        return position

    def numbers(self, position: int, role: str) -> np.ndarray:
        """Column ``position`` as floats; ValueError naming the first cell that is not a number."""
        column = self.columns[position]
        if column.dtype.kind == "f":
            return column
        for row, cell in enumerate(column):
            if cell.strip() and _number(cell) is None:
                raise ValueError(f"{self.source}: {role} column {self.names[position]!r}, data row {row + 1}: "
                                 f"{cell[:40]!r} is not a number")
        return np.array([_number(cell) if cell.strip() else np.nan for cell in column])


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_table(path: str | os.PathLike, header: bool | None = None) -> Table:
    """Read a CSV, NPY or NPZ file (by its suffix; anything else is read as CSV).

    CSV: comma-separated; ``header`` None detects a header line (a first row that is not numbers where the rows below
    are); empty cells are missing values. NPY: a (T,) or (T, k) numeric array, columns named ``column_0``...
    NPZ: 1-D arrays of equal length, each a column named by its key, or one 2-D array ``data`` with optional names in
    ``columns``.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"data file {str(path)!r} not found" if not path.exists() else f"{path} is not a file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            names, columns = _from_array(np.load(path, allow_pickle=False), path)
        elif suffix == ".npz":
            names, columns = _from_npz(path)
        else:
            names, columns = _from_csv(path, header)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        message = str(exc)
        raise ValueError(message if message.startswith(str(path)) else f"{path}: {message}") from None
    if not columns or columns[0].shape[0] == 0:
        raise ValueError(f"{path} has no data rows")
    return Table(tuple(names), tuple(columns), str(path), _hash(path))


def _from_array(array: np.ndarray, path: Path, names: Sequence[str] | None = None):
    if array.dtype.kind not in "fiub":
        raise ValueError(f"{path}: expected a numeric array, got dtype {array.dtype}")
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{path}: expected a (T,) or (T, k) array, got shape {array.shape}")
    names = list(names) if names is not None else [f"column_{j}" for j in range(array.shape[1])]
    if len(names) != array.shape[1]:
        raise ValueError(f"{path}: {len(names)} column names for {array.shape[1]} columns")
    return names, [np.ascontiguousarray(array[:, j]) for j in range(array.shape[1])]


def _from_npz(path: Path):
    with np.load(path, allow_pickle=False) as data:
        keys = list(data.files)
        if "data" in keys:
            names = [str(n) for n in data["columns"]] if "columns" in keys else None
            return _from_array(data["data"], path, names)
        if "columns" in keys:  # evolino's own copy: column_j arrays named by `columns`
            names = [str(n) for n in data["columns"]]
            columns = [data[f"column_{j}"] for j in range(len(names))]
        else:
            names, columns = keys, [data[k] for k in keys]
    for name, column in zip(names, columns, strict=True):
        if column.ndim != 1:
            raise ValueError(f"{path}: array {name!r} must be 1-D (one column), got shape {column.shape}")
        if column.shape != columns[0].shape:
            raise ValueError(f"{path}: columns have different lengths ({name!r}: {column.shape[0]})")
    return names, [c.astype(np.float64) if c.dtype.kind in "fiub" else c.astype(str) for c in columns]


def _from_csv(path: Path, header: bool | None):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = [[cell.strip() for cell in row] for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError(f"{path} is empty")
    width = len(rows[0])
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != width:
            raise ValueError(f"{path}: line {number} has {len(row)} cells, the first has {width}")
    if header is None:
        header = _looks_like_header(rows)
    names = [cell or f"column_{j}" for j, cell in enumerate(rows[0])] if header else \
        [f"column_{j}" for j in range(width)]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: the header repeats a column name")
    body = rows[1:] if header else rows
    if not body:
        raise ValueError(f"{path} has no data rows")
    columns = []
    for j in range(width):
        cells = [row[j] for row in body]
        values = [_number(cell) if cell else math.nan for cell in cells]
        columns.append(np.array(cells) if any(v is None for v in values) else np.array(values, dtype=np.float64))
    return names, columns


def _looks_like_header(rows: list[list[str]]) -> bool:
    """A first row is a header when a cell of it is not a number but the cells below it in that column are."""
    if len(rows) < 2:
        return _number(rows[0][0]) is None if rows[0] else False
    for j, cell in enumerate(rows[0]):
        below = [row[j] for row in rows[1:] if row[j]]
        if _number(cell) is None and below and all(_number(c) is not None for c in below):
            return True
    return all(_number(cell) is None for cell in rows[0]) and any(_number(c) is not None for c in rows[1])


def save_table(table: Table, path: str | os.PathLike, columns: Sequence[int] | None = None) -> Path:
    """Write (some of) a table's columns to an NPZ file that :func:`read_table` reads back as they were."""
    positions = range(len(table.names)) if columns is None else columns
    arrays = {f"column_{k}": table.columns[j] for k, j in enumerate(positions)}
    path = Path(path)
    with atomic.atomic_file(path, "wb") as handle:  # atomically: a full disk or a kill leaves no half file
        np.savez(handle, columns=np.array([table.names[j] for j in positions]), **arrays)
    return path


# ---------------------------------------------------------------------------------------------------------- tasks


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _split_sizes(split, total: int, unit: str, source: str) -> tuple[int, int, int]:
    """Train / validation / test counts from fractions (summing to 1) or counts (summing to ``total``)."""
    values = list(split)
    if len(values) != 3 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ValueError(f"split must be three numbers (train, validation, test), got {split!r}")
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise ValueError(f"split values must be finite and >= 0, got {split!r}")
    if all(float(v).is_integer() for v in values) and sum(values) > 1:
        sizes = [int(v) for v in values]
        if sum(sizes) != total:
            raise ValueError(f"{source}: split sizes {'+'.join(map(str, sizes))} = {sum(sizes)}, but the data have "
                             f"{total} {unit}")
        return sizes[0], sizes[1], sizes[2]
    if abs(sum(values) - 1.0) > 1e-9:
        raise ValueError(f"split fractions must add up to 1, got {' + '.join(map(str, values))} = {sum(values):g}")
    validation, test = round(values[1] * total), round(values[2] * total)
    return total - validation - test, validation, test


def data_task(
    table: Table | dict | np.ndarray,
    kind: str = "generate",
    target: Sequence[str | int] | str | int | None = None,
    inputs: Sequence[str | int] | str | int | None = None,
    sequence: str | int | None = None,
    horizon: int = 1,
    split: Sequence[float] = DEFAULT_SPLIT,
    washout: int | None = None,
    scale: bool = True,
    metric: str | None = None,
    missing: str = "error",
    validation_windows: int | None = None,
    free_run_steps: int | None = None,
    name: str | None = None,
) -> Task:
    """A :class:`Task` of the given kind from a table (see the module docstring for the kinds and defaults).

    Parameters
    ----------
    table : Table, dict of (T,) arrays, or a (T,) / (T, k) array
        The data (:func:`read_table` reads a file; arrays become columns ``column_0``, ...).
    target, inputs : column names or 0-based indices
        ``target`` defaults to every column not otherwise used for ``generate`` and ``predict``; it is required for
        ``map`` and ``classify`` (one label column).
    sequence : column, optional
        Consecutive rows with equal values form one independent sequence.
    horizon : int
        ``predict``: steps ahead.
    split : three fractions (adding up to 1) or three counts (of steps, or of sequences)
    washout : int, optional
    scale : bool
        Standardise every input and target column on the training part (not classification labels).
    metric : str, optional
        Default nrmse, and mse for ``classify`` (the accuracy is reported beside it).
    missing : {"error", "interpolate"}
        Empty target cells of ``generate`` / ``predict``: an error, or filled by linear interpolation.
    validation_windows, free_run_steps : int, optional
        ``generate``: free runs per validation part and their length.
    name : str, optional
        Task name (default: the file's stem).
    """
    if not isinstance(table, Table):
        table = Table.from_arrays(table)
    _check_choices(kind, missing, horizon)
    columns = _choose_columns(table, kind, target, inputs, sequence)
    y, u, target_names, classes = _column_arrays(table, kind, columns, missing)
    input_names = [table.names[j] for j in columns.inputs]
    pairs, input_names = _pairs(kind, y, u, _sequence_bounds(table, columns.sequence), horizon, target_names,
                                input_names)
    train, validation, test, sizes, washout = _split_pairs(pairs, columns.sequence is not None, split, washout,
                                                          table.source, kind)
    unit = "sequences" if columns.sequence is not None else "steps"
    generate = kind == "generate"
    if generate:
        validation_windows, free_run_steps = _free_run_protocol(validation, test, u is not None, validation_windows,
                                                                free_run_steps)
    description = (f"{kind} {', '.join(target_names)}" + (f" from {', '.join(input_names)}" if input_names else "")
                   + (f" {horizon} step(s) ahead" if kind == "predict" else "")
                   + f"; {Path(table.source).name}, {'/'.join(map(str, sizes))} {unit} train/validation/test")
    info = {"kind": kind, "source": table.source, "sha256": table.sha256,
            "horizon": horizon if kind == "predict" else None, "split": list(sizes), "split_unit": unit,
            "classes": classes, "columns": columns.names(table)}
    task = Task(
        name=name or Path(table.source).stem, train=train, validation=validation, test=test, washout=washout,
        generative=generate, metric=metric or ("mse" if kind == "classify" else "nrmse"), description=description,
        info=info, continued=columns.sequence is None,
        forecast_horizon=horizon if kind in ("generate", "predict") else None,
        validation_windows=validation_windows if generate else 1, free_run_steps=free_run_steps if generate else None,
        input_names=input_names, target_names=target_names,
    )
    return task.standardized(scale_targets=kind != "classify") if scale else task


def _check_choices(kind: str, missing: str, horizon) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown task kind {kind!r}; choose one of {', '.join(KINDS)}")
    if missing not in ("error", "interpolate"):
        raise ValueError(f'missing must be "error" or "interpolate", got {missing!r}')
    if not isinstance(horizon, int) or isinstance(horizon, bool) or horizon < 1:
        raise ValueError(f"horizon must be an integer >= 1, got {horizon!r}")


@dataclass(frozen=True)
class _Columns:
    """Positions of the target, input and sequence columns in a table."""

    targets: list[int]
    inputs: list[int]
    sequence: int | None

    def names(self, table: Table) -> dict:
        return {"targets": [table.names[j] for j in self.targets], "inputs": [table.names[j] for j in self.inputs],
                "sequence": None if self.sequence is None else table.names[self.sequence]}


def _choose_columns(table: Table, kind: str, target, inputs, sequence) -> _Columns:
    source = table.source
    input_pos = [table.index(c) for c in _as_list(inputs)]
    sequence_pos = None if sequence is None else table.index(sequence)
    used = set(input_pos) | ({sequence_pos} if sequence_pos is not None else set())
    if target is None:
        if kind in ("map", "classify"):
            raise ValueError(f"{source}: a {kind} task needs its target column(s) named (--target COL)")
        target_pos = [j for j in range(len(table.names)) if j not in used]
    else:
        target_pos = [table.index(c) for c in _as_list(target)]
    if not target_pos:
        raise ValueError(f"{source}: no column is left for the target")
    overlap = set(target_pos) & used
    if overlap or len(set(target_pos)) != len(target_pos) or len(set(input_pos)) != len(input_pos):
        raise ValueError(f"{source}: a column is used twice: {', '.join(table.names[j] for j in sorted(overlap))}"
                         if overlap else f"{source}: a column is named twice")
    if kind == "generate" and sequence_pos is not None:
        raise ValueError(f"{source}: a generate task continues one series; a sequence column is for map, predict and "
                         "classify tasks")
    if kind == "classify" and len(target_pos) != 1:
        raise ValueError(f"{source}: a classify task takes one label column, got {len(target_pos)}")
    return _Columns(target_pos, input_pos, sequence_pos)


def _column_arrays(table: Table, kind: str, columns: _Columns, missing: str):
    """(targets (T, m), inputs (T, k) or None, target names, classes or None) of the chosen columns."""
    source = table.source
    u = np.stack([table.numbers(j, "input") for j in columns.inputs], axis=1) if columns.inputs else None
    if u is not None and not np.isfinite(u).all():
        bad = columns.inputs[int(np.argmax(~np.isfinite(u).all(axis=0)))]
        raise ValueError(f"{source}: input column {table.names[bad]!r} has missing or non-finite values")
    target_names = [table.names[j] for j in columns.targets]
    if kind == "classify":
        y, classes = _one_hot(table, columns.targets[0])
        if columns.sequence is not None:  # the label of a sequence is read at its last row
            last = np.zeros(table.rows, dtype=bool)
            last[[b - 1 for b in _sequence_bounds(table, columns.sequence)[1:]]] = True
            y = np.where(last[:, None], y, np.nan)
        return y, u, [f"{target_names[0]}={c}" for c in classes], classes
    y = np.stack([table.numbers(j, "target") for j in columns.targets], axis=1)
    if np.isinf(y).any():
        raise ValueError(f"{source}: a target column has infinite values")
    if kind in ("generate", "predict"):
        y = _fill_missing(y, missing, source, target_names)
    return y, u, target_names, None


def _split_pairs(pairs: list[SequencePair], sequences: bool, split, washout: int | None, source: str, kind: str):
    """(train, validation, test, (their sizes), washout): a series cut by steps, or sequences dealt out in order."""
    unit = "sequences" if sequences else "steps"
    sizes = _split_sizes(split, len(pairs) if sequences else pairs[0].steps, unit, source)
    n_train, n_val, _ = sizes
    if n_train < 1:
        raise ValueError(f"{source}: the split leaves no training {unit}")
    if kind == "generate" and n_val < 1:
        raise ValueError(f"{source}: a generate task needs validation steps (split {list(split)})")
    if sequences:
        train, validation, test = pairs[:n_train], pairs[n_train:n_train + n_val], pairs[n_train + n_val:]
        washout = 0 if washout is None else washout
    else:
        cuts = np.cumsum([0, *sizes])
        train, validation, test = (_slice(pairs[0], a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True))
        washout = min(50, n_train // 10) if washout is None else washout
    if not isinstance(washout, int) or isinstance(washout, bool) or washout < 0:
        raise ValueError(f"washout must be an integer >= 0, got {washout!r}")
    shortest = min(p.steps for p in train)
    if shortest <= washout:
        raise ValueError(f"{source}: the training part has {shortest} steps, fewer than the washout + 1 "
                         f"({washout + 1})")
    return train, validation, test, sizes, washout


def _free_run_protocol(validation, test, with_inputs: bool, windows: int | None, steps: int | None):
    """Validation free runs of a generate task: five windows, as long as the forecast the test will score (without
    inputs, which are not known past the data)."""
    val_steps = validation[0].steps
    test_steps = test[0].steps if test else 0
    windows = min(DEFAULT_VALIDATION_WINDOWS if windows is None else windows, val_steps)
    if steps is None:
        steps = val_steps if with_inputs else max(test_steps, val_steps)
    return windows, steps


def _one_hot(table: Table, position: int) -> tuple[np.ndarray, list[str]]:
    column = table.columns[position]
    if column.dtype.kind == "f":
        present = np.isfinite(column)
        labels = np.array([_label(v) for v in column])
    else:
        present = np.char.str_len(column) > 0
        labels = column
    classes = sorted(set(labels[present].tolist()), key=lambda c: (_number(c) is None, _number(c) or 0, c))
    if len(classes) < 2:
        raise ValueError(f"{table.source}: label column {table.names[position]!r} has fewer than two classes")
    encoded = np.full((table.rows, len(classes)), np.nan)
    for k, label in enumerate(classes):
        rows = present & (labels == label)
        encoded[rows] = 0.0
        encoded[rows, k] = 1.0
    return encoded, [str(c) for c in classes]


def _label(value: float) -> str:
    if not np.isfinite(value):
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _fill_missing(y: np.ndarray, missing: str, source: str, names: list[str]) -> np.ndarray:
    gaps = np.isnan(y)
    if not gaps.any():
        return y
    column = names[int(np.argmax(gaps.any(axis=0)))]
    if missing == "error":
        raise ValueError(f"{source}: target column {column!r} has {int(gaps.sum())} missing value(s); fill them, or "
                         "let evolino interpolate (missing = \"interpolate\", --missing interpolate)")
    filled = y.copy()
    steps = np.arange(y.shape[0])
    for j in range(y.shape[1]):
        known = ~gaps[:, j]
        if not known.any():
            raise ValueError(f"{source}: target column {names[j]!r} has no values")
        filled[:, j] = np.interp(steps, steps[known], y[known, j])
    return filled


def _sequence_bounds(table: Table, position: int | None) -> list[int]:
    """Row boundaries [0, ..., rows] of the sequences (one sequence without a sequence column)."""
    if position is None:
        return [0, table.rows]
    ids = table.columns[position]
    change = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    return [0, *change.tolist(), table.rows]


def _pairs(kind: str, y: np.ndarray, u: np.ndarray | None, bounds: list[int], horizon: int, target_names,
           input_names):
    """SequencePairs of every sequence for the kind, and the input column names the network sees."""
    pairs = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if kind == "predict":
            if b - a <= horizon:
                raise ValueError(f"a sequence of {b - a} steps is too short to predict {horizon} step(s) ahead")
            seen = y[a : b - horizon] if u is None else np.concatenate([y[a : b - horizon], u[a : b - horizon]], 1)
            pairs.append(SequencePair(y[a + horizon : b], seen))
        else:
            pairs.append(SequencePair(y[a:b], None if u is None else u[a:b]))
    names = [*target_names, *input_names] if kind == "predict" else list(input_names)
    return pairs, names


def _slice(pair: SequencePair, start: int, stop: int) -> list[SequencePair]:
    """Steps [start, stop) of ``pair`` as a one-element list (empty when there are none)."""
    if stop <= start:
        return []
    return [SequencePair(pair.targets[start:stop], None if pair.inputs is None else pair.inputs[start:stop])]
