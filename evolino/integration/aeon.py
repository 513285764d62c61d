"""evolino as aeon estimators: a label or a number per time series, in aeon's (and scikit-learn's) loops.

Idea. aeon's estimators take a collection of series (``X``) and one target per series (``y``), and are
cross-validated, grid-searched, pipelined and benchmarked by the same code whatever they are. These adapters put
evolino's sequence estimators behind aeon's base classes, adding nothing but the translation:

* :class:`EvolinoClassifier` (aeon's ``BaseClassifier``) over :class:`evolino.classifier.SequenceClassifier`:
  ``predict`` (labels), ``predict_proba`` (calibrated class probabilities, columns in the order of ``classes_``),
  ``score`` (accuracy);
* :class:`EvolinoRegressor` (aeon's ``BaseRegressor``) over :class:`evolino.regressor.SequenceRegressor`:
  ``predict`` (a number per series), ``score`` (R^2).

What is adapted. aeon checks and converts ``X`` (equal or unequal lengths, one or more channels) and ``y``, and keeps
the classes; evolino builds its task from them, carving the validation part that chooses its final model out of the
training data (``validation_fraction``, stratified by class for the classifier). The evolution's settings are flat
``__init__`` parameters (``cells``, ``population``, ``generations``, ``optimizer``; any other
:class:`~evolino.trainer.Evolino` setting in ``evolino_options``), so ``GridSearchCV(param_grid={"cells": [...]})``
works; ``random_state`` (an int, None, a Generator or a RandomState) seeds both the split and the evolution.

Shapes. ``X``: (n, channels, T) or (n, T) arrays, or a list of n (channels, T_i) arrays (aeon's layouts); ``y``: (n,)
labels or numbers; ``predict_proba``: (n, classes). Install with ``pip install "evolino[aeon]"``.
"""

from __future__ import annotations

import numpy as np

from evolino.errors import require_extra
from evolino.integration._common import make_evolino, seed_from

require_extra("aeon", "aeon", "evolino.integration.aeon")

from aeon.classification.base import BaseClassifier  # noqa: E402
from aeon.regression.base import BaseRegressor  # noqa: E402

from evolino.classifier import SequenceClassifier  # noqa: E402
from evolino.regressor import SequenceRegressor  # noqa: E402

__all__ = ["EvolinoClassifier", "EvolinoRegressor"]

# Small budgets for aeon's estimator checks (hundreds of fits on collections of 5-10 series of 20 steps).
TEST_PARAMS = {"cells": 2, "population": 8, "generations": 2, "random_state": 0}


def _sequences(X) -> np.ndarray | list[np.ndarray]:
    """aeon's inner layouts as evolino's: a (n, channels, T) array as it is, a list of (channels, T_i) arrays as
    (T_i, channels) arrays."""
    if isinstance(X, np.ndarray) and X.ndim == 3:
        return X
    return [np.asarray(x, dtype=np.float64).T for x in X]


class _EvolinoCollection:
    """The parameters and the fit the classifier and the regressor share."""

    _tags = {
        "capability:multivariate": True,
        "capability:unequal_length": True,
        "X_inner_type": ["np-list", "numpy3D"],
    }

    def _estimator(self, core):
        seed = seed_from(self.random_state)
        evolino = make_evolino(self.cells, self.population, self.generations, self.optimizer, seed,
                               self.evolino_options)
        return core(estimator=evolino, validation_fraction=self.validation_fraction, shuffle=True, random_state=seed)

    @classmethod
    def _get_test_params(cls, parameter_set: str = "default") -> dict:
        """Tiny budgets for aeon's estimator checks (``check_estimator``)."""
        return dict(TEST_PARAMS)


class EvolinoClassifier(_EvolinoCollection, BaseClassifier):
    """Classify time series with Evolino (aeon's ``BaseClassifier``; see the module docstring).

    Parameters
    ----------
    cells : int, optional
        Memory cells; None: evolino's default for a label per sequence (30).
    population : int
        Genomes per generation.
    generations : int
        Generation budget.
    optimizer : str
        Evolino's optimizer (e.g. "sep-cma", "cma", "esp").
    validation_fraction : float
        Share of the training series (stratified by class) kept to choose the final model and calibrate the
        probabilities.
    random_state : int, Generator, RandomState or None
        Seed of the split and the evolution; None: fresh entropy (not reproducible).
    evolino_options : dict, optional
        Further :class:`~evolino.trainer.Evolino` settings by name (``ridge``, ``max_seconds``, ...).

    Attributes
    ----------
    classes_ : (classes,) array
        The labels, in the order of ``predict_proba``'s columns.
    classifier_ : SequenceClassifier
        The fitted evolino classifier (its ``model_`` and ``result_``).

    Examples
    --------
    >>> from aeon.datasets import load_italy_power_demand
    >>> from evolino.integration.aeon import EvolinoClassifier
    >>> X, y = load_italy_power_demand(split="train")
    >>> classifier = EvolinoClassifier(cells=3, population=8, generations=3, random_state=0).fit(X, y)
    >>> probabilities = classifier.predict_proba(X[:5])               # (5, 2), columns in classes_ order
    """

    def __init__(self, cells: int | None = None, population: int = 40, generations: int = 300,
                 optimizer: str = "sep-cma", validation_fraction: float = 0.2, random_state=None,
                 evolino_options: dict | None = None) -> None:
        self.cells = cells
        self.population = population
        self.generations = generations
        self.optimizer = optimizer
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.evolino_options = evolino_options
        super().__init__()

    def _fit(self, X, y) -> EvolinoClassifier:
        self.classifier_ = self._estimator(SequenceClassifier).fit(_sequences(X), y)
        found = list(self.classifier_.classes_)
        self._columns = np.array([found.index(c) for c in self.classes_])
        return self

    def _predict_proba(self, X) -> np.ndarray:
        return self.classifier_.predict_proba(_sequences(X))[:, self._columns]

    def _predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self._predict_proba(X), axis=1)]


class EvolinoRegressor(_EvolinoCollection, BaseRegressor):
    """Predict a number per time series with Evolino (aeon's ``BaseRegressor``; see the module docstring).

    Parameters
    ----------
    cells, population, generations, optimizer, random_state, evolino_options
        As for :class:`EvolinoClassifier`.
    validation_fraction : float
        Share of the training series (shuffled) kept to choose the final model.

    Attributes
    ----------
    regressor_ : SequenceRegressor
        The fitted evolino regressor (its ``model_`` and ``result_``).

    Examples
    --------
    >>> import numpy as np
    >>> from evolino.integration.aeon import EvolinoRegressor
    >>> X = np.random.default_rng(0).normal(size=(40, 2, 15))           # 40 series, 2 channels, 15 steps
    >>> y = X[:, 0].mean(axis=1) + X[:, 1, -1]
    >>> regressor = EvolinoRegressor(cells=3, population=8, generations=3, random_state=0).fit(X, y)
    >>> r2 = regressor.score(X, y)                                      # R^2: higher is better
    """

    def __init__(self, cells: int | None = None, population: int = 40, generations: int = 300,
                 optimizer: str = "sep-cma", validation_fraction: float = 0.2, random_state=None,
                 evolino_options: dict | None = None) -> None:
        self.cells = cells
        self.population = population
        self.generations = generations
        self.optimizer = optimizer
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.evolino_options = evolino_options
        super().__init__()

    def _fit(self, X, y) -> EvolinoRegressor:
        self.regressor_ = self._estimator(SequenceRegressor).fit(_sequences(X), y)
        return self

    def _predict(self, X) -> np.ndarray:
        return self.regressor_.predict(_sequences(X))
