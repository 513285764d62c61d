"""The Forecaster end to end: its choices are made on the backtest and reported, the linear model is the fallback
by construction, the saved model reproduces the reported forecast, and the command line writes dates and bounds."""

import json

import numpy as np
import pytest

import evolino
from evolino.cli import main
from evolino.forecasting import Forecaster, ForecastModel
from evolino.forecasting import forecaster as forecaster_module

TINY = dict(cells=2, population=8, generations=3, seed=0)


def monthly(months=144, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    y = 100 + 0.8 * t + 12 * np.sin(2 * np.pi * t / 12) + np.cumsum(rng.normal(0, 1.5, months))
    stamps = np.datetime64("1990-01") + t
    return y, [str(s) for s in stamps]


def write_monthly(path, months=144, seed=0):
    y, stamps = monthly(months, seed)
    path.write_text("month,sales\n" + "".join(f"{s},{v:.5f}\n" for s, v in zip(stamps, y, strict=True)))
    return y


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    csv = tmp_path_factory.mktemp("f") / "sales.csv"
    y = write_monthly(csv)
    task = evolino.data_task(evolino.read_table(csv))
    return Forecaster(evolino.Evolino(**TINY)).fit(task), task, y


def test_choices_come_from_the_backtest_and_are_reported(fitted):
    forecaster, task, y = fitted
    result = forecaster.result_
    assert result.season == 12  # from the monthly dates
    backtest = result.backtest
    assert backtest["chosen"] == result.final and len(backtest["origins"]) == 5
    seen = task.train[0].steps + task.validation[0].steps
    assert backtest["horizon"] == task.test[0].steps and max(backtest["origins"]) + backtest["horizon"] <= seen
    members = backtest["linear_members"]
    # a positive series: AR(p) under 8 transforms, and exponential smoothing of the levels and of their logs
    assert [m["model"].startswith("ETS") for m in members] == [False] * 8 + [True] * 2
    assert sum(m["weight"] for m in members) == pytest.approx(1.0)
    errors = np.array([m["backtest_error"] for m in members])
    weights = np.array([m["weight"] for m in members])
    np.testing.assert_allclose(weights, errors**-2 / np.sum(errors**-2))  # inverse squared backtest errors
    leader = max(members[:8], key=lambda m: m["weight"])
    assert result.readout_lags == leader["order"]  # the networks' lags and transform: the best member's
    if result.final == "linear":
        assert result.transform["name"] == leader["transform"]
    assert result.validation_error <= backtest["linear"]  # the final model is never worse on the backtest
    # networks whose cells are shrunk away (the largest ridge) in the leader's place give back the linear model
    assert backtest["candidates"]["k=1 ridge=1e+08"] == pytest.approx(backtest["linear"], rel=1e-5)
    summary = result.summary()
    json.dumps(summary)  # JSON-ready: no NaN
    assert {"transform", "season", "final", "ensemble", "backtest", "interval"} <= set(summary)


def test_the_linear_fallback_is_exactly_the_ar_baseline(fitted):
    forecaster, task, y = fitted
    result = forecaster.result_
    if result.final == "linear":
        assert result.test_error == result.baselines["ar"]["test_error"]
    assert result.baselines["ar"]["members"] == result.backtest["linear_members"]
    assert {"ar", "persistence", "seasonal_naive", "mean"} == set(result.baselines)
    # the seasonal naive forecast is the last season repeated
    seen = task.train[0].steps + task.validation[0].steps
    outputs = task.to_original(result.baseline_outputs["seasonal_naive"][0])
    np.testing.assert_allclose(outputs[:12, 0], y[seen - 12 : seen], atol=1e-5)  # the CSV holds 5 decimals


def test_the_saved_model_reproduces_the_reported_forecast_and_bounds(fitted, tmp_path):
    forecaster, task, y = fitted
    result, model = forecaster.result_, forecaster.model_
    steps = task.test[0].steps
    history = task.to_original(np.concatenate([task.train[0].targets, task.validation[0].targets]))  # as read
    seen = history.shape[0]
    reported = task.to_original(result.test_outputs[0])
    np.testing.assert_allclose(model.forecast(history, steps), reported, rtol=1e-9)
    model.save(tmp_path / "model.npz")
    again = ForecastModel.load(tmp_path / "model.npz")
    np.testing.assert_allclose(again.forecast(history, steps), reported, rtol=1e-9)
    lower, upper = again.interval(reported, result.interval["level"])
    np.testing.assert_allclose(lower, task.to_original(result.interval_outputs[0]), rtol=1e-9)
    assert (lower <= reported).all() and (reported <= upper).all()
    inside = ((y[seen:, None] >= lower) & (y[seen:, None] <= upper)).mean()
    assert inside == pytest.approx(result.interval["coverage"])
    (tmp_path / "nothing.npz").write_bytes(b"not an archive")
    with pytest.raises(ValueError, match="not an evolino forecast model"):
        ForecastModel.load(tmp_path / "nothing.npz")


def test_a_network_must_beat_the_linear_model_from_every_origin(monkeypatch, fitted):
    """The rule, on crafted backtest forecasts: "0" wins pooled but loses from one origin; "1" wins everywhere."""
    forecaster, task, y = fitted
    estimator = forecaster.estimator_
    series = forecaster_module.Series.from_task(task)
    origins = np.array([80, 90, 100])
    targets, mask = series.windows(origins, 10)
    linear = targets + 1.0  # the linear model misses by 1 everywhere

    def crafted(spec, genomes, prepared, readout, origins_, horizon, kernel=None):
        pooled_winner = targets + np.array([0.1, 0.1, 1.2])[:, None, None]  # better pooled, worse from origin 3
        everywhere = targets + 0.9
        k = len(genomes)
        return {"0": np.broadcast_to(pooled_winner, (k, *targets.shape)),
                "1": np.broadcast_to(everywhere, (k, *targets.shape)),
                "gcv": np.broadcast_to(linear + 5, (k, *targets.shape))}

    monkeypatch.setattr(forecaster_module, "network_backtest", crafted)
    error = lambda f: float(forecaster_module.pooled_errors("nrmse", targets, mask, f[None])[0])  # noqa: E731
    alone = forecaster_module.CombinedLinear([forecaster_module.Member(None, 1, error(linear), linear)])
    outcome = forecaster_module._Outcome(series, None, 1, origins, 10, error(linear), alone, 12,
                                         linear_per_origin=forecaster_module._per_origin("nrmse", targets, mask,
                                                                                         linear))
    Forecaster()._choose_network(estimator, outcome)
    assert outcome.network["qualified"] and outcome.network["ridge"] == "1"
    assert outcome.candidates["k=1 ridge=0"] < outcome.candidates["k=1 ridge=1"]  # "0" was the pooled best


def test_settings_are_honoured_and_checked(tmp_path):
    csv = tmp_path / "sales.csv"
    write_monthly(csv, months=120)
    task = evolino.data_task(evolino.read_table(csv))
    linear = Forecaster(transform="diff", season=4, networks=False).fit(task).result_
    assert linear.transform["name"] == "diff" and linear.season == 4 and linear.final == "linear"
    assert linear.generations == 0 and [m["transform"] for m in linear.backtest["linear_members"]] == ["diff"]
    with pytest.raises(ValueError, match="unknown transform"):
        Forecaster(transform="boxcox").fit(task)
    with pytest.raises(ValueError, match="ensemble"):
        Forecaster(ensemble=0).fit(task)


def test_generate_writes_the_dates_after_the_data_and_the_bounds(tmp_path, capsys):
    csv = tmp_path / "sales.csv"
    write_monthly(csv, months=96)
    out = tmp_path / "run"
    assert main(["run", "--data", str(csv), "--cells", "2", "--population", "8", "--generations", "2", "--quiet",
                 "--no-plots", "--out", str(out)]) == 0
    assert main(["generate", str(out), "--steps", "30", "--interval", "0.8"]) == 0
    assert "grow as the square root" in capsys.readouterr().out  # 30 steps: past the backtest's 14
    columns = (out / "generated.csv").read_text().splitlines()
    assert columns[0] == "month,sales,sales_lower,sales_upper"
    assert columns[1].startswith("1998-01,") and columns[30].startswith("2000-06,")  # after 1997-12
    rows = np.array([[float(c) for c in line.split(",")[1:]] for line in columns[1:]])
    assert (rows[:, 1] <= rows[:, 0]).all() and (rows[:, 0] <= rows[:, 2]).all()
    assert main(["generate", str(out), "--steps", "5"]) == 0  # no --interval: the forecast alone
    assert (out / "generated.csv").read_text().splitlines()[0] == "month,sales"


def test_forecast_flags_are_checked_in_one_line(tmp_path, capsys):
    csv = tmp_path / "sales.csv"
    write_monthly(csv, months=96)
    assert main(["run", "--data", str(csv), "--transform", "boxcox", "--out", str(tmp_path / "never")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "forecast.transform must be auto or one of" in err[0]
    mso = tmp_path / "mso"
    assert main(["run", "--task", "mso2", "--generations", "2", "--population", "8", "--quiet", "--no-plots",
                 "--out", str(mso)]) == 0
    assert main(["generate", str(mso), "--steps", "5", "--interval", "0.9"]) == 2
    assert "--interval needs a forecast run" in capsys.readouterr().err


def test_a_resumed_forecast_run_ends_as_the_uninterrupted_one(tmp_path):
    csv = tmp_path / "sales.csv"
    write_monthly(csv, months=96)
    small = ["--cells", "2", "--population", "8", "--quiet", "--no-plots", "--checkpoint-every", "1"]
    assert main(["run", "--data", str(csv), "--generations", "4", "--out", str(tmp_path / "whole"), *small]) == 0
    assert main(["run", "--data", str(csv), "--generations", "2", "--out", str(tmp_path / "cut"), *small]) == 0
    assert main(["resume", str(tmp_path / "cut"), "--generations", "4", "--quiet", "--no-plots"]) == 0
    whole, cut = (json.loads((tmp_path / d / "result.json").read_text()) for d in ("whole", "cut"))
    for key in ("fitness", "test_error", "backtest", "interval", "final", "baselines"):
        assert whole[key] == cut[key], key
    assert (tmp_path / "whole" / "model.npz").read_bytes() == (tmp_path / "cut" / "model.npz").read_bytes()


def test_the_networks_share_is_bates_and_grangers_weight_and_bounds_the_loss():
    from evolino.forecasting.backtest import pooled_errors
    from evolino.forecasting.forecaster import network_share

    assert network_share(1.0, 1.0) == 0.5 and network_share(0.5, np.inf) == 1.0 and network_share(0.0, 0.3) == 1.0
    assert network_share(0.9, 1.0) == pytest.approx(0.9**-2 / (0.9**-2 + 1.0))
    rng = np.random.default_rng(3)
    targets, mask = rng.normal(size=(4, 6, 1)), np.ones((4, 6), dtype=bool)
    networks, linear = targets + rng.normal(size=targets.shape), targets + rng.normal(size=targets.shape)
    errors = pooled_errors("nrmse", targets, mask, np.stack([networks, linear]))
    share = network_share(*errors)
    mixed = pooled_errors("nrmse", targets, mask, (share * networks + (1 - share) * linear)[None])[0]
    assert mixed <= share * errors[0] + (1 - share) * errors[1] + 1e-12  # never worse than the mixture of errors


@pytest.mark.parametrize("series_seed, chosen", [(0, "linear"), (1, "network")])
def test_networks_are_chosen_only_when_they_beat_the_combination_and_each_member(tmp_path, monkeypatch, series_seed,
                                                                                  chosen):
    """Oracle networks (the series' own future) win from every origin; they become the final model exactly when
    their hedged backtest error also beats every member of the linear model (on series 0 the combination is worse
    than its best member, and the networks in the leading member's share of it do not make up the difference)."""
    csv = tmp_path / "sales.csv"
    write_monthly(csv, seed=series_seed)
    task = evolino.data_task(evolino.read_table(csv))

    def oracle(spec, genomes, prepared, readout, origins, horizon):
        levels = prepared.series.levels
        future = np.stack([levels[np.minimum(np.arange(o, o + horizon), len(levels) - 1)] for o in origins])
        return {"0": np.repeat(future[None], len(genomes), axis=0)}

    monkeypatch.setattr(forecaster_module, "network_backtest", oracle)
    result = Forecaster(evolino.Evolino(**TINY), ensemble=1).fit(task).result_
    backtest = result.backtest
    best_member = min(m["backtest_error"] for m in backtest["linear_members"])
    assert backtest["network"] < backtest["linear"] and 0.5 <= backtest["network_share"] <= 1
    assert (result.final == "network") == (backtest["network"] < best_member) and result.final == chosen
