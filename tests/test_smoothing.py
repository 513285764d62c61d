"""Exponential smoothing members: the compiled filter against a plain loop, known answers, the grid's choice, and
the members inside a forecaster and its saved model."""

import numpy as np
import pytest

from evolino.forecasting import Forecaster
from evolino.forecasting.model import ForecastModel
from evolino.forecasting.smoothing import (
    SmoothingFit,
    SmoothingForm,
    _grid_errors,
    _initial_states,
    _run,
    candidate_forms,
)
from evolino.tasks.data import data_task
from evolino.trainer import Evolino


def _reference(x, season, alpha, beta, gamma, phi, level, trend, seasonal, first, steps):
    """The module docstring's equations, step by step in Python."""
    m = max(season, 1)
    s = list(seasonal)
    predictions, sse, count = [], 0.0, 0
    for t, value in enumerate(x):
        predicted = level + phi * trend + s[t % m]
        predictions.append(predicted)
        error = 0.0 if np.isnan(value) else value - predicted
        if not np.isnan(value) and t >= first:
            sse, count = sse + error**2, count + 1
        level, trend = level + phi * trend + alpha * error, phi * trend + beta * error
        s[t % m] += gamma * error
    forecast = [level + sum(phi**j for j in range(1, h + 1)) * trend + s[(len(x) + h - 1) % m]
                for h in range(1, steps + 1)]
    return sse, count, np.array(predictions), np.array(forecast)


@pytest.mark.parametrize("season", [0, 4, 7])
def test_the_compiled_filter_is_the_plain_loop(season):
    rng = np.random.default_rng(season)
    x = np.cumsum(rng.normal(size=60)) + (np.sin(np.arange(60)) if season else 0)
    x[17] = np.nan  # a missing step: no correction, not scored
    seasonal = rng.normal(size=max(season, 1)) if season else np.zeros(1)
    args = (season, 0.3, 0.05, 0.1 if season else 0.0, 0.9, 1.5, -0.2, seasonal, 5, 9)
    found = _run(x, *args)
    expected = _reference(x, *args)
    assert found[1] == expected[1] == 60 - 5 - 1
    np.testing.assert_allclose(found[0], expected[0], rtol=1e-12)
    np.testing.assert_allclose(found[2], expected[2], rtol=1e-12)
    np.testing.assert_allclose(found[3], expected[3], rtol=1e-12)


def test_the_grid_errors_are_each_rows_mean_squared_error_and_the_fit_takes_the_smallest():
    rng = np.random.default_rng(1)
    x = 10 + np.cumsum(rng.normal(size=80)) + 2 * np.sin(2 * np.pi * np.arange(80) / 6)
    form = SmoothingForm("damped", 6)
    grid = form.grid()
    level, trend, seasonal, first = _initial_states(x, form)
    errors = _grid_errors(x, 6, grid, level, trend, seasonal, first)
    for i in (0, len(grid) // 2, len(grid) - 1):
        sse, count, _, _ = _reference(x, 6, *grid[i], level, trend, seasonal, first, 0)
        assert errors[i] == pytest.approx(sse / count, rel=1e-12)
    assert SmoothingFit.estimate(x, form).parameters == tuple(grid[int(np.argmin(errors))])


def test_known_answers_a_line_a_season_and_the_naive_forecast():
    line = 3.0 + 0.5 * np.arange(40)
    _, forecast = SmoothingFit(SmoothingForm("linear"), (0.3, 0.1, 0.0, 1.0)).run(line, 5)
    np.testing.assert_allclose(forecast, 3.0 + 0.5 * np.arange(40, 45), rtol=1e-12)  # a trend carries on exactly
    pattern = np.tile([1.0, 4.0, 2.0, -3.0], 10)
    _, forecast = SmoothingFit(SmoothingForm("none", 4), (0.2, 0.0, 0.1, 1.0)).run(pattern, 8)
    np.testing.assert_allclose(forecast, pattern[:8], atol=1e-12)  # a pure season repeats
    walk = np.cumsum(np.random.default_rng(2).normal(size=30))
    _, forecast = SmoothingFit(SmoothingForm("none"), (1.0, 0.0, 0.0, 1.0)).run(walk, 3)
    np.testing.assert_allclose(forecast, walk[-1])  # α = 1 without trend: the last value


def test_every_forms_grid_respects_the_parameter_bounds():
    assert [f.name for f in candidate_forms(None)] == ["ETS(A,N,N)", "ETS(A,Ad,N)", "ETS(A,A,N)"]
    assert candidate_forms(1) == candidate_forms(None) and len(candidate_forms(12)) == 6
    for form in candidate_forms(12):
        grid = form.grid()
        alpha, beta, gamma, phi = grid.T
        assert (beta <= alpha).all() and (gamma <= 1 - alpha).all() and ((0 < phi) & (phi <= 1)).all()
        assert (beta > 0).all() == (form.trend != "none") and (gamma > 0).all() == bool(form.season)
        assert (phi < 1).all() == (form.trend == "damped")


def _seasonal_task(steps=144, inputs=False):
    rng = np.random.default_rng(0)
    t = np.arange(steps)
    y = 100 + 0.8 * t + 15 * np.sin(2 * np.pi * t / 12) + rng.normal(scale=2.0, size=steps)
    columns = {"sales": y}
    if inputs:
        columns["price"] = rng.normal(size=steps)
    return data_task(columns, target="sales", inputs=["price"] if inputs else None, name="sales")


def test_a_forecasters_smoothing_members_are_saved_and_forecast_as_fitted(tmp_path):
    task = _seasonal_task()
    forecaster = Forecaster(Evolino(seed=0), season=12, networks=False).fit(task)
    result = forecaster.result_
    members = result.backtest["linear_members"]
    smoothing = [m for m in members if m["model"].startswith("ETS")]
    assert [m["transform"] for m in smoothing] == ["none", "log"] and all(m["weight"] > 0 for m in smoothing)
    seen = task.train[0].steps + task.validation[0].steps
    history = task.to_original(np.concatenate([task.train[0].targets, task.validation[0].targets]))
    model = forecaster.model_
    forecast = model.forecast(history, task.test[0].steps)
    np.testing.assert_allclose(forecast, task.to_original(result.test_outputs[0]), rtol=1e-9)  # the fit's own
    loaded = ForecastModel.load(model.save(tmp_path / "model.npz"))
    np.testing.assert_allclose(loaded.forecast(history, 12), model.forecast(history, 12), rtol=1e-12)
    np.testing.assert_allclose(loaded.predict(history), model.predict(history), rtol=1e-12, equal_nan=True)
    assert np.isfinite(model.predict(history)[seen // 2:]).all()


def test_series_with_inputs_get_no_smoothing_members():
    result = Forecaster(Evolino(seed=0), season=12, networks=False).fit(_seasonal_task(inputs=True)).result_
    assert not any(m["model"].startswith("ETS") for m in result.backtest["linear_members"])
