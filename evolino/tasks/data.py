"""Tasks from your own data: a :class:`~evolino.tasks.table.Table` (read from CSV, NPY or NPZ by
:func:`~evolino.tasks.table.read_table`) becomes a :class:`Task`.

Idea. :func:`data_task` picks target and input columns (by name or 0-based index), cuts the rows into train /
validation / test, fills gaps only where asked and only from the part they are in, and builds a task of one of four
kinds:

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

Layout. Columns are chosen (:func:`_choose_columns`), read as arrays, cut into pieces (one per sequence; a series is
one piece, and ``predict`` pairs the values at t with the targets at t + horizon), the pieces split into parts, and
each part's pieces become :class:`SequencePair` s, gaps filled within the piece when ``missing="interpolate"``.

Rows with the same value in the ``sequence`` column, consecutive, form one sequence; sequences are independent (each
starts from a zero state after the washout) and the split counts sequences. Without it the file is one series,
split by steps, and each part continues the previous one.

Missing values (empty or NaN cells) of ``generate`` and ``predict`` targets are an error by default, naming the first
row. ``missing="interpolate"`` fills them linearly inside each of train / validation / test on its own (a gap at a
part's edge takes the part's nearest value), so that no part is filled from another's values; the filled steps are
marked (``SequencePair.filled``): fed back as the series' value, but never fitted by the readout, never scored, and
left out of the standardisation.

Dates. The table's time index (a column of dates, or ``time``) is never a target or an input. Its dates must
increase (within each sequence); ``task.info["time"]`` records the column, the frequency's name and season length
(:func:`evolino.tasks.dates.infer_frequency`, None when irregular) and the first and last date as ISO text, or is
None without dates.

Defaults: split 0.7 / 0.15 / 0.15; washout min(50, a tenth of the training part) for a series, 0 for sequences;
per-column standardisation fitted on the training part (classification labels are left alone); for ``generate``,
five validation free runs each as long as the test part. Every problem with the data raises ValueError with one line
that names the file and the column (and the row, where there is one).

Shapes. A table column is (T,); the targets of a task with m target columns are (T, m) per sequence, its inputs
(T, k); ``predict`` tasks have T - horizon steps per sequence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evolino.tasks import dates
from evolino.tasks.base import SequencePair, Task
from evolino.tasks.table import Table, as_number, as_times, read_table, save_table

__all__ = ["Table", "read_table", "data_task", "KINDS", "DEFAULT_SPLIT", "save_table"]

KINDS = ("generate", "predict", "map", "classify")
DEFAULT_SPLIT = (0.7, 0.15, 0.15)
DEFAULT_VALIDATION_WINDOWS = 5
PARTS = ("train", "validation", "test")


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
    time: str | int | None = None,
    shuffle: bool | None = None,
    split_seed: int = 0,
    test: Table | None = None,
) -> Task:
    """A :class:`Task` of the given kind from a table (see the module docstring for the kinds and defaults).

    Parameters
    ----------
    table : Table, dict of (T,) arrays, or a (T,) / (T, k) array
        The data (:func:`read_table` reads a file; arrays become columns ``column_0``, ...).
    target, inputs : column names or 0-based indices
        ``target`` defaults to every column not otherwise used (and not dates) for ``generate`` and ``predict``; it
        is required for ``map`` and ``classify`` (one label column), whose ``inputs`` default to every other column
        (not the sequence column, nor dates).
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
        Empty target cells of ``generate`` / ``predict``: an error naming the first, or filled by linear
        interpolation within each part, the filled steps marked so that they are neither fitted nor scored.
    validation_windows, free_run_steps : int, optional
        ``generate``: free runs per validation part and their length.
    name : str, optional
        Task name (default: the file's stem).
    time : column, optional
        The column of dates (default: the table's time index, if it has one).
    shuffle : bool, optional
        Sequences (``sequence`` given): deal them to the parts in a shuffled order, stratified by class for
        ``classify`` (every class in every part in proportion), from a Generator seeded with ``split_seed``. Default:
        True for ``classify``, False otherwise (file order, for data where order matters).
    split_seed : int
        Seed of that shuffle.
    test : Table, optional
        A separate file's sequences (the same columns, by name) as the test part: the table is then split into
        training and validation parts only, in the proportion of ``split``'s first two numbers (or its counts).
    """
    if not isinstance(table, Table):
        table = Table.from_arrays(table)
    _check_choices(kind, missing, horizon)
    test_source = None if test is None else test.source
    if test is not None:
        if sequence is None:
            raise ValueError(f"{table.source}: a separate test file (--test) needs sequences (--sequence COL)")
        table, test_rows = _with_test(table, test, sequence)
    else:
        test_rows = 0
    table, time_pos = _time_index(table, time, target, inputs, sequence)
    columns = _choose_columns(table, kind, target, inputs, sequence, time_pos)
    y, u, target_names, classes = _column_arrays(table, kind, columns, missing)
    bounds = _sequence_bounds(table, columns.sequence)
    time_info = _time_info(table, time_pos, bounds)
    input_names = [table.names[j] for j in columns.inputs]
    pieces, input_names = _pieces(kind, y, u, bounds, horizon, target_names, input_names)
    tested = sum(1 for start in bounds[:-1] if start >= table.rows - test_rows) if test_rows else 0
    shuffle = (kind == "classify") if shuffle is None else bool(shuffle)
    parts, sizes, washout = _split_pieces(pieces, columns.sequence is not None, split, washout, table.source, kind,
                                          shuffle, split_seed, tested)
    notes = _check_classes(parts, classes, table.source) if kind == "classify" and columns.sequence is not None \
        else []
    fill = kind in ("generate", "predict")
    train, validation, test = ([_pair(p, fill, table.source, part, target_names, input_names) for p in pieces]
                               for part, pieces in zip(PARTS, parts, strict=True))
    unit = "sequences" if columns.sequence is not None else "steps"
    generate = kind == "generate"
    if generate:
        validation_windows, free_run_steps = _free_run_protocol(validation, test, u is not None, validation_windows,
                                                                free_run_steps)
    description = (f"{kind} {', '.join(target_names)}" + (f" from {', '.join(input_names)}" if input_names else "")
                   + (f" {horizon} step(s) ahead" if kind == "predict" else "")
                   + f"; {Path(table.source).name}, {'/'.join(map(str, sizes))} {unit} train/validation/test"
                   + (f", {time_info['frequency'] or 'irregular'} dates {time_info['first']} to {time_info['last']}"
                      if time_info else ""))
    info = {"kind": kind, "source": table.source, "sha256": table.sha256,
            "horizon": horizon if kind == "predict" else None, "split": list(sizes), "split_unit": unit,
            "classes": classes, "columns": columns.names(table), "time": time_info,
            "filled": [sum(0 if p.filled is None else int(p.filled.sum()) for p in part)
                       for part in (train, validation, test)] if fill else None,
            "shuffled": bool(shuffle and columns.sequence is not None), "split_seed": int(split_seed),
            "test_file": None if test_rows == 0 else test_source, "warnings": notes}
    task = Task(
        name=name or Path(table.source).stem, train=train, validation=validation, test=test, washout=washout,
        generative=generate, metric=metric or ("mse" if kind == "classify" else "nrmse"), description=description,
        info=info, continued=columns.sequence is None,
        forecast_horizon=horizon if kind in ("generate", "predict") else None,
        validation_windows=validation_windows if generate else 1, free_run_steps=free_run_steps if generate else None,
        input_names=input_names, target_names=target_names,
    )
    if not scale:
        return task
    try:
        return task.standardized(scale_targets=kind != "classify")
    except ValueError as exc:  # a constant column: name the file and the flags that fix it
        raise ValueError(_constant_column_message(str(exc), table.source)) from None


def _constant_column_message(message: str, source: str) -> str:
    """The standardiser's one line about a constant column, with the file and the flags that fix it."""
    if "is constant on the training part" not in message:
        return f"{source}: {message}"
    flag = "--inputs COL ... (naming the others)" if message.startswith("input") else "--target COL (another one)"
    fixes = f"(leave it out: {flag}; or turn scaling off: --no-scale, task.scale = false)"
    return f"{source}: " + message.replace("(drop it, or turn scaling off)", fixes)


def _check_choices(kind: str, missing: str, horizon) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown task kind {kind!r}; choose one of {', '.join(KINDS)}")
    if missing not in ("error", "interpolate"):
        raise ValueError(f'missing must be "error" or "interpolate", got {missing!r}')
    if not isinstance(horizon, int) or isinstance(horizon, bool) or horizon < 1:
        raise ValueError(f"horizon must be an integer >= 1, got {horizon!r}")


# ------------------------------------------------------------------------------------------------ columns, dates


@dataclass(frozen=True)
class _Columns:
    """Positions of the target, input, sequence and time columns in a table."""

    targets: list[int]
    inputs: list[int]
    sequence: int | None
    time: int | None = None

    def names(self, table: Table) -> dict:
        def name(position):
            return None if position is None else table.names[position]

        return {"targets": [table.names[j] for j in self.targets], "inputs": [table.names[j] for j in self.inputs],
                "sequence": name(self.sequence), "time": name(self.time)}


def _time_index(table: Table, time, target, inputs, sequence) -> tuple[Table, int | None]:
    """The table with the time index the task uses, and its position (None without one).

    ``time`` names it explicitly (it must hold dates, and may not be used otherwise). The table's own time index (the
    first column of dates) is dropped when that column is named as the sequence column: dates may mark sequences.
    """
    named = {table.index(c): role for role, given in (("target", target), ("input", inputs))
             for c in _as_list(given)}
    if sequence is not None:
        named.setdefault(table.index(sequence), "sequence")
    if time is not None:
        position = table.index(time)
        if table.time_name != table.names[position]:
            table = table.with_time(position)
    elif table.time is not None:
        position = table.names.index(table.time_name)
        if named.get(position) == "sequence":
            return table, None
    else:
        return table, None
    if position in named:
        raise ValueError(f"{table.source}: column {table.names[position]!r} holds the dates (the time index); it "
                         f"cannot also be the {named[position]} column")
    return table, position


def _time_info(table: Table, position: int | None, bounds: list[int]) -> dict | None:
    """``task.info["time"]``; ValueError naming the row where a date is empty, repeats or goes back."""
    if position is None:
        return None
    times, column = table.time, table.names[position]
    empty = np.isnat(times)
    if empty.any():
        raise ValueError(f"{table.source}: time column {column!r} is empty at {table.where(int(np.argmax(empty)))}; "
                         "every row needs its date")
    found = set()
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        bad = dates.first_unordered(times[a:b])
        if bad is not None:
            row = a + bad
            now, before = str(np.datetime_as_string(times[row])), str(np.datetime_as_string(times[row - 1]))
            what = f"repeats {now!r}" if now == before else f"goes back to {now!r} after {before!r}"
            raise ValueError(f"{table.source}: time column {column!r} {what} at {table.where(row)}; dates must "
                             "increase" + (" within each sequence" if len(bounds) > 2 else ""))
        if b - a > 1:
            found.add(dates.infer_frequency(times[a:b]))
    frequency = found.pop() if len(found) == 1 else None
    return {"column": column, "frequency": None if frequency is None else frequency.name,
            "season": None if frequency is None else frequency.season,
            "first": str(np.datetime_as_string(times[0])), "last": str(np.datetime_as_string(times[-1]))}


def _choose_columns(table: Table, kind: str, target, inputs, sequence, time: int | None) -> _Columns:
    source = table.source
    input_pos = [table.index(c) for c in _as_list(inputs)]
    sequence_pos = None if sequence is None else table.index(sequence)
    used = set(input_pos) | ({sequence_pos} if sequence_pos is not None else set())
    if target is None:
        if kind in ("map", "classify"):
            raise ValueError(f"{source}: a {kind} task needs its target column(s) named (--target COL)")
        # every other column, but no dates: a second column of dates is no target either
        target_pos = [j for j in range(len(table.names)) if j not in used and j != time
                      and as_times(table.columns[j]) is None]
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
    if inputs is None and kind in ("map", "classify"):  # every other column (no dates) is an input
        taken = set(target_pos) | used | ({time} if time is not None else set())
        input_pos = [j for j in range(len(table.names)) if j not in taken and as_times(table.columns[j]) is None]
    return _Columns(target_pos, input_pos, sequence_pos, time)


def _column_arrays(table: Table, kind: str, columns: _Columns, missing: str):
    """(targets (T, m), inputs (T, k) or None, target names, classes or None) of the chosen columns; targets are NaN
    where a cell is empty."""
    source = table.source
    u = np.stack([table.numbers(j, "input") for j in columns.inputs], axis=1) if columns.inputs else None
    if u is not None and not np.isfinite(u).all():
        bad = ~np.isfinite(u)
        row, j = (int(k) for k in np.argwhere(bad)[0])
        raise ValueError(f"{source}: input column {table.names[columns.inputs[j]]!r} has missing or non-finite "
                         f"values, the first at {table.where(row)}")
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
    if kind in ("generate", "predict") and missing == "error":
        _refuse_gaps(table, y, target_names)
    return y, u, target_names, None


def _refuse_gaps(table: Table, y: np.ndarray, names: list[str]) -> None:
    """One line naming the first empty target cell and how many more rows have one."""
    gaps = np.isnan(y)
    rows = np.flatnonzero(gaps.any(axis=1))
    if not rows.size:
        return
    first = int(rows[0])
    column = names[int(np.argmax(gaps[first]))]
    more = f" and in {rows.size - 1} more row{'s' if rows.size > 2 else ''}" if rows.size > 1 else ""
    raise ValueError(f"{table.source}: target column {column!r} is empty at {table.where(first)}{more}; fill "
                     f"{'them' if more else 'it'}, or let evolino interpolate (--missing interpolate)")


# ------------------------------------------------------------------------------------------- pieces and parts


@dataclass(frozen=True, eq=False)
class _Piece:
    """Steps of one sequence before they become a :class:`SequencePair`: targets (T, m) and inputs (T, k) or None,
    NaN where a cell is empty."""

    targets: np.ndarray
    inputs: np.ndarray | None

    @property
    def steps(self) -> int:
        return self.targets.shape[0]

    def cut(self, start: int, stop: int) -> _Piece:
        return _Piece(self.targets[start:stop], None if self.inputs is None else self.inputs[start:stop])


def _pieces(kind: str, y: np.ndarray, u: np.ndarray | None, bounds: list[int], horizon: int, target_names,
            input_names) -> tuple[list[_Piece], list[str]]:
    """One piece per sequence for the kind, and the input column names the network sees."""
    pieces = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if kind == "predict":
            if b - a <= horizon:
                raise ValueError(f"a sequence of {b - a} steps is too short to predict {horizon} step(s) ahead")
            seen = y[a : b - horizon] if u is None else np.concatenate([y[a : b - horizon], u[a : b - horizon]], 1)
            pieces.append(_Piece(y[a + horizon : b], seen))
        else:
            pieces.append(_Piece(y[a:b], None if u is None else u[a:b]))
    names = [*target_names, *input_names] if kind == "predict" else list(input_names)
    return pieces, names


def _split_pieces(pieces: list[_Piece], sequences: bool, split, washout: int | None, source: str, kind: str,
                  shuffle: bool = False, seed: int = 0, tested: int = 0):
    """((train, validation, test) lists of pieces, their sizes, washout): a series cut by steps, or sequences dealt
    out in file order or shuffled (stratified by class for classify); the last ``tested`` sequences (a separate
    test file's) are the test part, the others split into training and validation parts."""
    unit = "sequences" if sequences else "steps"
    if tested:
        own = pieces[: len(pieces) - tested]
        values = list(split)
        fractions = values[:2] if not all(float(v).is_integer() for v in values) or sum(values) <= 1 else None
        if fractions is not None:
            total = sum(fractions)
            if not total > 0:
                raise ValueError(f"split {values} leaves no training or validation part beside the test file")
            shares = (fractions[0] / total, fractions[1] / total, 0.0)
        else:
            shares = (values[0], values[1], 0)
        sizes = (*_split_sizes(shares, len(own), unit, source)[:2], tested)
    else:
        sizes = _split_sizes(split, len(pieces) if sequences else pieces[0].steps, unit, source)
    n_train, n_val, _ = sizes
    if n_train < 1:
        raise ValueError(f"{source}: the split leaves no training {unit}")
    if kind == "generate" and n_val < 1:
        raise ValueError(f"{source}: a generate task needs validation steps (split {list(split)})")
    if sequences:
        order = _deal(pieces, sizes, kind, shuffle, seed, tested)
        parts = tuple([pieces[i] for i in part] for part in order)
        washout = 0 if washout is None else washout
    else:
        cuts = np.cumsum([0, *sizes])
        parts = tuple([pieces[0].cut(a, b)] if b > a else [] for a, b in zip(cuts[:-1], cuts[1:], strict=True))
        washout = min(50, n_train // 10) if washout is None else washout
    if not isinstance(washout, int) or isinstance(washout, bool) or washout < 0:
        raise ValueError(f"washout must be an integer >= 0, got {washout!r}")
    shortest = min(p.steps for p in parts[0])
    if shortest <= washout:
        raise ValueError(f"{source}: the training part has {shortest} steps, fewer than the washout + 1 "
                         f"({washout + 1})")
    return parts, sizes, washout


def _deal(pieces: list[_Piece], sizes, kind: str, shuffle: bool, seed: int, tested: int) -> tuple[list, list, list]:
    """Indices of the sequences of each part: in file order, or shuffled (stratified by the class at each sequence's
    last row for classify: every class dealt to the parts in proportion, the remainders to the parts with the
    largest shares left); each part in file order."""
    own = len(pieces) - tested
    if not shuffle:
        cuts = np.cumsum([0, *sizes])
        return tuple(list(range(int(a), int(b))) for a, b in zip(cuts[:-1], cuts[1:], strict=True))
    rng = np.random.default_rng(seed)
    dealt_sizes = np.array(sizes[:2] if tested else sizes, dtype=float)
    if kind == "classify":
        labels = np.array([int(np.nanargmax(p.targets[-1])) if np.isfinite(p.targets[-1]).all() else -1
                           for p in pieces[:own]])
    else:
        labels = np.zeros(own, dtype=int)
    groups = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    ideal = np.array([[len(g) * s / own for s in dealt_sizes] for g in groups])
    counts = np.floor(ideal).astype(int)
    left_parts = dealt_sizes.astype(int) - counts.sum(axis=0)
    left_groups = np.array([len(g) for g in groups]) - counts.sum(axis=1)
    for flat in np.argsort(-(ideal - counts), axis=None, kind="stable"):
        c, p = divmod(int(flat), len(dealt_sizes))
        if left_groups[c] and left_parts[p]:
            counts[c, p] += 1
            left_groups[c] -= 1
            left_parts[p] -= 1
    for c in np.flatnonzero(left_groups):  # what the shares could not place (rounding): the largest part left
        for _ in range(left_groups[c]):
            p = int(np.argmax(left_parts))
            counts[c, p] += 1
            left_parts[p] -= 1
    parts = [[] for _ in dealt_sizes]
    for group, row in zip(groups, counts, strict=True):
        cuts = np.cumsum([0, *row])
        for p in range(len(dealt_sizes)):
            parts[p] += group[cuts[p] : cuts[p + 1]].tolist()
    parts = [sorted(part) for part in parts]
    if tested:
        parts.append(list(range(own, len(pieces))))
    return tuple(parts)


def _check_classes(parts, classes: list[str], source: str) -> list[str]:
    """ValueError when a class has no training sequence; the notes of parts that lack a class."""
    def present(part):
        return {int(np.nanargmax(p.targets[-1])) for p in part if np.isfinite(p.targets[-1]).all()}

    training = present(parts[0])
    missing = [classes[k] for k in range(len(classes)) if k not in training]
    if missing:
        raise ValueError(f"{source}: class {missing[0]!r} has no training sequence"
                         + (f" (nor {len(missing) - 1} more)" if len(missing) > 1 else "")
                         + "; the split must leave every class some training sequences")
    notes = []
    for name, part in zip(("validation", "test"), parts[1:], strict=True):
        lacking = [classes[k] for k in range(len(classes)) if part and k not in present(part)]
        if lacking:
            notes.append(f"the {name} part has no sequence of class {', '.join(map(repr, lacking[:5]))}"
                         + (" and more" if len(lacking) > 5 else ""))
    return notes


def _with_test(table: Table, test: Table, sequence) -> tuple[Table, int]:
    """The table with a test file's rows after its own (the same columns, by name; the test file's sequence ids
    kept apart from the table's), and how many rows came from the test file."""
    missing = [name for name in table.names if name not in test.names]
    if missing:
        raise ValueError(f"{test.source}: the test file lacks column {missing[0]!r} of {table.source}")
    columns = []
    for name, column in zip(table.names, table.columns, strict=True):
        other = test.columns[test.names.index(name)]
        if name == (table.names[sequence] if isinstance(sequence, int) else sequence):
            column, other = column.astype(str), np.char.add("test:", other.astype(str))
        elif column.dtype.kind != other.dtype.kind:
            column, other = column.astype(str), other.astype(str)
        columns.append(np.concatenate([column, other]))
    joined = Table(table.names, tuple(columns), table.source, table.sha256 + test.sha256[:16],
                   time=None if table.time is None or test.time is None else np.concatenate([table.time, test.time]),
                   time_name=table.time_name)
    return joined, test.rows


def _pair(piece: _Piece, fill: bool, source: str, part: str, target_names, input_names) -> SequencePair:
    """The piece as a SequencePair; with ``fill``, its gaps interpolated from its own values and marked filled."""
    if not fill:
        return SequencePair(piece.targets, piece.inputs)
    filled = np.isnan(piece.targets).any(axis=1)
    targets = _interpolate(piece.targets, source, part, "target", target_names)
    inputs = None if piece.inputs is None else _interpolate(piece.inputs, source, part, "input", input_names)
    return SequencePair(targets, inputs, filled=filled if filled.any() else None)


def _interpolate(values: np.ndarray, source: str, part: str, role: str, names) -> np.ndarray:
    """(T, k) with every NaN replaced linearly from the known values of its column (the nearest one at the edges)."""
    gaps = np.isnan(values)
    if not gaps.any():
        return values
    filled = values.copy()
    steps = np.arange(values.shape[0])
    for j in np.flatnonzero(gaps.any(axis=0)):
        known = ~gaps[:, j]
        if not known.any():
            raise ValueError(f"{source}: {role} column {names[j]!r} has no values in the {part} part, so there is "
                             "nothing to interpolate from there")
        filled[:, j] = np.interp(steps, steps[known], values[known, j])
    return filled


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
    classes = sorted(set(labels[present].tolist()), key=lambda c: (as_number(c) is None, as_number(c) or 0, c))
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


def sequence_bounds(table: Table, position: int | None) -> list[int]:
    """Row boundaries [0, ..., rows] of the sequences: consecutive rows with equal values in column ``position``
    form one (the whole table without a sequence column)."""
    return _sequence_bounds(table, position)


def _sequence_bounds(table: Table, position: int | None) -> list[int]:
    """Row boundaries [0, ..., rows] of the sequences (one sequence without a sequence column)."""
    if position is None:
        return [0, table.rows]
    ids = table.columns[position]
    change = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    return [0, *change.tolist(), table.rows]
