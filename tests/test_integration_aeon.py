"""evolino in aeon and scikit-learn: aeon's own estimator checks, cross-validation and grid search of the
classifier, scikit-learn's parameter protocol, higher-is-better scores, and the ImportError without aeon."""

import pickle
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("aeon")
pytest.importorskip("sklearn")

from aeon.datasets import load_italy_power_demand  # noqa: E402
from aeon.testing.estimator_checking import check_estimator  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.metrics import accuracy_score, r2_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402

from evolino.integration.aeon import EvolinoClassifier, EvolinoRegressor  # noqa: E402
from evolino.regressor import SequenceRegressor  # noqa: E402
from evolino.regressor import r2_score as evolino_r2  # noqa: E402

SMALL = {"cells": 2, "population": 8, "generations": 2, "random_state": 0}


@pytest.fixture(scope="module")
def italy():
    X, y = load_italy_power_demand(split="train")
    return X[:45], y[:45]


@pytest.fixture(scope="module")
def numbers():
    X = np.random.default_rng(0).normal(size=(40, 2, 15))
    return X, X[:, 0].mean(axis=1) * 2 + X[:, 1, -1]


@pytest.mark.slow
@pytest.mark.parametrize("estimator", [EvolinoClassifier, EvolinoRegressor])
def test_aeon_estimator_checks(estimator):
    check_estimator(estimator, raise_exceptions=True)


@pytest.mark.slow
def test_cross_val_score_and_grid_search(italy):
    X, y = italy
    scores = cross_val_score(EvolinoClassifier(**SMALL), X, y, cv=3)
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))
    search = GridSearchCV(EvolinoClassifier(**SMALL), {"cells": [2, 3]}, cv=3).fit(X, y)
    assert search.best_params_["cells"] in (2, 3)
    assert search.best_estimator_.cells == search.best_params_["cells"]
    assert 0 <= search.best_score_ <= 1


def test_params_clone_and_fitted_attributes(italy):
    classifier = EvolinoClassifier(cells=3, population=6, generations=1, validation_fraction=0.3, random_state=5,
                                   evolino_options={"ridge": "loo"})
    params = classifier.get_params()
    assert params == {"cells": 3, "population": 6, "generations": 1, "optimizer": "sep-cma",
                      "validation_fraction": 0.3, "random_state": 5, "evolino_options": {"ridge": "loo"}}
    copy = clone(classifier)
    assert copy is not classifier and copy.get_params() == params
    assert copy.set_params(cells=4).cells == 4 and classifier.cells == 3
    X, y = italy
    fitted = EvolinoClassifier(**SMALL).fit(X, y)
    assert fitted.classifier_.estimator_.cells == 2 and fitted.classifier_.estimator_.seed == 0
    assert not hasattr(clone(fitted), "classifier_")
    with pytest.raises(ValueError, match="evolino_options may not set cells"):
        EvolinoClassifier(**SMALL, evolino_options={"cells": 3}).fit(X, y)


def test_classifier_score_is_accuracy(italy):
    X, y = italy
    classifier = EvolinoClassifier(**SMALL).fit(X, y)
    predicted = classifier.predict(X)
    assert classifier.score(X, y) == pytest.approx(accuracy_score(y, predicted))
    probabilities = classifier.predict_proba(X)
    assert probabilities.shape == (len(X), 2) and np.allclose(probabilities.sum(axis=1), 1)
    np.testing.assert_array_equal(classifier.classes_[probabilities.argmax(axis=1)], predicted)
    again = pickle.loads(pickle.dumps(classifier))
    np.testing.assert_array_equal(again.predict_proba(X), probabilities)


def test_classifier_unequal_lengths_and_channels():
    rng = np.random.default_rng(1)
    X = [rng.normal(size=(2, int(n))) for n in rng.integers(8, 16, size=24)]
    y = np.array(["up", "down"] * 12)
    for x, label in zip(X, y, strict=True):
        x[0] += 1.5 if label == "up" else -1.5
    classifier = EvolinoClassifier(**SMALL).fit(X, y)
    assert list(classifier.classes_) == ["down", "up"]
    assert classifier.predict(X).shape == (24,) and classifier.score(X, y) > 0.7


def test_regressor_score_is_r2(numbers):
    X, y = numbers
    regressor = EvolinoRegressor(**SMALL).fit(X, y)
    predicted = regressor.predict(X)
    assert predicted.shape == (len(X),)
    assert regressor.score(X, y) == pytest.approx(r2_score(y, predicted))
    assert regressor.score(X, y) > 0.5  # higher is better: a real fit, not an error


def test_sequence_regressor_core(numbers):
    X, y = numbers
    from evolino.trainer import Evolino

    regressor = SequenceRegressor(Evolino(cells=2, population=8, generations=2)).fit(list(X.transpose(0, 2, 1)), y)
    assert regressor.task_.info["kind"] == "map" and len(regressor.task_.validation) == 8
    assert regressor.score(X, y) == pytest.approx(r2_score(y, regressor.predict(X)))
    assert evolino_r2([1.0, 1.0], [1.0, 1.0]) == 1.0 and evolino_r2([1.0, 1.0], [0.0, 1.0]) == 0.0
    with pytest.raises(ValueError, match="one number per sequence"):
        regressor.fit(X, y[:-1])


def test_random_state_forms(italy):
    X, y = italy
    first = EvolinoClassifier(**{**SMALL, "random_state": 3}).fit(X, y).predict_proba(X)
    second = EvolinoClassifier(**{**SMALL, "random_state": 3}).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    state = np.random.get_state()[1].copy()
    EvolinoClassifier(**{**SMALL, "random_state": None}).fit(X, y)
    EvolinoClassifier(**{**SMALL, "random_state": np.random.default_rng(0)}).fit(X, y)
    EvolinoClassifier(**{**SMALL, "random_state": np.random.RandomState(0)}).fit(X, y)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # numpy's global state is never drawn from
    with pytest.raises(ValueError, match="random_state"):
        EvolinoClassifier(**{**SMALL, "random_state": "seven"}).fit(X, y)


@pytest.mark.parametrize("module,extra", [("aeon", "aeon"), ("sktime", "sktime")])
def test_import_error_names_the_extra(module, extra):
    code = (f"import sys; sys.modules[{module!r}] = None\n"
            "try:\n"
            f"    import evolino.integration.{extra}\n"
            "except ImportError as exc:\n"
            "    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == (f"evolino.integration.{extra} needs {module}, which is not installed: "
                                  f'pip install "evolino[{extra}]"')
    subprocess.run([sys.executable, "-c", f"import sys; sys.modules[{module!r}] = None; import evolino.integration"],
                   check=True, timeout=120)
