"""The Evolino forecaster: evolved LSTM networks over the linear model inside them, chosen by a backtest.

The idea: a network's readout sees the last p values directly, so AR(p) is the network with its cells switched off.
A forecaster that chooses between them on honest evidence is never worse than the linear model, except by the
noise of that evidence. :class:`Forecaster` fits a series (a generative data task, :class:`~.series.Series`) in
these steps, every choice made on the seen data (train + validation) only:

1. the season length (:func:`~.season.season_length`: given, from the dates, or from the autocorrelation);
2. the backtest: forecast origins spread over the last two horizons of the seen data, each forecast as long as the
   test part (:func:`~.backtest.backtest_origins`);
3. the linear model inside: under every transform (none, log, first and seasonal differences) the AR order with the
   lowest backtest error (:func:`~.backtest.linear_backtest`), and the transforms' forecasts combined by inverse
   squared backtest error (:mod:`~.combined`); it is the ``ar`` baseline of the result;
4. evolution: an :class:`~evolino.trainer.Evolino` run on the series under the leading member's transform up to the
   first origin (so that no backtest window was seen by the search), its readout seeing that member's p lags;
5. the final model: the linear model, or the same with the average of the k best networks of the run (with a
   ridge strength on their cell weights: every strength of the grid, and GCV's choice per genome) in the place and
   with the weight of the leading member, whose transform and lags they were evolved with. Networks whose cells are
   shrunk away give back the linear model exactly, so the candidates start from it; one is taken only if it beats
   the linear model from every origin of the same backtest (the readouts refitted at every origin on the data
   before it) and pooled;
6. the refit on all seen data, the forecast of the test part, integrated back into the data's units and scored
   once; the same for the trivial forecasters beside it (persistence, seasonal naive, the training mean, AR(p));
7. prediction intervals from the chosen model's residuals at every horizon step, from up to 40 origins spread over
   the backtest region, each window a whole horizon (:mod:`~.intervals`), and their coverage of the test part.

``result_`` holds the errors and every choice (``transform``, ``season``, ``backtest``, ``ensemble``, ``interval``),
``model_`` the fitted :class:`~.model.ForecastModel` (``forecast(steps)`` with bounds, in the data's units).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from evolino.fitness import ForwardPasses
from evolino.forecasting.backtest import (
    DEFAULT_ORIGINS,
    backtest_origins,
    candidate_orders,
    linear_backtest,
    network_backtest,
    network_line,
    pooled_errors,
)
from evolino.forecasting.combined import DESCRIPTION, CombinedLinear, Member
from evolino.forecasting.intervals import DEFAULT_LEVEL, coverage, horizon_quantiles
from evolino.forecasting.model import ForecastModel
from evolino.forecasting.season import season_length
from evolino.forecasting.series import Prepared, Series, prepare
from evolino.forecasting.smoothing import smoothing_members
from evolino.forecasting.transforms import SeriesTransform, candidate_transforms
from evolino.metrics import finite_or_none, score
from evolino.params import ParamsMixin
from evolino.readout import ReadoutConfig
from evolino.tasks.base import Task
from evolino.trainer import Evolino, FitResult

__all__ = ["Forecaster", "ForecastResult", "ENSEMBLE_SIZES", "INTERVAL_ORIGINS"]

ENSEMBLE_SIZES = (1, 3, 5)  # k best networks averaged: the sizes the backtest chooses from with ensemble="auto"
INTERVAL_ORIGINS = 40  # origins of the residuals that make the prediction intervals
MAX_ORDER = 30


@dataclass
class ForecastResult(FitResult):
    """A :class:`~evolino.trainer.FitResult` whose errors are in the data's units, with the forecaster's choices.

    Attributes (besides FitResult's)
    ----------
    transform : dict
        The chosen transform (:meth:`SeriesTransform.to_dict`).
    season : int or None
    final : str
        "linear" or "network".
    ensemble : int
        Networks averaged (0 for the linear model).
    backtest : dict
        The origins, horizon, and the pooled errors of the linear model, the best network candidate and every
        candidate tried.
    interval : dict
        Level, test coverage, and the bounds of the test forecast (in ``interval_outputs``).
    """

    transform: dict = field(default_factory=dict)
    season: int | None = None
    final: str = "linear"
    ensemble: int = 0
    backtest: dict = field(default_factory=dict)
    interval: dict = field(default_factory=dict)
    interval_outputs: list = field(default_factory=list)

    def summary(self) -> dict:
        return {**super().summary(), "ridge": finite_or_none(self.ridge), "transform": self.transform,
                "season": self.season, "final": self.final, "ensemble": self.ensemble, "backtest": self.backtest,
                "interval": self.interval}


class Forecaster(ParamsMixin):
    """Forecast a series with Evolino networks, never worse on the backtest than their linear part (see the module
    docstring for what ``fit`` does).

    Parameters
    ----------
    estimator : Evolino, optional
        The evolution's settings (cells, population, generations, optimizer, seed, ...); default ``Evolino()``.
        Its ``readout_lags`` is set to the chosen AR order.
    season : int, optional
        Season length; None: from the dates' frequency or the autocorrelation; 0 or 1: none.
    transform : str
        "auto" (chosen on the backtest) or one of :data:`~.transforms.TRANSFORM_NAMES`.
    ensemble : int or "auto"
        Networks averaged: "auto" chooses among :data:`ENSEMBLE_SIZES` on the backtest.
    origins : int
        Forecast origins of the backtest.
    interval : float
        Level of the prediction intervals (e.g. 0.9).
    networks : bool
        False: the linear model only (no evolution), for comparisons.
    """

    def __init__(self, estimator: Evolino | None = None, season: int | None = None, transform: str = "auto",
                 ensemble: int | str = "auto", origins: int = DEFAULT_ORIGINS, interval: float = DEFAULT_LEVEL,
                 networks: bool = True) -> None:
        self.estimator = estimator
        self.season = season
        self.transform = transform
        self.ensemble = ensemble
        self.origins = origins
        self.interval = interval
        self.networks = networks

    # ------------------------------------------------------------------------------------------------- choices

    def _validate(self) -> None:
        if self.season is not None and (isinstance(self.season, bool) or int(self.season) != self.season
                                        or self.season < 0):
            raise ValueError(f"season must be a non-negative integer or None, got {self.season!r}")
        if not (isinstance(self.origins, (int, np.integer)) and self.origins >= 1):
            raise ValueError(f"origins must be a positive integer, got {self.origins!r}")
        if not (self.ensemble == "auto" or (isinstance(self.ensemble, (int, np.integer)) and self.ensemble >= 1)):
            raise ValueError(f'ensemble must be a positive integer or "auto", got {self.ensemble!r}')
        if not 0 < float(self.interval) < 1:
            raise ValueError(f"interval must be between 0 and 1, got {self.interval!r}")

    def _transforms(self, series: Series, season: int | None) -> list[SeriesTransform]:
        seen = series.levels[: series.seen]
        if self.transform == "auto":
            return candidate_transforms(seen, season)
        transform = SeriesTransform.from_name(self.transform, season)
        if not transform.applies_to(seen):
            raise ValueError(f"transform {self.transform!r} does not apply to {series.name!r}"
                             + (" (log needs positive values)" if transform.log else " (too few steps)"))
        return [transform]

    def _linear_choice(self, series: Series, transforms, cut: int, origins, horizon: int, season):
        """The linear model inside: each transform's best AR(p) on the backtest and the best exponential smoothing of
        the levels and of the logs, combined (:mod:`.combined`).

        Each transform's task has a washout of at least the largest order tried, so that a network's readout is
        fitted on the same rows as the linear models (and equals AR(p) when its cells are shrunk away)."""
        members = []
        for transform in transforms:
            limit = min(MAX_ORDER, (cut - transform.lost) // 4)
            orders = candidate_orders(limit, season)
            try:
                washout = max(min(50, (cut - transform.lost) // 10), max(orders))
                prepared = prepare(series, transform, cut, washout=washout)
            except ValueError:
                continue  # e.g. a log that is not finite before the test part, or too short a training part
            result = linear_backtest(prepared, orders, origins, horizon)
            members.append(Member(prepared, result.orders[result.best], float(result.errors[result.best]),
                                  result.forecasts[result.best]))
        if not members:
            raise ValueError(f"{series.name!r} is too short for a backtest of any transform")
        return CombinedLinear(members + smoothing_members(series, transforms, season, origins, horizon))

    def check(self, task: Task) -> None:
        """Fail early, in one line, on settings or a task this forecaster cannot fit (before any work is done)."""
        self._validate()
        series = Series.from_task(task)
        if series.seen < 8:
            raise ValueError(f"{series.name!r} has {series.seen} steps before its test part: too few to forecast")

    # --------------------------------------------------------------------------------------------------- fit

    def fit(self, task: Task, *, resume: bool = False, callbacks=(), checkpoint_dir=None, checkpoint_every: int = 0,
            keep_checkpoints: int = 2, handle_sigint: bool = False) -> Forecaster:
        """Fit on a generative one-series task (e.g. ``evolino.data_task(table)``); the arguments after ``task`` are
        those of :meth:`evolino.trainer.Evolino.fit` (how the evolution is carried out)."""
        self.check(task)
        start = time.perf_counter()
        series = Series.from_task(task)
        time_info = series.time or {}
        season = season_length(series.levels[: series.seen], self.season, time_info.get("season"))
        transforms = self._transforms(series, season)
        transforms, season, short = _room_for_backtest(transforms, series.seen, series.horizon, season)
        minimum = max(t.lost for t in transforms) + _fit_floor(season)
        origins, horizon = backtest_origins(series.seen, series.horizon, int(self.origins), minimum)
        cut = int(origins[0])
        linear = self._linear_choice(series, transforms, cut, origins, horizon, season)
        prepared, order = linear.leader.prepared, linear.leader.order
        estimator = Evolino(**({} if self.estimator is None else self.estimator.get_params()))
        estimator.set_params(readout_lags=order)
        targets, mask = series.windows(origins, horizon)
        combined = linear.backtest_forecasts()
        outcome = _Outcome(series, prepared, order, origins, horizon,
                           float(pooled_errors(series.metric, targets, mask, combined[None])[0]), linear, season,
                           task.scaler, minimum=prepared.offset + _fit_minimum(order, prepared),
                           linear_per_origin=_per_origin(series.metric, targets, mask, combined))
        outcome.notes += short
        if self.networks and _trainable(estimator, prepared, outcome):
            estimator.fit(prepared.task.without_test(), resume=resume, callbacks=callbacks,
                          checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every,
                          keep_checkpoints=keep_checkpoints, handle_sigint=handle_sigint)
            self._choose_network(estimator, outcome)
        self.estimator_ = estimator
        self._finish(estimator, outcome, start)
        return self

    def _ensemble_sizes(self, available: int) -> list[int]:
        sizes = ENSEMBLE_SIZES if self.ensemble == "auto" else (int(self.ensemble),)
        return sorted({min(k, available) for k in sizes})

    def _choose_network(self, estimator: Evolino, outcome: _Outcome) -> None:
        """Backtest the k best networks of the run at every ridge strength; keep the best candidate that beats the
        linear model from every origin (and pooled) in ``outcome.network``.

        Why every origin: with 27 candidates and five overlapping windows, the lowest pooled error is optimistic. In
        development (34 real series, two seeds: docs/forecasting.md) the best pooled candidate beat the linear model
        on the backtest in 47 of 68 runs and was worse than it on the test part by more than 5% in 9 of them (up to
        1.5x); a candidate that wins from every origin was chosen in 2 runs, better than the linear model in both.

        Even so, five overlapping windows are thin evidence (on the benchmark's marathon series the networks beat the
        linear model by 10% from every origin and lost 4-8% on the test), so the chosen networks share the leading
        member's place with it, in proportion to their inverse squared backtest errors (:func:`network_share`), and
        the result must also beat every single member of the linear model: where the combination is worse than its
        best member, a network that beats the combination may only be closer to that member. On the development
        series this rule kept the network choices that were better than the linear model on the test (co2,
        JohnsonJohnson: 0.95-1.00 times it) and dropped those that were worse (marathon, cpi, ausbeer, elec_equip:
        up to 1.06 times), and one that was better (ausbeer, 0.97)."""
        genomes = estimator.top_genomes_
        if not len(genomes):
            return
        spec = estimator.model_.spec
        sizes = self._ensemble_sizes(len(genomes))
        readout = _readout_config(estimator)
        forecasts = network_backtest(spec, genomes[: max(sizes)], outcome.prepared, readout, outcome.origins,
                                     outcome.horizon)
        series = outcome.series
        targets, mask = series.windows(outcome.origins, outcome.horizon)
        linear = outcome.linear_per_origin
        combined, leader = outcome.linear.backtest_forecasts(), outcome.linear.leader
        weight = outcome.linear.leader_weight
        candidates, qualified, changes = {}, {}, {}
        for label, by_genome in forecasts.items():
            for k in sizes:  # the networks in the place of the leading member's AR(p)
                with np.errstate(all="ignore"):
                    changes[(k, label)] = _average(by_genome[:k]) - leader.forecasts
                    mean = combined + weight * changes[(k, label)]
                error = float(pooled_errors(series.metric, targets, mask, mean[None])[0])
                per_origin = _per_origin(series.metric, targets, mask, mean)
                candidates[(k, label)] = error
                if error < outcome.linear_error and (per_origin < linear).all():
                    qualified[(k, label)] = error
        outcome.candidates = {f"k={k} ridge={label}": finite_or_none(e) for (k, label), e in candidates.items()}
        pool = qualified or candidates
        (k, label), error = min(pool.items(), key=lambda item: (item[1], item[0][0]))
        share = network_share(error, outcome.linear_error)
        with np.errstate(all="ignore"):
            hedged = combined + share * weight * changes[(k, label)]
        hedged_error = float(pooled_errors(series.metric, targets, mask, hedged[None])[0])
        best_member = min(m.error for m in outcome.linear.members)
        outcome.network = {"error": hedged_error, "unhedged_error": error, "share": share, "ensemble": k,
                           "ridge": label, "spec": spec, "genomes": genomes[:k], "readout": readout,
                           "qualified": bool(qualified) and hedged_error < best_member}

    # ------------------------------------------------------------------------------------------------ finish

    def _finish(self, estimator: Evolino, outcome: _Outcome, start: float) -> None:
        series, prepared = outcome.series, outcome.prepared
        network = outcome.network
        use_network = network is not None and network["qualified"]
        test_steps = series.sizes[2]
        linear = outcome.linear
        final = _NetworkFinal(prepared, network, linear) if use_network else linear
        outputs = final.forecast(series.seen, test_steps) if test_steps else np.zeros((0, series.levels.shape[1]))
        one_step = final.one_step(series.seen, test_steps) if test_steps else outputs
        dense = _interval_origins(outcome.minimum, series.seen, outcome.horizon)
        residuals, mask = final.residuals(dense, outcome.horizon)
        level = float(self.interval)
        test_targets = series.levels[series.seen:]
        test_mask = series.scored[series.seen:]
        interval = {"level": level, "origins": len(dense)}
        bounds = []
        if test_steps:
            lower, upper = horizon_quantiles(residuals, mask, level, steps=test_steps)
            bounds = [outputs + lower, outputs + upper]
            interval["coverage"] = finite_or_none(coverage(test_targets, *bounds, test_mask))
        model = ForecastModel.from_parts(final, residuals, mask, level, series)
        baselines, baseline_outputs = _baselines(series, linear, outcome.season)
        history = getattr(estimator, "result_", None)
        fit = history if history is not None else None
        test_error = _error(series, test_targets, outputs, test_mask) if test_steps else float("nan")
        one_step_error = _error(series, test_targets, one_step, test_mask) if test_steps else float("nan")
        backtest = {"origins": [int(o) for o in outcome.origins], "horizon": int(outcome.horizon),
                    "linear": finite_or_none(outcome.linear_error),
                    "network": None if network is None else finite_or_none(network["error"]),
                    "chosen": "network" if use_network else "linear",
                    "network_ridge": None if network is None else network["ridge"],
                    "network_ensemble": None if network is None else network["ensemble"],
                    "network_share": None if network is None else network["share"],
                    "linear_members": linear.describe(), "candidates": outcome.candidates}
        scale = _level_scale(outcome.level_scaler)
        self.model_ = model
        self.result_ = ForecastResult(
            model=model, task=series.name, optimizer=estimator.optimizer, seed=int(estimator.seed),
            cells=estimator.cells_for(prepared.task), generations=fit.generations if fit else 0,
            evaluations=fit.evaluations if fit else 0, wall_seconds=time.perf_counter() - start,
            validation_error=float(network["error"] if use_network else outcome.linear_error),
            test_error=test_error, stop_reason=fit.stop_reason if fit else "linear only",
            fitness=fit.fitness if fit else float("nan"), metric=series.metric, test_one_step_error=one_step_error,
            ridge=float(network["ridge"]) if use_network and network["ridge"] != "gcv" else float("nan"),
            readout_lags=int(outcome.order), holdout=fit.holdout if fit else 0.0,
            test_scores=_test_scores(series, test_targets, outputs, test_mask) if test_steps else {},
            baselines=baselines, history=fit.history if fit else [],
            test_outputs=[scale(outputs)] if test_steps else [],
            test_one_step_outputs=[scale(one_step)] if test_steps else [],
            baseline_outputs={k: [scale(v)] for k, v in baseline_outputs.items()},
            transform=(prepared if use_network else linear.leader.prepared).transform.to_dict(), season=outcome.season,
            final="network" if use_network else "linear", ensemble=network["ensemble"] if use_network else 0,
            backtest=backtest, interval=interval, interval_outputs=[scale(b) for b in bounds],  # [lower, upper]
        )
        self.result_.warnings = outcome.notes + _warnings(self.result_)


# ---------------------------------------------------------------------------------------------------- helpers


@dataclass
class _Outcome:
    """What the choices found so far."""

    series: Series
    prepared: Prepared
    order: int
    origins: np.ndarray
    horizon: int
    linear_error: float
    linear: CombinedLinear
    season: int | None
    level_scaler: object = None  # the data task's Standardizer: result files convert from its units
    minimum: int = 0  # the first level step a model can be fitted before
    linear_per_origin: np.ndarray | None = None  # (O,) the linear model's error from each origin
    network: dict | None = None
    candidates: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


def network_share(network_error: float, linear_error: float) -> float:
    """The networks' share of the leading member's place: ``e_net^-2 / (e_net^-2 + e_lin^-2)`` of their pooled
    backtest errors (Bates & Granger's weights for two forecasts), 1 when the linear model's error is not finite.

    The forecast's error is then at most this mixture of the two errors (the triangle inequality), so networks that
    beat the linear model by 10% on the backtest and lose 10% on the test cost at most 5%."""
    if network_error == 0 or not np.isfinite(linear_error):
        return 1.0
    if linear_error == 0:
        return 0.0
    inverse_net, inverse_lin = network_error**-2.0, linear_error**-2.0
    return float(inverse_net / (inverse_net + inverse_lin))


def _fit_floor(season: int | None) -> int:
    """Steps a backtest's first origin keeps to fit on, besides those a transform loses: 12, or two seasons."""
    return max(12, 2 * (season or 0))


def _room_for_backtest(transforms: list[SeriesTransform], seen: int, horizon: int,
                       season: int | None) -> tuple[list[SeriesTransform], int | None, list[str]]:
    """(transforms, season, notes) that leave a short series room for a backtest. Unchanged when every transform
    has room; otherwise the transforms that leave no room for a whole horizon (``horizon`` steps) after the steps
    they lose and those a fit needs are dropped, and when none is left, the season (its transforms, and its two
    seasons to fit on); then a shorter horizon is accepted. A note says what was dropped; nothing is dropped when
    nothing fits (the backtest then says why in one line)."""
    if max(t.lost for t in transforms) + _fit_floor(season) < seen:
        return transforms, season, []
    for room in (horizon, 1):
        kept = [t for t in transforms if t.lost + _fit_floor(season) + room <= seen]
        if kept:
            return kept, season, [f"{seen} seen steps are too few to backtest the transforms "
                                  f"{', '.join(t.name for t in transforms if t not in kept)}: they were not tried"]
        kept = [t for t in transforms if not t.season and t.lost + _fit_floor(None) + room <= seen]
        if season and kept:
            return kept, None, [f"{seen} seen steps are too few to backtest a season of {season} steps: the "
                                "forecast has no season"]
    return transforms, season, []


def _per_origin(metric: str, targets: np.ndarray, mask: np.ndarray, forecasts: np.ndarray) -> np.ndarray:
    """(O,) the error of a forecast (O, H, m) from each origin alone."""
    return np.array([pooled_errors(metric, targets[i : i + 1], mask[i : i + 1], forecasts[None, i : i + 1])[0]
                     for i in range(len(targets))])


def _average(forecasts: np.ndarray) -> np.ndarray:
    """The mean over the first axis (networks), NaN where a member diverged (the candidate then scores +inf)."""
    with np.errstate(all="ignore"):
        return forecasts.mean(axis=0)


def _readout_config(estimator: Evolino) -> ReadoutConfig:
    protocol = estimator.protocol_
    return ReadoutConfig(rcond=float(estimator.rcond), ridge="validation", bias=bool(estimator.readout_bias),
                         ridge_grid=protocol.grid)


def _interval_origins(first: int, seen: int, horizon: int) -> np.ndarray:
    """Origins of the residuals: up to ``INTERVAL_ORIGINS`` spread over the backtest region [seen - 2h, seen - h]
    (no earlier than ``first``), so that every window is a whole horizon and every horizon step has as many
    residuals; on a series too short for that, from its last step. (Origins reaching back to the first fittable
    step, with windows cut at the end of the seen data, gave a median coverage of 100% of the 90% intervals on the
    development series: early fits on little data widen the bounds; these gave 93%.)"""
    low = min(max(first, seen - 2 * horizon), seen - 1)  # a short series: origins inside the seen data all the same
    return np.unique(np.round(np.linspace(low, max(low, seen - horizon), INTERVAL_ORIGINS)).astype(int))


def _error(series: Series, targets: np.ndarray, outputs: np.ndarray, mask: np.ndarray) -> float:
    if not mask.any() or not np.isfinite(outputs[mask]).all():
        return float("inf") if mask.any() else float("nan")
    return float(score(series.metric, targets, outputs[None], mask)[0])


def _test_scores(series: Series, targets, outputs, mask) -> dict:
    from evolino.metrics import report_scores

    if not np.isfinite(outputs[mask]).all():
        return {}
    return report_scores(("nrmse", "rmse", "mae"), targets, outputs, mask, None, None)


def _level_scale(scaler):
    """Levels -> the units of the data task (its standardisation), which a run folder's files convert back."""
    if scaler is None:
        return lambda values: np.asarray(values, dtype=np.float64)
    return lambda values: scaler.targets_to_model(np.asarray(values, dtype=np.float64))


def _fit_minimum(order: int, prepared: Prepared) -> int:
    """Transformed steps a fit needs before its origin: the lags, and four rows per weight of AR(order) (and at
    least the network task's washout)."""
    width = prepared.z.shape[1] + (0 if prepared.inputs is None else prepared.inputs.shape[1])
    return max(prepared.task.washout, order) + 4 * (1 + order * width)


def _trainable(estimator: Evolino, prepared: Prepared, outcome: _Outcome) -> bool:
    """Whether the networks can be evolved on the series before the backtest (a holdout of its training part needs
    room beyond the washout); if not, the forecast is the linear model's, with a note."""
    try:
        estimator.build_problem(prepared.task.without_test())
    except ValueError as exc:
        outcome.notes.append(f"no networks were evolved ({exc}): the forecast is the linear model's")
        return False
    return True


class _NetworkFinal:
    """The average of the k best networks in the place of the linear model's leading member (its transform, its
    weight), their readouts refitted on every step before an origin; the other members as in the linear model."""

    kind = "network"

    def __init__(self, prepared: Prepared, network: dict, linear: CombinedLinear) -> None:
        self.prepared, self.network, self.linear = prepared, network, linear
        self.spec, self.genomes, self.label = network["spec"], network["genomes"], network["ridge"]
        self.share = network["share"]
        grid = network["readout"].ridge_grid
        self.readout = replace(network["readout"], ridge_grid=grid if self.label == "gcv" else
                               (float(self.label),))

    def network_forecasts(self, origins: np.ndarray, horizon: int) -> np.ndarray:
        """The networks' average alone (O, H, m)."""
        found = network_backtest(self.spec, self.genomes, self.prepared, self.readout, origins, horizon)
        return _average(found[self.label])

    def forecasts(self, origins: np.ndarray, horizon: int) -> np.ndarray:
        return self.linear.blend(self.network_forecasts(origins, horizon),
                                 lambda member: member.forecasts_at(origins, horizon), self.share)

    def forecast(self, origin: int, steps: int) -> np.ndarray:
        origins = np.array([origin])
        return self.linear.blend(self.network_forecasts(origins, steps)[0],
                                 lambda member: member.forecasts_at(origins, steps, fit_end=origin)[0], self.share)

    def one_step(self, origin: int, steps: int) -> np.ndarray:
        prepared = self.prepared
        offset = prepared.offset
        weights = self.readouts(origin)
        line = network_line(self.spec, prepared, prepared.series.steps)
        passes = ForwardPasses(self.spec, self.genomes, None)
        _, state = passes.advance(line, 0, origin - offset, None)
        (outputs,), _ = passes.teacher_outputs(line, origin - offset, origin - offset + steps, state, [weights])
        return self.linear.blend(_average(prepared.one_step_levels(outputs, origin)),
                                 lambda member: member.one_step(origin, steps), self.share)

    def readouts(self, end: int) -> np.ndarray:
        """The members' readouts (k, rows, m) fitted on the steps before ``end``."""
        from evolino.readout import ReadoutStats

        prepared, spec = self.prepared, self.spec
        line = network_line(spec, prepared, end)
        rows = line.scored.copy()
        rows[: max(prepared.task.washout, spec.readout_lags - 1)] = False
        stats = ReadoutStats(len(self.genomes), spec.readout_rows, spec.n_outputs)
        passes = ForwardPasses(spec, self.genomes, None)
        passes.advance(line, 0, end - prepared.offset, None, fold=(stats, rows, self.readout.bias),
                       washout=prepared.task.washout)
        config = ReadoutConfig(self.readout.rcond, "auto" if self.label == "gcv" else float(self.label),
                               self.readout.bias, self.readout.ridge_grid)
        return stats.choose(config, shrunk=spec.cell_features)[0]

    def residuals(self, origins: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        forecasts = self.forecasts(origins, horizon)
        targets, mask = self.prepared.series.windows(origins, horizon)
        return targets - forecasts, mask


def _baselines(series: Series, linear: CombinedLinear, season: int | None) -> tuple[dict, dict]:
    """Test errors (JSON-ready) and outputs of the trivial forecasters, in the data's units."""
    steps = series.sizes[2]
    if not steps:
        return {}, {}
    seen, levels = series.seen, series.levels
    targets, mask = levels[seen:], series.scored[seen:]
    outputs = {"ar": linear.forecast(seen, steps), "ar_one_step": linear.one_step(seen, steps)}
    outputs["persistence"] = np.repeat(levels[seen - 1 : seen], steps, axis=0)
    outputs["persistence_one_step"] = levels[seen - 1 : seen - 1 + steps]
    known = series.scored[:seen]
    outputs["mean"] = np.repeat(levels[:seen][known].mean(axis=0, keepdims=True), steps, axis=0)
    if season:
        last = levels[seen - season : seen]
        outputs["seasonal_naive"] = np.resize(last, (steps, last.shape[1]))
        outputs["seasonal_naive_one_step"] = levels[seen - season : seen - season + steps]
    errors = {}
    for name in ("ar", "persistence", "seasonal_naive", "mean"):
        if name not in outputs:
            continue
        entry = {"test_error": finite_or_none(_error(series, targets, outputs[name], mask))}
        if f"{name}_one_step" in outputs:
            entry["test_one_step_error"] = finite_or_none(_error(series, targets, outputs[f"{name}_one_step"], mask))
        errors[name] = entry
    errors["ar"].update(order=linear.order, transform=linear.leader.prepared.transform.name,
                        members=linear.describe())
    if season:
        errors["seasonal_naive"]["season"] = season
    return errors, outputs


def _warnings(result: ForecastResult) -> list[str]:
    notes = []
    if result.final == "linear" and result.backtest.get("network") is not None:
        best_member = min((m["backtest_error"] for m in result.backtest.get("linear_members", [])
                           if m["backtest_error"] is not None), default=float("nan"))
        notes.append(f"no network beat the linear model from every backtest origin and each of its members (best "
                     f"networks {result.backtest['network']:.3g} against {result.backtest['linear']:.3g} pooled, best "
                     f"member {best_member:.3g}): the forecast is the linear model's ({DESCRIPTION})")
    best = min(((name, b["test_error"]) for name, b in result.baselines.items() if name != "ar"
                and b.get("test_error") is not None), key=lambda item: item[1], default=None)
    if best is not None and not result.test_error <= best[1]:
        notes.append(f"test error {result.test_error:.3g} is not better than the {best[0]} forecast's {best[1]:.3g}")
    return notes
