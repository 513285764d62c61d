"""Per-column standardisation fitted on the training part only: the map between original and model units.

A network sees ``z = (x - mean) / std`` for every input and target column, with mean and standard deviation taken
over the training sequences (for targets, the steps that have a measured target: filled-in gaps are left out, so
that interpolated values do not shrink the spread). Validation and test data are mapped with
the same numbers, so nothing about them leaks into the fit. The model stores the map, so ``predict`` and ``generate``
take and return original units.

Targets of classification tasks (one-hot or 0/1 labels) are left as they are (``scale_targets=False``): the 0.5
threshold and the argmax are meant in label units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Standardizer"]


def _column_stats(arrays: list[np.ndarray], what: str, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    stacked = np.concatenate(arrays, axis=0)
    mean = np.nanmean(stacked, axis=0)
    std = np.nanstd(stacked, axis=0)
    for j, s in enumerate(std):
        if not s > 0:
            name = f"{what} column {names[j]!r}" if j < len(names) else f"{what} column {j}"
            raise ValueError(f"{name} is constant on the training part, so it cannot be standardised "
                             "(drop it, or turn scaling off)")
    return mean, std


@dataclass(frozen=True)
class Standardizer:
    """Affine per-column maps of inputs and targets to model units.

    Attributes
    ----------
    input_mean, input_std : (n_inputs,)
    target_mean, target_std : (n_outputs,)
        Zeros and ones for columns that are not scaled.
    """

    input_mean: np.ndarray
    input_std: np.ndarray
    target_mean: np.ndarray
    target_std: np.ndarray

    @classmethod
    def fit(cls, train, scale_targets: bool = True, input_names: Sequence[str] = (),
            target_names: Sequence[str] = ()) -> Standardizer:
        """Fit on training :class:`~evolino.tasks.SequencePair` s (targets (T, m) NaN where missing; filled steps
        are ignored); ValueError names a constant column."""
        m = train[0].targets.shape[1]
        if scale_targets:
            measured = [p.targets if p.filled is None else p.targets[~p.filled] for p in train]
            target_mean, target_std = _column_stats(measured, "target", target_names)
        else:
            target_mean, target_std = np.zeros(m), np.ones(m)
        if train[0].inputs is None:
            input_mean, input_std = np.zeros(0), np.ones(0)
        else:
            input_mean, input_std = _column_stats([p.inputs for p in train], "input", input_names)
        return cls(input_mean, input_std, target_mean, target_std)

    def inputs_to_model(self, inputs: np.ndarray | None) -> np.ndarray | None:
        return None if inputs is None else (inputs - self.input_mean) / self.input_std

    def targets_to_model(self, targets: np.ndarray) -> np.ndarray:
        return (targets - self.target_mean) / self.target_std

    def targets_to_original(self, values: np.ndarray) -> np.ndarray:
        """Model-unit outputs (..., m) -> original units."""
        return values * self.target_std + self.target_mean

    def to_dict(self) -> dict:
        return {name: getattr(self, name).tolist() for name in ("input_mean", "input_std", "target_mean",
                                                                 "target_std")}

    @classmethod
    def from_dict(cls, data: dict) -> Standardizer:
        return cls(**{name: np.asarray(data[name], dtype=np.float64) for name in ("input_mean", "input_std",
                                                                                 "target_mean", "target_std")})

    def __eq__(self, other) -> bool:
        return isinstance(other, Standardizer) and all(
            np.array_equal(getattr(self, k), getattr(other, k))
            for k in ("input_mean", "input_std", "target_mean", "target_std"))

    __hash__ = None
