"""A label per sequence, the scikit-learn way: ``SequenceClassifier().fit(X, y).predict(X)``.

Sequences come as users hold them: a list of (T_i, channels) arrays (unequal lengths allowed), a (n, channels, T)
array (aeon's and sktime's collections) or a (n, T) array of one channel, with a vector of n labels (numbers or
text). :func:`evolino.tasks.table.labelled_table` lays them out as the long table the command line reads (a
``sequence`` column, one column per channel, a ``label`` column), so that :func:`evolino.tasks.data.data_task`
builds the task: a stratified,
seeded split of the sequences into training and validation parts (the validation part chooses the final model, see
:mod:`evolino.labels`), the channels standardised on the training part.

:class:`SequenceClassifier` wraps an :class:`~evolino.trainer.Evolino` (its settings: cells, generations, seed, ...)
and offers ``predict`` (labels), ``predict_proba`` (rows that sum to 1, in the order of ``classes_``) and ``score``
(accuracy: higher is better, as scikit-learn's classifiers define it).

Shapes: X as above; y (n,); probabilities (n, classes).
"""

from __future__ import annotations

import numpy as np

from evolino.per_sequence import PerSequenceEstimator
from evolino.tasks.sequences import _label_text
from evolino.tasks.table import labelled_table

__all__ = ["SequenceClassifier"]


class SequenceClassifier(PerSequenceEstimator):
    """Classify sequences with an evolved LSTM and a least-squares readout (see the module docstring).

    Parameters
    ----------
    estimator : Evolino, optional
        The evolution's settings; default ``Evolino()``.
    validation_fraction : float
        Share of the training sequences kept as the validation part (stratified by class), which chooses the final
        model and calibrates the class probabilities.
    shuffle : bool
        Deal the sequences to the parts shuffled and stratified (True) or in the given order.
    random_state : int
        Seed of that shuffle (the evolution's seed is the estimator's).
    """

    noun = "classifier"

    def fit(self, X, y) -> SequenceClassifier:
        """Evolve a network for the labelled sequences ``X``, ``y``; the fitted model is at ``model_``."""
        labels = np.asarray(y)
        task = self._evolve(labelled_table(X, labels), kind="classify", target="label")
        by_text = {_label_text(v): v for v in labels.tolist()}
        self.classes_ = np.array([by_text[c] for c in task.info["classes"]])
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (n, classes), each row summing to 1, columns in the order of ``classes_``."""
        sequences = self._sequences(X)
        return np.stack([self.model_.predict_proba(s) for s in sequences])

    def predict(self, X) -> np.ndarray:
        """The label (n,) of each sequence: the class of the largest probability."""
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]

    def score(self, X, y) -> float:
        """Accuracy on the labelled sequences ``X``, ``y`` (higher is better)."""
        return float(np.mean(self.predict(X) == np.asarray(y)))
