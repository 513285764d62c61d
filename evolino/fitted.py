"""What an estimator whose fitted network is an :class:`~evolino.model.EvolinoModel` offers after ``fit``.

:class:`FittedNetworkMixin` gives :class:`evolino.Evolino` and :class:`evolino.baselines.BPTTLSTM` the same
``predict``, ``generate`` and ``score``, all read from the ``model_`` attribute that ``fit`` sets; before ``fit``
they raise :class:`evolino.errors.NotFittedError`. ``score`` is :func:`evolino.evaluation.model_error`: the task's
metric, lower is better (unlike scikit-learn's ``score``), computed as the fit's own test error is.
"""

from __future__ import annotations

import numpy as np

from evolino.errors import NotFittedError
from evolino.evaluation import model_error
from evolino.model import EvolinoModel
from evolino.tasks.base import Task

__all__ = ["FittedNetworkMixin"]


class FittedNetworkMixin:
    """``predict`` / ``generate`` / ``score`` of the fitted network at ``model_`` (see the module docstring)."""

    def _fitted_model(self) -> EvolinoModel:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(task) first")
        return self.model_

    def predict(self, inputs: np.ndarray | None = None, targets: np.ndarray | None = None) -> np.ndarray:
        """Teacher-forced outputs (T, n_outputs) of the fitted network: :meth:`EvolinoModel.predict`."""
        return self._fitted_model().predict(inputs, targets)

    def generate(self, history: np.ndarray, steps: int, history_inputs: np.ndarray | None = None,
                 future_inputs: np.ndarray | None = None) -> np.ndarray:
        """Closed-loop outputs (steps, n_outputs) after ``history``: :meth:`EvolinoModel.generate`."""
        return self._fitted_model().generate(history, steps, history_inputs, future_inputs)

    def score(self, task: Task, split: str = "test") -> float:
        """The error of the fitted network on a split of ``task`` (the task's metric: lower is better, unlike
        scikit-learn's ``score``), computed as ``result_.test_error`` is: :func:`evolino.evaluation.model_error`.
        With the task the estimator was fitted on, ``score(task)`` equals ``result_.test_error``."""
        return model_error(self._fitted_model(), task, split)
