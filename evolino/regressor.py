"""A number per sequence, the scikit-learn way: ``SequenceRegressor().fit(X, y).predict(X)``.

The sibling of :class:`evolino.classifier.SequenceClassifier` for a real-valued target. Sequences come as users hold
them (a list of (T_i, channels) arrays of unequal lengths, a (n, channels, T) array as aeon and sktime hold
collections, or a (n, T) array of one channel) with a vector of n numbers. :func:`valued_table` lays them out as a
long table whose ``target`` column holds each sequence's number at its last row and is empty elsewhere, so that
:func:`evolino.tasks.data.data_task` builds a ``map`` task scored at the last step of every sequence only. That is a
sequence-labelling task (:func:`evolino.labels.is_sequence_labelling`), so evolution and the final choice are those
of classification: the readout reads pools of the cells over each sequence, the fitness is its leave-one-out error
over the training sequences, and the validation part chooses among the pools, the ridge strengths and the training
mean (the regression counterpart of the class frequencies). The split is seeded and shuffled, not stratified.

``score`` is the coefficient of determination R^2 (higher is better), as scikit-learn's regressors define it.

Shapes: X as above; y (n,); predictions (n,).
"""

from __future__ import annotations

import numpy as np

from evolino.per_sequence import PerSequenceEstimator
from evolino.tasks.sequences import as_sequences, labelled_columns
from evolino.tasks.table import Table

__all__ = ["SequenceRegressor", "valued_table", "r2_score"]


def valued_table(X, y, source: str = "sequences") -> Table:
    """The long table of sequences with a number each: columns ``sequence`` (0..n-1), ``channel_0``... and
    ``target`` (the sequence's number at its last row, NaN on the others)."""
    sequences = as_sequences(X)
    values = np.asarray(y, dtype=np.float64)
    if values.shape != (len(sequences),):
        raise ValueError(f"y must hold one number per sequence ({len(sequences)}), got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError("y must be finite numbers")
    target = np.concatenate([np.r_[np.full(s.shape[0] - 1, np.nan), v] for s, v in zip(sequences, values,
                                                                                      strict=True)])
    return Table.from_arrays({**labelled_columns(sequences), "target": target}, source=source)


def r2_score(y_true, y_pred) -> float:
    """The coefficient of determination 1 - SS_res / SS_tot, as :func:`sklearn.metrics.r2_score` computes it for one
    output (a constant target: 1.0 if predicted exactly, else 0.0)."""
    truth, predicted = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    residual = float(np.sum((truth - predicted) ** 2))
    total = float(np.sum((truth - truth.mean()) ** 2))
    if total == 0.0:
        return 1.0 if residual == 0.0 else 0.0
    return 1.0 - residual / total


class SequenceRegressor(PerSequenceEstimator):
    """Predict a number per sequence with an evolved LSTM and a least-squares readout (see the module docstring).

    Parameters
    ----------
    estimator : Evolino, optional
        The evolution's settings; default ``Evolino()``.
    validation_fraction : float
        Share of the training sequences kept as the validation part, which chooses the final model.
    shuffle : bool
        Deal the sequences to the parts shuffled (True) or in the given order (the last ones validate).
    random_state : int
        Seed of that shuffle (the evolution's seed is the estimator's).
    """

    noun = "regressor"

    def fit(self, X, y) -> SequenceRegressor:
        """Evolve a network for the sequences ``X`` and their numbers ``y``; the fitted model is at ``model_``."""
        self._evolve(valued_table(X, y), kind="map", target="target")
        return self

    def predict(self, X) -> np.ndarray:
        """The number (n,) of each sequence: the readout's output at its last step, in the units of ``y``."""
        sequences = self._sequences(X)
        return np.array([self.model_.predict(inputs=s)[-1, 0] for s in sequences])

    def score(self, X, y) -> float:
        """R^2 of the predictions of ``X`` against ``y`` (higher is better; 1 is perfect)."""
        return r2_score(y, self.predict(X))
