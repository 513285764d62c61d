"""Prediction intervals from backtest residuals, per horizon step.

The error of a closed-loop forecast grows with the horizon, so one width for every step is too wide early and too
narrow late. A forecaster's residuals ``y - yhat`` from many origins inside the seen data (its own backtest, windows
cut at the end of the seen data, so that late horizon steps have fewer residuals than early ones) give, for every
horizon step j, the empirical quantiles at (1 - level) / 2 and (1 + level) / 2 of the residuals of the steps near j:
the window around j widens until it holds ``MIN_RESIDUALS`` residuals. The lower bound never rises and the upper
never falls with j (uncertainty does not shrink as the forecast goes on). Beyond the last horizon step with
residuals, the half-widths grow as the square root of the horizon (a random walk's spread), which ``generate``
states when it goes past the backtest's horizon. This is split-conformal prediction (Vovk et al.; Lei et al. 2018)
with one calibration set per horizon step; its coverage on the test part is reported in result.json.

Shapes: residuals (O, H, m) with a mask (O, H); bounds (H, m), added to a forecast (H, m).
"""

from __future__ import annotations

import numpy as np

__all__ = ["horizon_quantiles", "interval_bounds", "coverage", "MIN_RESIDUALS", "DEFAULT_LEVEL"]

MIN_RESIDUALS = 20
DEFAULT_LEVEL = 0.9


def _check_level(level: float) -> float:
    level = float(level)
    if not 0 < level < 1:
        raise ValueError(f"the interval level must be between 0 and 1 (e.g. 0.9), got {level}")
    return level


def horizon_quantiles(residuals: np.ndarray, mask: np.ndarray, level: float,
                      steps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) residual quantiles (steps, m) for horizon steps 0..steps-1 (default: the residuals' H).

    Parameters
    ----------
    residuals : (O, H, m)
        Targets minus forecasts.
    mask : (O, H) bool
        Which residuals exist (a scored target inside the seen data, a finite forecast).
    level : float
        Nominal coverage, e.g. 0.9.
    """
    level = _check_level(level)
    horizon, m = residuals.shape[1], residuals.shape[2]
    steps = horizon if steps is None else int(steps)
    valid = mask & np.isfinite(residuals).all(axis=2)
    counts = valid.sum(axis=0)
    lower, upper = np.full((steps, m), np.nan), np.full((steps, m), np.nan)
    present = np.flatnonzero(counts)
    if not present.size:
        raise ValueError("no residuals to make an interval from")
    last = min(int(present[-1]), steps - 1)
    for j in range(last + 1):
        width = 0
        while counts[max(0, j - width) : j + width + 1].sum() < MIN_RESIDUALS and width < horizon:
            width += 1
        near = slice(max(0, j - width), j + width + 1)
        lower[j], upper[j] = _quantiles(residuals[:, near][valid[:, near]], level)
    lower[: last + 1] = np.minimum.accumulate(lower[: last + 1], axis=0)
    upper[: last + 1] = np.maximum.accumulate(upper[: last + 1], axis=0)
    if steps > last + 1:  # beyond the backtest's horizon: the spread grows as sqrt(horizon)
        growth = np.sqrt(np.arange(last + 2, steps + 1) / (last + 1))[:, None]
        lower[last + 1 :] = np.minimum(lower[last], 0.0) * growth
        upper[last + 1 :] = np.maximum(upper[last], 0.0) * growth
    return lower, upper


def _quantiles(pool: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Split-conformal quantiles of residuals (n, m): the ceil((n + 1)(1 - a/2))-th smallest and its mirror, the
    most extreme residual when n is too small for the level."""
    n = pool.shape[0]
    tail = (1.0 - level) / 2.0
    rank_upper = min(n, int(np.ceil((n + 1) * (1.0 - tail))))
    rank_lower = max(1, n + 1 - rank_upper)
    ordered = np.sort(pool, axis=0)
    return ordered[rank_lower - 1], ordered[rank_upper - 1]


def interval_bounds(forecast: np.ndarray, residuals: np.ndarray, mask: np.ndarray,
                    level: float) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) bounds (H, m) of a forecast (H, m) at ``level`` from backtest residuals (O, H', m)."""
    lower, upper = horizon_quantiles(residuals, mask, level, steps=forecast.shape[0])
    return forecast + lower, forecast + upper


def coverage(targets: np.ndarray, lower: np.ndarray, upper: np.ndarray, scored: np.ndarray | None = None) -> float:
    """Fraction of the scored steps whose every target lies within [lower, upper]: targets, bounds (H, m)."""
    inside = ((targets >= lower) & (targets <= upper)).all(axis=1)
    scored = np.ones(len(inside), dtype=bool) if scored is None else scored
    return float(inside[scored].mean()) if scored.any() else float("nan")
