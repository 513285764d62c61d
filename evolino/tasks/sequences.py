"""Labelled sequences as users hold them, laid out as the long table the command line reads.

Sequences: a list of (T_i,) or (T_i, channels) arrays (unequal lengths allowed), a (n, channels, T) array (aeon's and
sktime's collections) or a (n, T) array of one channel; labels: a vector of n numbers or texts. The long table has a
``sequence`` column (0..n-1), one column per channel (``channel_0``, ...) and a ``label`` column (each sequence's
label on every row), which :func:`evolino.tasks.data.data_task` reads with ``kind="classify", sequence="sequence",
target="label"``. An NPZ file of arrays ``X`` (or ``x_0``, ``x_1``, ... for unequal lengths) and ``y`` is read as
that table (:func:`evolino.tasks.table.read_table`); :func:`evolino.tasks.table.labelled_table` builds it from
arrays.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_sequences", "labelled_columns"]


def as_sequences(X) -> list[np.ndarray]:
    """Sequences as a list of (T_i, channels) float arrays from a list of (T_i,) / (T_i, channels) arrays, a (n, T)
    array (one channel) or a (n, channels, T) array."""
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 2:
            return [np.asarray(row, dtype=np.float64)[:, None] for row in X]
        if X.ndim == 3:
            return [np.asarray(item, dtype=np.float64).T for item in X]
        raise ValueError(f"sequences as an array must be (n, T) or (n, channels, T), got shape {X.shape}")
    sequences = []
    for k, item in enumerate(X):
        array = np.asarray(item, dtype=np.float64)
        array = array[:, None] if array.ndim == 1 else array
        if array.ndim != 2 or array.shape[0] == 0:
            raise ValueError(f"sequence {k} must be a non-empty (T,) or (T, channels) array, got shape {array.shape}")
        sequences.append(array)
    if not sequences:
        raise ValueError("no sequences")
    if len({s.shape[1] for s in sequences}) != 1:
        raise ValueError("every sequence must have the same number of channels")
    return sequences


def labelled_columns(X, y=None) -> dict[str, np.ndarray]:
    """The columns of the long table of labelled sequences, by name: ``sequence`` (0..n-1), ``channel_0``... and,
    with ``y``, ``label`` (each sequence's label on every row); :func:`evolino.tasks.table.labelled_table` makes
    them a table."""
    sequences = as_sequences(X)
    ids = np.concatenate([np.full(s.shape[0], k, dtype=np.float64) for k, s in enumerate(sequences)])
    stacked = np.concatenate(sequences)
    columns = {"sequence": ids, **{f"channel_{j}": stacked[:, j] for j in range(stacked.shape[1])}}
    if y is not None:
        labels = np.asarray(y)
        if labels.shape != (len(sequences),):
            raise ValueError(f"y must hold one label per sequence ({len(sequences)}), got shape {labels.shape}")
        text = np.array([_label_text(v) for v in labels])
        columns["label"] = np.concatenate([np.full(s.shape[0], t) for s, t in zip(sequences, text, strict=True)])
    return columns


def _label_text(value) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


