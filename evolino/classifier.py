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

from evolino.errors import NotFittedError
from evolino.params import ParamsMixin
from evolino.tasks.data import data_task
from evolino.tasks.sequences import _label_text, as_sequences
from evolino.tasks.table import labelled_table
from evolino.trainer import Evolino

__all__ = ["SequenceClassifier"]


class SequenceClassifier(ParamsMixin):
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

    def __init__(self, estimator: Evolino | None = None, validation_fraction: float = 0.2, shuffle: bool = True,
                 random_state: int = 0) -> None:
        self.estimator = estimator
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state

    def fit(self, X, y) -> SequenceClassifier:
        """Evolve a network for the labelled sequences ``X``, ``y``; the fitted model is at ``model_``."""
        fraction = float(self.validation_fraction)
        if not 0 < fraction < 1:
            raise ValueError(f"validation_fraction must be between 0 and 1, got {self.validation_fraction!r}")
        labels = np.asarray(y)
        table = labelled_table(X, labels)
        inputs = [name for name in table.names if name.startswith("channel_")]
        task = data_task(table, kind="classify", sequence="sequence", target="label", inputs=inputs,
                         split=(1.0 - fraction, fraction, 0.0), shuffle=bool(self.shuffle),
                         split_seed=int(self.random_state), name="sequences")
        estimator = Evolino(**({} if self.estimator is None else self.estimator.get_params()))
        estimator.fit(task)
        by_text = {_label_text(v): v for v in labels.tolist()}
        self.classes_ = np.array([by_text[c] for c in task.info["classes"]])
        self.estimator_, self.model_, self.result_, self.task_ = estimator, estimator.model_, estimator.result_, task
        self.n_features_in_ = len(inputs)
        return self

    def _fitted(self):
        if not hasattr(self, "model_"):
            raise NotFittedError("this SequenceClassifier is not fitted yet: call fit(X, y) first")
        return self.model_

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (n, classes), each row summing to 1, columns in the order of ``classes_``."""
        model = self._fitted()
        sequences = as_sequences(X)
        if sequences[0].shape[1] != self.n_features_in_:
            raise ValueError(f"the classifier was fitted on {self.n_features_in_} channel(s), X has "
                             f"{sequences[0].shape[1]}")
        return np.stack([model.predict_proba(s) for s in sequences])

    def predict(self, X) -> np.ndarray:
        """The label (n,) of each sequence: the class of the largest probability."""
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]

    def score(self, X, y) -> float:
        """Accuracy on the labelled sequences ``X``, ``y`` (higher is better)."""
        return float(np.mean(self.predict(X) == np.asarray(y)))
