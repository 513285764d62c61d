"""Exponential smoothing members of the linear model: a level, a damped or straight trend, an additive season.

An AR(p) of a series with a slowly moving level or season has to learn them from lags; exponential smoothing carries
them as states (Gardner, "Exponential smoothing: the state of the art", 1985; Hyndman, Koehler, Snyder & Grose, "A
state space framework for automatic forecasting using exponential smoothing methods", 2002). With additive errors,
in the space of a transform ``x`` (the levels, or their logs for a positive series), season length m:

    forecast   x̂(t)    = l(t-1) + φ b(t-1) + s(t-m)
    error      e(t)    = x(t) - x̂(t)                 (0 on a missing step: the states run on)
    level      l(t)    = l(t-1) + φ b(t-1) + α e(t)
    trend      b(t)    = φ b(t-1) + β e(t)
    season     s(t)    = s(t-m) + γ e(t)
    h steps    x̂(t+h)  = l(t) + (φ + φ² + ... + φ^h) b(t) + s(t+h-m⌈h/m⌉)

A form is the trend (none: b = 0; damped: φ < 1; linear: φ = 1) and whether there is a season. The states start from
the first steps of the estimation window (the mean of the first season and its deviations, the slope between the
first two seasons); α, β, γ, φ are chosen on a grid by the one-step squared error after the first season, all of them
in one compiled pass per form. The window is the last :data:`WINDOW` steps before the origin, so a million-step
series costs what a short one does. Each transform's form is chosen on the forecaster's backtest, as an AR order is,
and the best form joins the combination (:mod:`.combined`) as one more member.

Series with several targets or with inputs get no smoothing members (the states are one series' own).

Shapes: levels (T, 1); forecasts (O, H, 1) or (H, 1) in the data's units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from evolino.forecasting.backtest import pooled_errors
from evolino.forecasting.series import Series
from evolino.forecasting.transforms import SeriesTransform

__all__ = ["SmoothingForm", "SmoothingMember", "SmoothingPart", "smoothing_members", "candidate_forms", "WINDOW"]

WINDOW = 2000  # steps before an origin that the parameters and states are estimated on
ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.99)
BETAS = (0.005, 0.01, 0.03, 0.05, 0.1, 0.2)  # of the error (β ≤ α)
GAMMAS = (0.01, 0.05, 0.1, 0.2, 0.4)  # (γ ≤ 1 - α)
PHIS = (0.8, 0.9, 0.95, 0.98)


@dataclass(frozen=True)
class SmoothingForm:
    """Trend "none", "damped" or "linear"; ``season`` the season length (0: none)."""

    trend: str = "none"
    season: int = 0

    @property
    def name(self) -> str:
        trend = {"none": "N", "damped": "Ad", "linear": "A"}[self.trend]
        return f"ETS(A,{trend},{'A' if self.season else 'N'})"

    def grid(self) -> np.ndarray:
        """(n, 4) candidate (α, β, γ, φ)."""
        rows = []
        for a in ALPHAS:
            for b in (BETAS if self.trend != "none" else (0.0,)):
                for g in (GAMMAS if self.season else (0.0,)):
                    for phi in {"none": (1.0,), "damped": PHIS, "linear": (1.0,)}[self.trend]:
                        if b <= a and g <= 1 - a:
                            rows.append((a, b, g, phi))
        return np.array(rows, dtype=np.float64)


TRENDS = ("none", "damped", "linear")


def candidate_forms(season: int | None) -> list[SmoothingForm]:
    """Every trend without a season, and with one when the season is at least 2 steps long."""
    seasons = (0, int(season)) if season and season >= 2 else (0,)
    return [SmoothingForm(trend, s) for s in seasons for trend in TRENDS]


@njit(cache=True, error_model="numpy")
def _run(x, season, alpha, beta, gamma, phi, level, trend, seasonal, first, steps):  # pragma: no cover - compiled
    """Filter x (T,) from the initial states (``seasonal`` (max(season, 1),) is s(t - m) of steps 0..m-1);
    -> (sum of squared one-step errors from step ``first``, their count, one-step predictions (T,), forecast
    (steps,) of the steps after x)."""
    n = x.shape[0]
    m = max(season, 1)
    s = seasonal.copy()
    predictions = np.empty(n)
    sse = 0.0
    count = 0
    for t in range(n):
        slot = t % m
        predicted = level + phi * trend + s[slot]
        predictions[t] = predicted
        error = x[t] - predicted
        if error != error:  # a missing step: no correction
            error = 0.0
        elif t >= first:
            sse += error * error
            count += 1
        level = level + phi * trend + alpha * error
        trend = phi * trend + beta * error
        s[slot] = s[slot] + gamma * error
    forecast = np.empty(steps)
    damp = 0.0
    power = 1.0
    for h in range(steps):
        power *= phi
        damp += power
        forecast[h] = level + damp * trend + s[(n + h) % m]
    return sse, count, predictions, forecast


@njit(cache=True, error_model="numpy")
def _grid_errors(x, season, grid, level, trend, seasonal, first):  # pragma: no cover - compiled
    """Mean squared one-step error (n,) of every row (α, β, γ, φ) of ``grid`` (n, 4)."""
    errors = np.empty(grid.shape[0])
    for i in range(grid.shape[0]):
        sse, count, _, _ = _run(x, season, grid[i, 0], grid[i, 1], grid[i, 2], grid[i, 3], level, trend, seasonal,
                                first, 0)
        errors[i] = sse / count if count > 0 else np.inf
    return errors


def _initial_states(x: np.ndarray, form: SmoothingForm) -> tuple[float, float, np.ndarray, int]:
    """(level, trend, seasonal (max(m, 1),), first scored step) from the first steps of the window x (T,)."""
    m = form.season
    known = np.where(np.isfinite(x), x, np.nan)
    if m:
        first_season, second = known[:m], known[m: 2 * m]
        mean = float(np.nanmean(first_season))
        slope = float(np.nanmean(second) - mean) / m if form.trend != "none" else 0.0
        seasonal = np.nan_to_num(first_season - mean - slope * (np.arange(m) - (m - 1) / 2))
        return mean - slope * (m + 1) / 2, slope, seasonal, m
    finite = known[np.isfinite(known)]
    slope = float(finite[1] - finite[0]) if form.trend != "none" and finite.size > 1 else 0.0
    return float(finite[0]) - slope, slope, np.zeros(1), 2


def _fits(x: np.ndarray, form: SmoothingForm) -> bool:
    """Whether the window holds enough known steps for the form (two seasons and a few more)."""
    need = 2 * form.season + 4 if form.season else 6
    return int(np.isfinite(x).sum()) >= need and x.shape[0] >= need


@dataclass(frozen=True)
class SmoothingFit:
    """A form's parameters (α, β, γ, φ) estimated on a window of the transformed series."""

    form: SmoothingForm
    parameters: tuple[float, float, float, float]

    @classmethod
    def estimate(cls, x: np.ndarray, form: SmoothingForm) -> SmoothingFit:
        grid = form.grid()
        level, trend, seasonal, first = _initial_states(x, form)
        errors = _grid_errors(x, form.season, grid, level, trend, seasonal, first)
        best = int(np.argmin(np.where(np.isfinite(errors), errors, np.inf)))
        return cls(form, tuple(float(v) for v in grid[best]))

    def run(self, x: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """(one-step predictions (T,), forecast (steps,)) over the window x (T,), states started on it."""
        level, trend, seasonal, first = _initial_states(x, self.form)
        _, _, predictions, forecast = _run(x, self.form.season, *self.parameters, level, trend, seasonal, first,
                                           steps)
        return predictions, forecast


def _window(x: np.ndarray, end: int) -> np.ndarray:
    return x[max(0, end - WINDOW): end]


class SmoothingMember:
    """One transform's best exponential smoothing form in the combination (the interface of
    :class:`~.combined.Member`): backtest error and forecasts, forecasts from other origins, one-step predictions,
    and the part a saved model keeps."""

    kind = "smoothing"
    order = 0  # no lags: a network is never evolved in this member's place

    def __init__(self, series: Series, transform: SeriesTransform, form: SmoothingForm, error: float,
                 forecasts: np.ndarray, transformed: np.ndarray) -> None:
        self.series, self.transform, self.form = series, transform, form
        self.error, self.forecasts = error, forecasts
        self._x = transformed  # (T,): _transformed(series, transform)

    @property
    def label(self) -> str:
        return self.form.name

    def forecasts_at(self, origins: np.ndarray, horizon: int, fit_end: int | None = None) -> np.ndarray:
        """(O, H, 1); ``fit_end`` is not needed: every fit sees only the window before its own origin."""
        return _forecasts(self.series, self.transform, self._x, self.form, origins, horizon)

    def one_step(self, origin: int, steps: int) -> np.ndarray:
        """Predictions (steps, 1) of the steps from ``origin`` from their true past, estimated before ``origin``."""
        fit = SmoothingFit.estimate(_window(self._x, origin), self.form)
        start = max(0, origin - WINDOW)
        predictions, _ = fit.run(self._x[start: origin + steps], 0)
        return self.transform.one_step(predictions[origin - start:, None], self.series.levels, origin)

    def part(self, end: int, weight: float) -> SmoothingPart:
        """The member as a saved model keeps it: parameters estimated on the steps before ``end``."""
        return SmoothingPart(self.transform, SmoothingFit.estimate(_window(self._x, end), self.form), weight)


@dataclass(frozen=True, eq=False)
class SmoothingPart:
    """A smoothing member of a saved :class:`~.model.ForecastModel`: transform, form and parameters, its weight."""

    transform: SeriesTransform
    fit: SmoothingFit
    weight: float = 1.0

    order = 0

    def forecast(self, history, steps, history_inputs=None, future_inputs=None) -> np.ndarray:
        x = _window(self.transform.forward(history)[:, 0], history.shape[0])
        _, forecast = self.fit.run(x, steps)
        return self.transform.integrate(forecast[:, None], history)

    def predict(self, levels, inputs=None) -> np.ndarray:
        predictions, _ = self.fit.run(self.transform.forward(levels)[:, 0], 0)
        return self.transform.one_step(predictions[:, None], levels, 0)

    def to_dict(self) -> dict:
        return {"kind": "smoothing", "transform": self.transform.to_dict(), "trend": self.fit.form.trend,
                "season": self.fit.form.season, "parameters": list(self.fit.parameters), "weight": self.weight}

    @classmethod
    def from_dict(cls, data: dict) -> SmoothingPart:
        form = SmoothingForm(str(data["trend"]), int(data["season"]))
        return cls(SeriesTransform.from_dict(data["transform"]),
                   SmoothingFit(form, tuple(float(v) for v in data["parameters"])), float(data["weight"]))


def _transformed(series: Series, transform: SeriesTransform) -> np.ndarray:
    """The transformed levels (T,), NaN on steps that are not real data."""
    x = transform.forward(series.levels)[:, 0].copy()
    x[~series.scored] = np.nan
    return x


def _forecasts(series: Series, transform: SeriesTransform, x: np.ndarray, form: SmoothingForm,
               origins: np.ndarray, horizon: int) -> np.ndarray:
    """(O, H, 1) forecasts in the data's units, the parameters estimated on the window before each origin."""
    out = np.full((len(origins), horizon, 1), np.nan)
    for i, origin in enumerate(origins):
        window = _window(x, int(origin))
        if not _fits(window, form):
            continue
        _, forecast = SmoothingFit.estimate(window, form).run(window, horizon)
        with np.errstate(over="ignore", invalid="ignore"):
            out[i] = transform.integrate(forecast[:, None], series.levels[:origin])
    return out


def smoothing_members(series: Series, transforms: list[SeriesTransform], season: int | None, origins: np.ndarray,
                      horizon: int) -> list[SmoothingMember]:
    """Each applicable transform's (levels; logs of a positive series) best form on the backtest, as a member."""
    if series.levels.shape[1] != 1 or series.inputs is not None:
        return []
    targets, mask = series.windows(origins, horizon)
    members = []
    for transform in transforms:
        if transform.difference or transform.season:
            continue
        x = _transformed(series, transform)
        best = None
        for form in candidate_forms(season):
            forecasts = _forecasts(series, transform, x, form, origins, horizon)
            error = float(pooled_errors(series.metric, targets, mask, forecasts[None])[0])
            if np.isfinite(error) and (best is None or error < best[0]):
                best = (error, form, forecasts)
        if best is not None:
            members.append(SmoothingMember(series, transform, best[1], best[0], best[2], x))
    return members
