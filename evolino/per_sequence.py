"""What the estimators of one answer per sequence share: the split, the evolution and the checks of new sequences.

:class:`evolino.classifier.SequenceClassifier` (a label per sequence) and :class:`evolino.regressor.SequenceRegressor`
(a number per sequence) lay the sequences out as a long table (a ``sequence`` column, one column per channel, the
answer on the rows it is scored on), then :meth:`PerSequenceEstimator._evolve` builds the task from it: a seeded
split of the sequences into training and validation parts (``validation_fraction``; shuffled unless ``shuffle`` is
False), evolution with the :class:`~evolino.trainer.Evolino` settings given, and the fitted attributes ``estimator_``,
``model_``, ``result_``, ``task_`` and ``n_features_in_`` (channels). New sequences are read by
:meth:`PerSequenceEstimator._sequences`, which checks their channels against the fit.

Shapes: X as :func:`evolino.tasks.sequences.as_sequences` reads it (a list of (T_i, channels) arrays, a
(n, channels, T) or a (n, T) array); the answers (n,).
"""

from __future__ import annotations

import numpy as np

from evolino.errors import NotFittedError
from evolino.params import ParamsMixin
from evolino.tasks.base import Task
from evolino.tasks.data import data_task
from evolino.tasks.sequences import as_sequences
from evolino.tasks.table import Table
from evolino.trainer import Evolino

__all__ = ["PerSequenceEstimator"]


class PerSequenceEstimator(ParamsMixin):
    """Base of the estimators of one answer per sequence (see the module docstring); subclasses say their ``noun``
    for messages and implement ``fit``, ``predict`` and ``score``."""

    noun = "estimator"

    def __init__(self, estimator: Evolino | None = None, validation_fraction: float = 0.2, shuffle: bool = True,
                 random_state: int = 0) -> None:
        self.estimator = estimator
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state

    def _evolve(self, table: Table, kind: str, target: str) -> Task:
        """Split the long ``table`` (its answer in column ``target``), evolve on it, set the fitted attributes."""
        fraction = float(self.validation_fraction)
        if not 0 < fraction < 1:
            raise ValueError(f"validation_fraction must be between 0 and 1, got {self.validation_fraction!r}")
        inputs = [name for name in table.names if name.startswith("channel_")]
        task = data_task(table, kind=kind, sequence="sequence", target=target, inputs=inputs,
                         split=(1.0 - fraction, fraction, 0.0), shuffle=bool(self.shuffle),
                         split_seed=int(self.random_state), name="sequences")
        estimator = Evolino(**({} if self.estimator is None else self.estimator.get_params()))
        estimator.fit(task)
        self.estimator_, self.model_, self.result_, self.task_ = estimator, estimator.model_, estimator.result_, task
        self.n_features_in_ = len(inputs)
        return task

    def _sequences(self, X) -> list[np.ndarray]:
        """New sequences as (T_i, channels) arrays, after checking that this estimator is fitted, on as many
        channels."""
        if not hasattr(self, "model_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(X, y) first")
        sequences = as_sequences(X)
        if sequences[0].shape[1] != self.n_features_in_:
            raise ValueError(f"the {self.noun} was fitted on {self.n_features_in_} channel(s), X has "
                             f"{sequences[0].shape[1]}")
        return sequences
