"""evolino in sktime: sktime's own estimator checks, dates kept in the forecast's index, intervals, exogenous X,
update, and evaluation with an expanding window."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sktime")

from sklearn.base import clone  # noqa: E402
from sktime.datasets import load_airline  # noqa: E402
from sktime.forecasting.model_evaluation import evaluate  # noqa: E402
from sktime.split import ExpandingWindowSplitter  # noqa: E402
from sktime.utils import check_estimator  # noqa: E402

from evolino.integration.sktime import EvolinoForecaster  # noqa: E402

SMALL = {"cells": 2, "population": 8, "generations": 2, "random_state": 0}


@pytest.fixture(scope="module")
def airline():
    return load_airline()


@pytest.mark.slow
@pytest.mark.timeout(1800)  # ~750 checks, ~260 fits: 2-3 minutes on 2 quiet cores, more than 10 under heavy load
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_sktime_estimator_checks():
    check_estimator(EvolinoForecaster, raise_exceptions=True)


def test_forecast_keeps_dates_and_intervals(airline):
    forecaster = EvolinoForecaster(**SMALL).fit(airline, fh=[1, 2, 3, 12])
    predicted = forecaster.predict()
    expected = pd.period_range(airline.index[-1] + 1, periods=12, freq="M")[[0, 1, 2, 11]]
    assert predicted.index.equals(expected) and predicted.name == airline.name
    assert forecaster.forecaster_.result_.season == 12  # the monthly dates gave the season
    bounds = forecaster.predict_interval(coverage=[0.5, 0.9])
    assert bounds.index.equals(expected)
    assert list(bounds.columns) == [(airline.name, c, side) for c in (0.5, 0.9) for side in ("lower", "upper")]
    inner, outer = bounds[(airline.name, 0.5, "lower")], bounds[(airline.name, 0.9, "lower")]
    assert (outer <= inner).all() and (bounds[(airline.name, 0.9, "upper")] >= predicted).all()
    assert (bounds[(airline.name, 0.9, "lower")] <= predicted).all()
    quantiles = forecaster.predict_quantiles(alpha=[0.05, 0.95])
    np.testing.assert_allclose(quantiles.iloc[:, 0], bounds[(airline.name, 0.9, "lower")])


def test_datetime_index_exogenous_and_update():
    index = pd.date_range("2024-01-01", periods=90, freq="D")
    rng = np.random.default_rng(0)
    driver = pd.DataFrame({"driver": np.sin(np.arange(100) / 3.0)},
                          index=pd.date_range("2024-01-01", periods=100, freq="D"))
    y = pd.Series(2.0 * driver["driver"].to_numpy()[:90] + 0.05 * rng.normal(size=90), index=index, name="load")
    forecaster = EvolinoForecaster(**SMALL).fit(y, X=driver.iloc[:90], fh=[1, 2, 3])
    predicted = forecaster.predict(X=driver.iloc[90:])
    assert predicted.index.equals(pd.date_range("2024-03-31", periods=3, freq="D"))
    np.testing.assert_allclose(predicted.to_numpy(), 2.0 * driver["driver"].to_numpy()[90:93], atol=0.3)
    with pytest.raises(ValueError, match="needs X"):
        forecaster.predict()
    forecaster.update(y=pd.Series([0.0, 0.1], index=pd.date_range("2024-03-31", periods=2, freq="D"), name="load"),
                      X=driver.iloc[90:92], update_params=False)
    assert forecaster.predict(X=driver.iloc[92:]).index[0] == pd.Timestamp("2024-04-02")


def test_params_clone_and_random_state(airline):
    forecaster = EvolinoForecaster(cells=3, season=12, validation_fraction=0.25, random_state=1)
    assert clone(forecaster).get_params() == forecaster.get_params()
    first = EvolinoForecaster(**SMALL).fit(airline, fh=[1, 2]).predict()
    second = EvolinoForecaster(**SMALL).fit(airline, fh=[1, 2]).predict()
    pd.testing.assert_series_equal(first, second)
    with pytest.raises(ValueError, match="validation_fraction"):
        EvolinoForecaster(**{**SMALL, "validation_fraction": 1.5}).fit(airline, fh=[1])


@pytest.mark.slow
def test_evaluate_with_expanding_window(airline):
    splitter = ExpandingWindowSplitter(initial_window=96, step_length=24, fh=[1, 2, 3])
    results = evaluate(EvolinoForecaster(**SMALL), cv=splitter, y=airline)
    assert len(results) == 2 and np.isfinite(results["test_MeanAbsolutePercentageError"]).all()
