"""Reading a data file into a :class:`Table`: named columns of equal length, one row per time step.

Idea. Users' files come as CSV (with or without a header line), NPY or NPZ. Each is read into columns of floats
(NaN where a cell is empty) or, where some cell is not a number, of text. Nothing is dropped or moved: row t of the
table is row t of the data, so a missing value stays a gap in its place instead of shifting the rest in time. A
column of dates becomes the table's time index (:mod:`evolino.tasks.dates`).

Layout.

* :class:`Table` the columns, the file they came from (path and SHA-256), the time index, and the file line of each
  row, so that a message can point into the file (:meth:`Table.where`).
* :func:`read_table` reads by the file's suffix. CSV is split by the :mod:`csv` module (quoted cells) and converted a
  whole column at a time by numpy; cells are looked at one by one only in a column that is not all numbers.
* :func:`save_table` writes evolino's own NPZ copy (a run folder's ``data.npz``), which :func:`read_table` reads back
  as it was, the time index included (as ISO text).

CSV rules. Comma-separated, UTF-8 (a byte-order mark is skipped), spaces around cells ignored. An empty cell is a
missing value; a blank line inside the data is a row of empty cells. Blank lines at the end of the file, and blank
lines before a header line, are not rows. A header line is detected (a first row that is not numbers where the rows
below are) unless ``header`` says.

Time index. With ``time`` (a column name or 0-based index) that column must hold dates (ISO text, or numbers that
are whole years such as 1949). Without it, the first column of text whose every non-empty cell is an ISO date is
taken; else a column of numbers whose header says it is time (``year``, ``date``, ``time``, ``period``, any case)
and whose values are whole years 1000-9999 that increase (a ``year,value`` file is a yearly series, not two). Any
other column of numbers is data (name it with ``time`` to read years).

Shapes. Every column is (T,): float64, or str where a cell is not a number; ``time`` is (T,) datetime64 (NaT where
empty) or None; ``lines`` is (T,) int or None.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from operator import itemgetter
from pathlib import Path

import numpy as np

from evolino import atomic
from evolino.tasks import dates
from evolino.tasks.sequences import labelled_columns

__all__ = ["Table", "labelled_table", "read_table", "save_table", "as_number", "as_times"]


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
    time : (T,) datetime64 or None
        The time index: the dates of the column ``time_name`` (which stays among the columns, as read).
    time_name : str or None
    lines : (T,) int or None
        The file line each row starts on (CSV files).
    """

    names: tuple[str, ...]
    columns: tuple[np.ndarray, ...]
    source: str
    sha256: str
    time: np.ndarray | None = None
    time_name: str | None = None
    lines: np.ndarray | None = None

    @classmethod
    def from_arrays(cls, data, source: str = "arrays", time: str | int | None = None) -> Table:
        """A table from a dict {name: (T,) array}, or a (T,) or (T, k) array (columns ``column_0``, ...).

        A datetime64 column, or a text column of ISO dates, becomes the time index (``time`` names it)."""
        if isinstance(data, dict):
            names = [str(k) for k in data]
            columns = [np.asarray(v) for v in data.values()]
        else:
            names, columns = _from_array(np.asarray(data), Path(source))
        if not columns or any(c.ndim != 1 or c.shape != columns[0].shape for c in columns) or not len(columns[0]):
            raise ValueError("columns must be non-empty 1-D arrays of one length")
        columns = [c.astype(np.float64) if c.dtype.kind in "fiub" else c.astype(str) for c in columns]
        digest = hashlib.sha256(b"".join(np.ascontiguousarray(c).tobytes() for c in columns)).hexdigest()
        return _find_time(cls(tuple(names), tuple(columns), source, digest), time)

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

    def where(self, row: int) -> str:
        """Where 0-based data row ``row`` is, for a message: "data row 17 (file line 18)"."""
        line = f" (file line {int(self.lines[row])})" if self.lines is not None else ""
        return f"data row {row + 1}{line}"

    def numbers(self, position: int, role: str) -> np.ndarray:
        """Column ``position`` as floats; ValueError naming the first cell that is not a number."""
        column = self.columns[position]
        if column.dtype.kind == "f":
            return column
        for row, cell in enumerate(column):
            if cell.strip() and as_number(cell) is None:
                raise ValueError(f"{self.source}: {role} column {self.names[position]!r}, {self.where(row)}: "
                                 f"{cell[:40]!r} is not a number")
        return np.array([as_number(cell) if cell.strip() else np.nan for cell in column])

    def with_time(self, column: str | int) -> Table:
        """This table with column ``column`` as its time index; ValueError naming the first cell that is not a date
        (ISO text) or, in a column of numbers, not a year."""
        position = self.index(column)
        name, values = self.names[position], self.columns[position]
        try:
            times = dates.years(values) if values.dtype.kind == "f" else dates.parse_times(values)
        except dates.DateError as exc:
            hint = "a column of numbers is read as years, 1000 to 9999" if values.dtype.kind == "f" else \
                f"dates are ISO text: {dates.ISO_EXAMPLES}"
            raise ValueError(f"{self.source}: time column {name!r}, {self.where(exc.index)}: {exc.text!r} is not "
                             f"{exc.what} ({hint})") from None
        if np.isnat(times).all():
            raise ValueError(f"{self.source}: time column {name!r} is empty")
        return replace(self, time=times, time_name=name)


def as_number(text: str) -> float | None:
    """The number a cell holds, or None."""
    try:
        return float(text)
    except ValueError:
        return None


def as_times(column: np.ndarray) -> np.ndarray | None:
    """A text column whose every non-empty cell is an ISO date, as (T,) datetime64; None for any other column."""
    if column.dtype.kind != "U":
        return None
    first = next((cell for cell in column if cell.strip()), None)
    if first is None:
        return None
    try:
        dates.parse_times([first])  # one cell first: most text columns are no dates
        return dates.parse_times(column)
    except dates.DateError:
        return None


def _find_time(table: Table, time: str | int | None) -> Table:
    """The table with its time index: the column ``time``, or the first column of ISO dates, or none."""
    if time is not None:
        return table.with_time(time)
    for name, column in zip(table.names, table.columns, strict=True):
        times = as_times(column)
        if times is not None:
            return replace(table, time=times, time_name=name)
    for name, column in zip(table.names, table.columns, strict=True):
        if name.strip().lower() in TIME_NAMES and column.dtype.kind == "f" and np.isfinite(column).all():
            try:
                times = dates.years(column)
            except dates.DateError:
                continue
            if dates.first_unordered(times) is None:
                return replace(table, time=times, time_name=name)
    return table


TIME_NAMES = ("year", "years", "date", "time", "period")  # headers of a column of years that is the time index


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def labelled_table(X, y=None, source: str = "sequences") -> Table:
    """The long table of labelled sequences (:func:`evolino.tasks.sequences.labelled_columns`): columns
    ``sequence`` (0..n-1), ``channel_0``... and, with ``y``, ``label``."""
    return Table.from_arrays(labelled_columns(X, y), source=source)


def read_table(path: str | os.PathLike, header: bool | None = None, time: str | int | None = None) -> Table:
    """Read a CSV, NPY or NPZ file (by its suffix; anything else is read as CSV).

    CSV: comma-separated; ``header`` None detects a header line; empty cells are missing values, and a blank line
    inside the data is a row of them (see the module docstring). NPY: a (T,) or (T, k) numeric array, columns named
    ``column_0``... NPZ: 1-D arrays of equal length, each a column named by its key, or one 2-D array ``data`` with
    optional names in ``columns``, or labelled sequences: ``X`` (n, T) or (n, channels, T), or ``x_0``, ``x_1``,
    ... of unequal lengths (T_i,) or (T_i, channels), with labels ``y`` (n,), read as the long table of
    :mod:`evolino.tasks.sequences` (columns ``sequence``, ``channel_0``..., ``label``). ``time`` names the column
    of dates (default: the first column of ISO dates).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"data file {str(path)!r} not found" if not path.exists() else f"{path} is not a file")
    suffix = path.suffix.lower()
    lines, marked = None, None
    try:
        if suffix == ".npy":
            names, columns = _from_array(np.load(path, allow_pickle=False), path)
        elif suffix == ".npz":
            names, columns, marked = _from_npz(path)
        else:
            names, columns, lines = _from_csv(path, header)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        message = str(exc)
        raise ValueError(message if message.startswith(str(path)) else f"{path}: {message}") from None
    if not columns or columns[0].shape[0] == 0:
        raise ValueError(f"{path} has no data rows")
    table = Table(tuple(names), tuple(columns), str(path), _hash(path), lines=lines)
    return _find_time(table, time if time is not None else marked)


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
    """(names, columns, the name of the time column evolino's own copy marks, or None)."""
    marked = None
    with np.load(path, allow_pickle=False) as data:
        keys = list(data.files)
        if "data" in keys:
            names = [str(n) for n in data["columns"]] if "columns" in keys else None
            return (*_from_array(data["data"], path, names), None)
        if "y" in keys and ("X" in keys or "x_0" in keys):  # labelled sequences: the long table
            count = sum(1 for k in keys if k.startswith("x_") and k[2:].isdigit())
            sequences = data["X"] if "X" in keys else [data[f"x_{k}"] for k in range(count)]
            columns = labelled_columns(sequences, data["y"])
            return list(columns), list(columns.values()), None
        if "columns" in keys:  # evolino's own copy: column_j arrays named by `columns`
            names = [str(n) for n in data["columns"]]
            columns = [data[f"column_{j}"] for j in range(len(names))]
            marked = str(data["time_name"]) if "time_name" in keys else None
        else:
            names, columns = keys, [data[k] for k in keys]
    for name, column in zip(names, columns, strict=True):
        if column.ndim != 1:
            raise ValueError(f"{path}: array {name!r} must be 1-D (one column), got shape {column.shape}")
        if column.shape != columns[0].shape:
            raise ValueError(f"{path}: columns have different lengths ({name!r}: {column.shape[0]})")
    return names, [c.astype(np.float64) if c.dtype.kind in "fiub" else c.astype(str) for c in columns], marked


# ----------------------------------------------------------------------------------------------------------- CSV


def _blank(row: list[str]) -> bool:
    return not any(cell.strip() for cell in row)


def _text(cells: list[str]) -> np.ndarray:
    return np.char.strip(np.array(cells, dtype=str))


def _column(cells: list[str]) -> np.ndarray:
    """A column's cells as floats (NaN where empty), or as stripped text when a cell is not a number."""
    try:
        return np.array(cells, dtype=np.float64)  # float() of every cell, looped in C: the common case
    except ValueError:
        pass
    text = _text(cells)
    try:
        return np.where(text == "", "nan", text).astype(np.float64)  # empty cells are missing values
    except ValueError:
        pass
    try:  # cell by cell, as float() reads them (numpy's own parser may be stricter); stops at the first word
        return np.array([float(cell) if cell else np.nan for cell in text.tolist()])
    except ValueError:
        return text


def _row_lines(path: Path) -> np.ndarray:
    """The file line each CSV row starts on (for files where a quoted cell spans lines)."""
    starts = []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        end = 0
        for _ in reader:
            starts.append(end + 1)
            end = reader.line_num
    return np.array(starts, dtype=np.int64)


def _from_csv(path: Path, header: bool | None):
    """(names, columns, file line of each row)."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        rows = list(reader)
        one_line_each = reader.line_num == len(rows)
    lines = np.arange(1, len(rows) + 1) if one_line_each else _row_lines(path)
    first = next((i for i, row in enumerate(rows) if not _blank(row)), None)
    if first is None:
        raise ValueError(f"{path} is empty")
    last = next(i for i in range(len(rows) - 1, -1, -1) if not _blank(rows[i]))
    rows = rows[: last + 1]  # blank lines at the end are no rows
    width = len(rows[first])
    lengths = np.fromiter(map(len, rows), dtype=np.intp, count=len(rows))
    for i in np.flatnonzero(lengths != width).tolist():
        if not _blank(rows[i]):
            raise ValueError(f"{path}: line {lines[i]} has {len(rows[i])} cells, the first has {width}")
        rows[i] = [""] * width  # a blank line inside the data: a row of empty cells
    cells = [list(map(itemgetter(j), rows)) for j in range(width)]
    below = [_column(column[first + 1 :]) for column in cells]
    head = [cell.strip() for cell in rows[first]]
    if header is None:
        second = next((i for i in range(first + 1, len(rows)) if not _blank(rows[i])), None)
        header = _looks_like_header(head, None if second is None else rows[second], below, cells, first)
    names = [cell or f"column_{j}" for j, cell in enumerate(head)] if header else \
        [f"column_{j}" for j in range(width)]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: the header repeats a column name")
    if header:
        if first + 1 == len(rows):
            raise ValueError(f"{path} has no data rows")
        return names, below, lines[first + 1 : last + 1]
    columns = []
    for column, values in zip(cells, below, strict=True):
        start = _column(column[: first + 1])  # the rows above `below`
        numbers = start.dtype.kind == "f" and values.dtype.kind == "f"
        columns.append(np.concatenate([start, values]) if numbers else _text(column))
    return names, columns, lines[: last + 1]


def _looks_like_header(head: list[str], second: list[str] | None, below: list, cells: list, first: int) -> bool:
    """A first row is a header when a cell of it is not a number but the cells below it in that column are."""
    if second is None:
        return as_number(head[0]) is None if head else False
    for j, cell in enumerate(head):
        if as_number(cell) is None and below[j].dtype.kind == "f" and not _blank(cells[j][first + 1 :]):
            return True
    return all(as_number(cell) is None for cell in head) and any(as_number(c.strip()) is not None for c in second)


def save_table(table: Table, path: str | os.PathLike, columns: Sequence[int] | None = None) -> Path:
    """Write (some of) a table's columns to an NPZ file that :func:`read_table` reads back as they were; the time
    column, if among them, as ISO text marked as the time index."""
    positions = range(len(table.names)) if columns is None else columns
    arrays = {}
    for k, j in enumerate(positions):
        column = table.columns[j]
        if table.time is not None and table.names[j] == table.time_name:
            column = np.where(np.isnat(table.time), "", np.datetime_as_string(table.time))  # exact, as parsed
            arrays["time_name"] = np.array(table.time_name)
        arrays[f"column_{k}"] = column
    path = Path(path)
    with atomic.atomic_file(path, "wb") as handle:  # atomically: a full disk or a kill leaves no half file
        np.savez(handle, columns=np.array([table.names[j] for j in positions]), **arrays)
    return path
