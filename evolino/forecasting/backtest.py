"""Rolling-origin backtests: how well a forecaster would have done from several points inside the seen data.

A forecast is scored on the test part, which no choice may look at. Every choice of a forecaster (the transform, the
AR order, cells or no cells, the ridge, the ensemble) is therefore made on a backtest inside the seen data (train +
validation, ``seen`` steps): from each of several forecast origins o, fit on the steps before o, forecast the next
``horizon`` steps (the test part's length) closed-loop, integrate back into the data's units, and compare with what
happened. The origins (:func:`backtest_origins`) are spread evenly over [seen - 2h, seen - h], so every window is a
whole horizon inside the seen data; on short series they move up and the horizon shrinks so that the earliest origin
keeps ``minimum`` steps to fit on. The errors of all windows are pooled with the task's metric
(:func:`pooled_errors`), as the test pools its steps.

Two families of candidates are backtested here:

* :func:`linear_backtest`: AR(p) for many orders on one transformed series, every origin in one pass over the data
  (:class:`~evolino.forecasting.linear.NestedAR`);
* :func:`network_backtest`: evolved networks (cells plus the same lags), their readout refitted at every origin on
  the steps before it, for every ridge strength of the grid and for generalized cross-validation's per-genome choice.

The residuals of the chosen forecaster at every horizon step, from origins spread more densely, give its prediction
intervals (:mod:`evolino.forecasting.intervals`).

Shapes: forecasts are (candidates, O, H, m) in the data's units; targets (O, H, m) with a mask (O, H).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evolino.fitness import ForwardPasses, Line, line_of
from evolino.forecasting.linear import NestedAR, free_run
from evolino.forecasting.series import Prepared
from evolino.metrics import score
from evolino.network import LSTMSpec, LSTMState
from evolino.readout import ReadoutConfig, ReadoutStats
from evolino.tasks.base import SequencePair

__all__ = ["backtest_origins", "pooled_errors", "linear_backtest", "network_backtest", "LinearBacktest",
           "candidate_orders", "DEFAULT_ORIGINS"]

DEFAULT_ORIGINS = 5


def backtest_origins(seen: int, horizon: int, count: int = DEFAULT_ORIGINS, minimum: int = 1,
                     span: int | None = None) -> tuple[np.ndarray, int]:
    """(origins (O,) ascending, horizon): ``count`` forecast origins spread evenly over [seen - horizon - span,
    seen - horizon] (``span`` defaults to the horizon), none before ``minimum``; the horizon shrinks when the seen
    data cannot hold a whole one after ``minimum`` steps."""
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    horizon = int(min(horizon, seen - minimum))
    if horizon < 1:
        raise ValueError(f"{seen} seen steps leave no room for a backtest after {minimum} steps to fit on")
    last = seen - horizon
    first = max(minimum, last - (horizon if span is None else span))
    origins = np.unique(np.round(np.linspace(first, last, count)).astype(int))
    return origins, horizon


def pooled_errors(metric: str, targets: np.ndarray, mask: np.ndarray, forecasts: np.ndarray) -> np.ndarray:
    """The metric of every candidate over all windows pooled: targets (O, H, m), mask (O, H), forecasts
    (n, O, H, m) -> (n,); a candidate with a non-finite forecast on a scored step scores +inf.

    The squared-error metrics are computed one candidate at a time (its residuals stay in cache): the same numbers
    as :func:`evolino.metrics.score`, which computes the others."""
    n, m = forecasts.shape[0], targets.shape[-1]
    flat_mask = mask.reshape(-1)
    if not flat_mask.any():
        return np.full(n, np.inf)
    scored_targets = targets.reshape(-1, m)[flat_mask]
    flat_forecasts = forecasts.reshape(n, -1, m)
    if metric not in ("nrmse", "rmse", "mse"):
        return score(metric, scored_targets, flat_forecasts[:, flat_mask])
    mse = np.empty((n, m))
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(n):
            residual = flat_forecasts[i][flat_mask] - scored_targets
            mse[i] = np.einsum("tm,tm->m", residual, residual) / residual.shape[0]
        if metric == "mse":
            errors = mse.mean(axis=1)
        elif metric == "rmse":
            errors = np.sqrt(mse).mean(axis=1)
        else:
            variance = np.var(scored_targets, axis=0)
            errors = np.sqrt(mse / np.where(variance > 0, variance, 1.0)).mean(axis=1)
    return np.where(np.isfinite(errors), errors, np.inf)


def candidate_orders(limit: int, season: int | None) -> list[int]:
    """AR orders worth a backtest, up to ``limit``: 1-12 and a few longer ones (16, 20, 24, 30), and the season
    and one more (its lag and the step before it)."""
    orders = {*range(1, 13), 16, 20, 24, 30}
    if season:
        orders |= {season, season + 1}
    return sorted(p for p in orders if 1 <= p <= max(1, limit))


@dataclass
class LinearBacktest:
    """The backtest of AR(p) under one transform.

    Attributes
    ----------
    orders : list of int
    errors : (len(orders),) pooled errors in the data's units
    forecasts : (len(orders), O, H, m) in the data's units
    """

    orders: list[int]
    errors: np.ndarray
    forecasts: np.ndarray

    @property
    def best(self) -> int:
        """Index of the best order (the smallest on ties)."""
        return int(np.argmin(self.errors))


def linear_forecasts(prepared: Prepared, orders: list[int], origins: np.ndarray, horizon: int,
                     fit_end: int | None = None) -> np.ndarray:
    """Closed-loop forecasts (len(orders), O, H, m) in the data's units of AR(p) for every order, each fitted on the
    steps before its origin from the task's washout on (the rows a network's readout is fitted on); ``fit_end`` caps
    the data the fits may see (default: the seen data)."""
    series = prepared.series
    offset = prepared.offset
    end = series.seen - offset if fit_end is None else fit_end - offset
    model = NestedAR(prepared.z[:end], None if prepared.inputs is None else prepared.inputs[:end],
                     max(orders), prepared.scored[:end], first=prepared.task.washout)
    forecasts = np.full((len(orders), len(origins), horizon, series.levels.shape[1]), np.nan)
    for i, origin in enumerate(origins):
        position = origin - offset
        model.advance(position)
        if model.rows <= max(orders) * model.width + 1:
            continue  # too few rows for the largest order: no forecast, the window scores +inf
        future = None if prepared.inputs is None else _future_inputs(prepared.inputs, position, horizon)
        changes = free_run(model.padded_weights(orders), model.sources[:position], prepared.z[position - 1], horizon,
                           future, lags=np.asarray(orders))
        forecasts[:, i] = prepared.to_levels(changes, origin)
    return forecasts


def _future_inputs(inputs: np.ndarray, position: int, horizon: int) -> np.ndarray:
    """The inputs of the steps [position, position + horizon); the last known row held beyond the data."""
    part = inputs[position : position + horizon]
    if part.shape[0] < horizon:
        part = np.concatenate([part, np.repeat(inputs[-1:], horizon - part.shape[0], axis=0)])
    return part


def linear_backtest(prepared: Prepared, orders: list[int], origins: np.ndarray, horizon: int) -> LinearBacktest:
    """Backtest AR(p) of every order in ``orders`` on the transformed series (see the module docstring)."""
    forecasts = linear_forecasts(prepared, orders, origins, horizon)
    targets, mask = prepared.series.windows(origins, horizon)
    return LinearBacktest(list(orders), pooled_errors(prepared.series.metric, targets, mask, forecasts), forecasts)


def _repeat_state(state: LSTMState, times: int) -> LSTMState:
    return LSTMState(np.repeat(state.h, times, axis=0), np.repeat(state.c, times, axis=0))


def network_line(spec: LSTMSpec, prepared: Prepared, end: int, horizon: int = 0) -> Line:
    """The model-unit line of level steps [offset, end) and, with ``horizon``, the steps after it to forecast (their
    inputs, when there are inputs; their targets are unknown)."""
    offset = prepared.offset
    stop = end - offset
    inputs = prepared.inputs
    known = SequencePair(prepared.z[:stop], None if inputs is None else inputs[:stop],
                         **({"filled": ~prepared.scored[:stop]} if (~prepared.scored[:stop]).any() else {}))
    if not horizon:
        return line_of(spec, [known])
    future = SequencePair(np.full((horizon, prepared.z.shape[1]), np.nan),
                          None if inputs is None else _future_inputs(inputs, stop, horizon))
    return line_of(spec, [known, future])


def network_backtest(spec: LSTMSpec, genomes: np.ndarray, prepared: Prepared, readout: ReadoutConfig,
                     origins: np.ndarray, horizon: int, kernel: str | None = None) -> dict[str, np.ndarray]:
    """Closed-loop forecasts in the data's units of every genome (K, d) from every origin, the readout refitted on
    the steps before the origin: ``{label: (K, O, H, m)}`` for each strength of ``readout.ridge_grid`` (labelled by
    the strength, e.g. "0.01") and for GCV's per-genome choice ("gcv").

    The readout rows are folded in once, origin after origin (the statistics grow with the data), so the whole
    backtest costs one teacher-forced pass over the seen data plus the free runs.
    """
    series = prepared.series
    genomes = np.atleast_2d(np.asarray(genomes, dtype=np.float64))
    k = genomes.shape[0]
    grid = tuple(readout.ridge_grid)
    labels = [f"{r:g}" for r in grid] + ["gcv"]
    passes = ForwardPasses(spec, genomes, kernel)
    repeated = ForwardPasses(spec, np.repeat(genomes, len(labels), axis=0), kernel)
    offset = prepared.offset
    line = network_line(spec, prepared, series.seen, horizon)
    washout = prepared.task.washout
    rows = line.scored.copy()
    rows[: max(washout, spec.readout_lags - 1)] = False
    stats = ReadoutStats(k, spec.readout_rows, spec.n_outputs)
    forecasts = {label: np.full((k, len(origins), horizon, series.levels.shape[1]), np.nan) for label in labels}
    config = ReadoutConfig(readout.rcond, "validation", readout.bias, grid)
    state, position = None, 0
    for i, origin in enumerate(origins):
        stop = origin - offset
        _, state = passes.advance(line, position, stop, state, fold=(stats, rows, readout.bias), washout=washout)
        position = stop
        if stats.samples <= spec.readout_rows:
            continue
        solutions, dof = stats.solve_candidates(config, shrunk=spec.cell_features)
        choice = np.argmin(stats.gcv(solutions, dof), axis=0)
        gcv = np.stack(solutions)[choice, np.arange(k)]
        weights = np.stack([*solutions, gcv], axis=1).reshape(k * len(labels), spec.readout_rows, spec.n_outputs)
        outputs = repeated.free_run(line, stop, horizon, _repeat_state(state, len(labels)), weights)
        levels = prepared.to_levels(outputs.reshape(k, len(labels), horizon, -1), origin)
        for j, label in enumerate(labels):
            forecasts[label][:, i] = levels[:, j]
    return forecasts
