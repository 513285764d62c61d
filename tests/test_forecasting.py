"""The forecasting package's numerical parts against plain references: transforms and their inverses, the season
from the autocorrelation, nested AR fits against lstsq, closed loops against a per-step loop, the incremental
backtest against one-shot fits, and the interval quantiles."""

import numpy as np
import pytest

from evolino.fitness import ForwardPasses
from evolino.forecasting.backtest import (
    backtest_origins,
    candidate_orders,
    linear_forecasts,
    network_backtest,
    network_line,
    pooled_errors,
)
from evolino.forecasting.intervals import coverage, horizon_quantiles
from evolino.forecasting.linear import NestedAR, external_sources, free_run, free_run_numpy, lag_block
from evolino.forecasting.season import autocorrelation, season_length
from evolino.forecasting.series import Series, prepare
from evolino.forecasting.transforms import TRANSFORM_NAMES, SeriesTransform, candidate_transforms
from evolino.metrics import score
from evolino.network import LSTMSpec
from evolino.readout import ReadoutConfig, ReadoutStats


def seasonal_series(steps=240, season=12, seed=0, trend=0.05, columns=1):
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None]
    noise = np.cumsum(rng.normal(0, 0.2, (steps, columns)), axis=0) * 0.3 + rng.normal(0, 0.3, (steps, columns))
    return 20 + trend * t + 3 * np.sin(2 * np.pi * t / season) + noise


# ---------------------------------------------------------------------------------------------------- transforms


@pytest.mark.parametrize("name", TRANSFORM_NAMES)
def test_integrating_the_true_changes_gives_back_the_levels(name):
    levels = seasonal_series(columns=2)
    transform = SeriesTransform.from_name(name, season=12)
    z = transform.forward(levels)
    assert np.isnan(z[: transform.lost]).all() and np.isfinite(z[transform.lost:]).all()
    origin = 150
    back = transform.integrate(z[origin:], levels[:origin])
    np.testing.assert_allclose(back, levels[origin:], rtol=1e-10)
    one_step = transform.one_step(z[origin:], levels, origin)
    np.testing.assert_allclose(one_step, levels[origin:], rtol=1e-10)


def test_integration_matches_a_plain_loop_and_batches():
    levels = seasonal_series(steps=100)
    transform = SeriesTransform(log=True, difference=True, season=12)
    rng = np.random.default_rng(1)
    changes = rng.normal(0, 0.01, (3, 30, 1))
    x = list(np.log(levels[:60, 0]))
    expected = []
    for g in range(3):
        xs = list(x)
        for step in range(30):
            xs.append(changes[g, step, 0] + xs[-1] + xs[-12] - xs[-13])
        expected.append(np.exp(xs[60:]))
    np.testing.assert_allclose(transform.integrate(changes, levels[:60])[..., 0], np.array(expected), rtol=1e-12)


def test_transform_names_and_candidates():
    positive = seasonal_series()
    names = [t.name for t in candidate_transforms(positive, 12)]
    assert names[0] == "none" and len(names) == 8 and set(names) == set(TRANSFORM_NAMES)
    negative = positive - 100
    assert not any(t.log for t in candidate_transforms(negative, 12))
    assert [t.name for t in candidate_transforms(negative, None)] == ["none", "diff"]
    with pytest.raises(ValueError, match="season length"):
        SeriesTransform.from_name("seasonal-diff", None)
    with pytest.raises(ValueError, match="unknown transform"):
        SeriesTransform.from_name("box-cox")


# -------------------------------------------------------------------------------------------------------- season


def test_autocorrelation_matches_the_direct_formula():
    rng = np.random.default_rng(2)
    values = rng.normal(size=300).cumsum()
    acf = autocorrelation(values, 20)
    centred = values - values.mean()
    direct = [np.dot(centred[: 300 - k], centred[k:]) / np.dot(centred, centred) for k in range(21)]
    np.testing.assert_allclose(acf, direct, atol=1e-12)


def test_season_from_the_autocorrelation_from_dates_and_given():
    assert season_length(seasonal_series(season=7, trend=0.2)) == 7
    assert season_length(seasonal_series(steps=2000, season=24, trend=0.0)) == 24  # not one of its multiples
    assert season_length(np.random.default_rng(3).normal(size=(300, 1))) is None
    assert season_length(seasonal_series(), frequency_season=12) == 12
    assert season_length(seasonal_series(steps=20), frequency_season=12) is None  # not two seasons of data
    assert season_length(seasonal_series(), given=0) is None
    assert season_length(seasonal_series(), given=5) == 5


# -------------------------------------------------------------------------------------------------------- linear


def test_nested_ar_weights_equal_lstsq_on_the_stacked_rows():
    rng = np.random.default_rng(4)
    steps = 500
    z = np.zeros((steps, 2))
    for t in range(2, steps):
        z[t] = 0.5 * z[t - 1] - 0.2 * z[t - 2, ::-1] + rng.normal(size=2)
    inputs = rng.normal(size=(steps, 1))
    model = NestedAR(z, inputs, 6)
    model.advance(200)
    model.advance(400)  # in two steps: the same as one
    sources = external_sources(z, inputs)
    for order in (1, 4, 6):
        design = lag_block(sources, order, 6, 400)
        expected = np.linalg.lstsq(design, z[6:400], rcond=None)[0]
        np.testing.assert_allclose(model.weights(order), expected, atol=1e-10)


def test_nested_ar_recovers_known_coefficients_and_skips_unscored_rows():
    rng = np.random.default_rng(5)
    steps = 20000
    z = np.zeros(steps)
    for t in range(2, steps):
        z[t] = 0.1 + 0.6 * z[t - 1] - 0.3 * z[t - 2] + rng.normal(0, 0.1)
    scored = np.ones(steps, dtype=bool)
    scored[::7] = False
    model = NestedAR(z[:, None], None, 2, scored)
    model.advance(steps)
    np.testing.assert_allclose(model.weights(2)[:, 0], [0.1, 0.6, -0.3], atol=0.03)  # ~4 standard errors
    assert model.rows == int(scored[2:].sum())


def test_free_run_matches_a_per_step_loop_in_both_implementations():
    rng = np.random.default_rng(6)
    steps, m, k, lags = 80, 2, 1, 3
    z = rng.normal(size=(steps, m))
    inputs = rng.normal(size=(steps + 10, k))
    sources = external_sources(z, inputs[:steps])
    weights = rng.normal(0, 0.2, (2, 1 + lags * (k + m), m))
    future = inputs[steps:]
    outputs = free_run(weights, sources, z[-1], 10, future)
    for g in range(2):
        history = [np.concatenate([inputs[t], z[t - 1] if t else np.zeros(m)]) for t in range(steps)]
        y = z[-1]
        for step in range(10):
            history.append(np.concatenate([future[step], y]))
            row = np.concatenate([[1.0], *history[::-1][:lags]])
            y = row @ weights[g]
            np.testing.assert_allclose(outputs[g, step], y, rtol=1e-12)
    first = np.concatenate([future[0], z[-1]])
    window = np.concatenate([first[None], sources[::-1][: lags - 1]])
    np.testing.assert_allclose(free_run_numpy(weights, window, future, m), outputs, rtol=1e-12)
    # models of several orders in one call: the compiled loop stops at each one's order
    padded = weights.copy()
    padded[1, 1 + 1 * (k + m):] = 0.0  # model 1 is of order 1
    both = free_run(padded, sources, z[-1], 10, future, lags=np.array([lags, 1]))
    np.testing.assert_allclose(both, free_run_numpy(padded, window, future, m), rtol=1e-12)
    np.testing.assert_allclose(both[1], free_run(padded[1:, : 1 + (k + m)], sources, z[-1], 10, future)[0],
                               rtol=1e-12)


# ------------------------------------------------------------------------------------------------------ backtest


def test_backtest_origins_stay_inside_the_seen_data():
    origins, horizon = backtest_origins(100, 15, 5, minimum=10)
    assert horizon == 15 and origins[0] == 70 and origins[-1] == 85 and len(origins) == 5
    origins, horizon = backtest_origins(40, 15, 5, minimum=30)
    assert horizon == 10 and (origins == 30).all()
    with pytest.raises(ValueError, match="no room"):
        backtest_origins(30, 15, 5, minimum=30)
    assert candidate_orders(14, 12) == [*range(1, 14)] and candidate_orders(3, None) == [1, 2, 3]


def test_pooled_errors_pool_every_window_with_the_metric():
    rng = np.random.default_rng(7)
    targets = rng.normal(size=(3, 5, 1))
    mask = np.ones((3, 5), dtype=bool)
    mask[2, 3:] = False
    forecasts = targets[None] + rng.normal(0, 0.5, (2, 3, 5, 1))
    forecasts[1, 0, 0, 0] = np.inf
    errors = pooled_errors("rmse", targets, mask, forecasts)
    flat = mask.reshape(-1)
    expected = np.sqrt(np.mean((forecasts[0].reshape(-1, 1)[flat] - targets.reshape(-1, 1)[flat]) ** 2))
    assert errors[0] == pytest.approx(expected) and errors[1] == np.inf
    for metric in ("nrmse", "mse", "mae"):  # the fast path and the others agree with the metrics module
        reference = score(metric, targets.reshape(-1, 1)[flat], forecasts[:1].reshape(1, -1, 1)[:, flat])
        assert pooled_errors(metric, targets, mask, forecasts)[0] == pytest.approx(reference[0], rel=1e-12)


def _series(levels, sizes=(None, None, None)):
    steps = levels.shape[0]
    test = round(0.15 * steps)
    validation = test
    return Series(levels, None, np.ones(steps, dtype=bool), (steps - 2 * test, validation, test), "synthetic")


def test_linear_backtest_refits_before_every_origin():
    series = _series(seasonal_series())
    prepared = prepare(series, SeriesTransform(difference=True), cut=150)
    origins = np.array([150, 170])
    found = linear_forecasts(prepared, [3], origins, 10)
    for i, origin in enumerate(origins):  # one-shot fit on the rows before this origin only
        model = NestedAR(prepared.z[: origin - 1], None, 3, first=prepared.task.washout)
        model.advance(origin - 1)
        changes = free_run(model.weights(3)[None], model.sources, prepared.z[origin - 2], 10)
        np.testing.assert_allclose(found[0, i], prepared.to_levels(changes[0], origin), rtol=1e-9)


def test_network_backtest_equals_a_one_shot_fit_at_each_origin():
    series = _series(seasonal_series(steps=160))
    prepared = prepare(series, SeriesTransform(difference=True), cut=100)
    spec = LSTMSpec(cells=3, n_outputs=1, feedback=True, feedback_scale=1e-2, readout_lags=2)
    genomes = np.random.default_rng(8).normal(0, 0.3, (2, spec.dimension))
    readout = ReadoutConfig(rcond=1e-12, ridge="validation", ridge_grid=(0.0, 1.0))
    origins = np.array([100, 115])
    found = network_backtest(spec, genomes, prepared, readout, origins, 12, kernel="numpy")
    washout = prepared.task.washout
    for i, origin in enumerate(origins):
        stop = origin - prepared.offset
        line = network_line(spec, prepared, series.seen, 12)
        passes = ForwardPasses(spec, genomes, "numpy")
        stats = ReadoutStats(2, spec.readout_rows, 1)
        rows = line.scored.copy()
        rows[: max(washout, spec.readout_lags - 1)] = False
        rows[stop:] = False
        _, state = passes.advance(line, 0, stop, None, fold=(stats, rows, True), washout=washout)
        weights = stats.solve(ReadoutConfig(rcond=1e-12, ridge=1.0), shrunk=spec.cells)
        changes = passes.free_run(line, stop, 12, state, weights)
        np.testing.assert_allclose(found["1"][:, i], prepared.to_levels(changes, origin), rtol=1e-8)
    assert set(found) == {"0", "1", "gcv"}


def test_network_at_a_huge_ridge_forecasts_like_its_linear_part():
    series = _series(seasonal_series(steps=160))
    prepared = prepare(series, SeriesTransform(difference=True), cut=100)
    spec = LSTMSpec(cells=3, n_outputs=1, feedback=True, feedback_scale=1e-2, readout_lags=2)
    genomes = np.random.default_rng(9).normal(0, 0.3, (1, spec.dimension))
    readout = ReadoutConfig(rcond=1e-12, ridge="validation", ridge_grid=(1e12,))
    found = network_backtest(spec, genomes, prepared, readout, np.array([120]), 12, kernel="numpy")["1e+12"][0, 0]
    # the linear model fitted on the same rows as the readout (from max(washout, lags - 1))
    first = max(prepared.task.washout, 1)
    sources = external_sources(prepared.z, None)
    design = lag_block(sources, 2, first, 120 - prepared.offset)
    weights = np.linalg.lstsq(design, prepared.z[first : 120 - prepared.offset], rcond=None)[0]
    changes = free_run(weights[None], sources[: 120 - prepared.offset], prepared.z[119 - prepared.offset], 12)
    np.testing.assert_allclose(found, prepared.to_levels(changes[0], 120), rtol=1e-6)


def test_prepare_keeps_filled_steps_out_of_every_fit_and_score():
    levels = seasonal_series(steps=120)
    scored = np.ones(120, dtype=bool)
    scored[60] = False
    series = Series(levels, None, scored, (84, 18, 18), "gappy")
    prepared = prepare(series, SeriesTransform(difference=True, season=12), cut=84)
    unscored = np.flatnonzero(~prepared.scored) + prepared.offset
    assert set(unscored) == {60, 61, 72, 73}


# ----------------------------------------------------------------------------------------------------- intervals


def test_interval_quantiles_cover_gaussian_residuals_at_their_level():
    rng = np.random.default_rng(10)
    spread = np.linspace(1, 3, 12)[None, :, None]
    residuals = rng.normal(size=(400, 12, 1)) * spread
    mask = np.ones((400, 12), dtype=bool)
    lower, upper = horizon_quantiles(residuals, mask, 0.9)
    assert (np.diff(upper[:, 0]) >= 0).all() and (np.diff(lower[:, 0]) <= 0).all()
    fresh = rng.normal(size=(2000, 12, 1)) * spread
    inside = ((fresh >= lower) & (fresh <= upper)).mean()
    assert 0.87 < inside < 0.93
    longer_lower, longer_upper = horizon_quantiles(residuals, mask, 0.9, steps=48)
    np.testing.assert_allclose(longer_upper[47], upper[11] * 2.0)  # sqrt(48 / 12) beyond the horizon
    assert coverage(np.zeros((4, 1)), -np.ones((4, 1)), np.array([[1.0], [1.0], [-0.5], [1.0]])) == 0.75


def test_interval_quantiles_follow_the_split_conformal_rank():
    residuals = np.arange(1.0, 20.0)[:, None, None]  # 19 residuals at one horizon step
    lower, upper = horizon_quantiles(residuals, np.ones((19, 1), dtype=bool), 0.9)
    assert upper[0, 0] == 19.0 and lower[0, 0] == 1.0  # ceil(20 * 0.95) = 19th of 19
    lower, upper = horizon_quantiles(residuals, np.ones((19, 1), dtype=bool), 0.5)
    assert upper[0, 0] == 15.0 and lower[0, 0] == 5.0  # ceil(20 * 0.75) = 15th


def test_lag_block_pads_before_the_series_with_zeros():
    sources = np.arange(1.0, 7.0)[:, None]
    block = lag_block(sources, 3, 0, 3)
    np.testing.assert_array_equal(block, [[1, 1, 0, 0], [1, 2, 1, 0], [1, 3, 2, 1]])


@pytest.mark.parametrize("share", [1.0, 0.6])
def test_a_saved_network_model_forecasts_and_predicts_as_the_forecaster_scored_it(tmp_path, share):
    from evolino.forecasting.combined import CombinedLinear, Member
    from evolino.forecasting.forecaster import _NetworkFinal
    from evolino.forecasting.model import ForecastModel

    series = _series(seasonal_series(steps=160))
    prepared = prepare(series, SeriesTransform(difference=True, season=12), cut=100, washout=13)
    other = prepare(series, SeriesTransform(log=True), cut=100, washout=13)
    origins = np.array([100, 110])
    members = [Member(p, order, error, linear_forecasts(p, [order], origins, 10)[0])
               for p, order, error in ((prepared, 2, 0.5), (other, 3, 1.0))]
    linear = CombinedLinear(members)  # weights 0.8 and 0.2: the networks take the first member's place
    spec = LSTMSpec(cells=3, n_outputs=1, feedback=True, feedback_scale=1e-2, readout_lags=2)
    genomes = np.random.default_rng(11).normal(0, 0.3, (2, spec.dimension))
    readout = ReadoutConfig(rcond=1e-12, ridge="validation", ridge_grid=(0.0, 1e-2, 1.0))
    final = _NetworkFinal(prepared, {"spec": spec, "genomes": genomes, "ridge": "gcv", "readout": readout,
                                     "share": share}, linear)
    residuals, mask = final.residuals(origins, 10)
    model = ForecastModel.from_parts(final, residuals, mask, 0.9, series)
    model.save(tmp_path / "model.npz")
    model = ForecastModel.load(tmp_path / "model.npz")
    kept = [0.8 * (1 - share), 0.2] if share < 1 else [0.2]  # the leader keeps what the networks do not take
    assert model.network.weight == pytest.approx(0.8 * share) and [m.weight for m in model.members] == \
        pytest.approx(kept)
    seen, steps = series.seen, series.sizes[2]
    forecast = final.forecast(seen, steps)
    np.testing.assert_allclose(model.forecast(series.levels[:seen], steps), forecast, rtol=1e-9)
    alone = final.network_forecasts(np.array([seen]), steps)[0]
    linear_parts = [m.forecasts_at(np.array([seen]), steps, fit_end=seen)[0] for m in members]
    np.testing.assert_allclose(forecast, 0.8 * share * alone + 0.8 * (1 - share) * linear_parts[0]
                               + 0.2 * linear_parts[1], rtol=1e-12)
    predictions = model.predict(series.levels)
    np.testing.assert_allclose(predictions[seen:], final.one_step(seen, steps), rtol=1e-9)
    assert np.isnan(predictions[: model.settle_steps]).all() and model.settle_steps == 13 + 2
