"""Transforms that make a series stationary enough to forecast, and their exact inverses.

A forecast of a series with a trend or a season is easier in changes than in levels: ARIMA models difference the
series, ETS models carry a level, a slope and a season. evolino forecasts a transformed series ``z`` and integrates
the forecast back into the data's units. The transforms, applied in this order to levels ``y`` (T, m):

    x(t) = log y(t)                  (``log``; positive series only)
    w(t) = x(t) - x(t - s)           (``season`` = s > 0: the seasonal difference)
    z(t) = w(t) - w(t - 1)           (``difference``: the first difference)

``z`` is undefined (NaN) on the first ``lost = s + difference`` steps. Given the levels before a forecast origin,
a forecast of ``z`` integrates back exactly:

    x(t) = z(t) + x(t-1) + x(t-s) - x(t-s-1)     (with both differences; the terms of a missing one drop out)
    y(t) = exp x(t)                              (with ``log``: the median of y, not its mean)

For a forecast, x(t-1), x(t-s), ... beyond the origin are the forecast's own earlier values (:meth:`integrate`,
vectorised as a cumulative sum over steps, then over seasons); for a one-step prediction they are the true values
(:meth:`one_step`).

Shapes: levels and transformed values are (T, m); forecasts may carry leading axes (..., H, m).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SeriesTransform", "candidate_transforms", "TRANSFORM_NAMES"]

TRANSFORM_NAMES = ("none", "log", "diff", "seasonal-diff", "diff+seasonal-diff", "log+diff", "log+seasonal-diff",
                   "log+diff+seasonal-diff")


@dataclass(frozen=True)
class SeriesTransform:
    """log, seasonal difference at lag ``season`` (0: none), first difference; see the module docstring.

    Parameters
    ----------
    log : bool
    difference : bool
    season : int
        Lag of the seasonal difference; 0 for none.
    """

    log: bool = False
    difference: bool = False
    season: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.season, bool) or int(self.season) != self.season or self.season < 0 or self.season == 1:
            raise ValueError(f"a seasonal difference needs a season length >= 2 (or 0 for none), got {self.season!r}")
        object.__setattr__(self, "season", int(self.season))

    @property
    def name(self) -> str:
        parts = [p for p, on in (("log", self.log), ("diff", self.difference),
                                 ("seasonal-diff", self.season > 0)) if on]
        return "+".join(parts) or "none"

    @property
    def lost(self) -> int:
        """Steps at the start of the series without a transformed value."""
        return self.season + int(self.difference)

    @classmethod
    def from_name(cls, name: str, season: int | None = None) -> SeriesTransform:
        """The transform called ``name`` (one of :data:`TRANSFORM_NAMES`); a seasonal one needs ``season``."""
        if name not in TRANSFORM_NAMES:
            raise ValueError(f"unknown transform {name!r}; choose one of {', '.join(TRANSFORM_NAMES)} or auto")
        parts = set(name.split("+"))
        seasonal = "seasonal-diff" in parts
        if seasonal and not (season and season >= 2):
            raise ValueError(f"transform {name!r} needs a season length >= 2 (--season N, a date column, or a "
                             "series whose autocorrelation shows one)")
        return cls(log="log" in parts, difference="diff" in parts, season=int(season) if seasonal else 0)

    def applies_to(self, levels: np.ndarray) -> bool:
        """Whether the transform is defined on ``levels`` (T, m): log needs positive values, and at least two
        transformed steps must remain."""
        finite = levels[np.isfinite(levels).all(axis=1)]
        if self.log and not (finite > 0).all():
            return False
        return levels.shape[0] - self.lost >= 2

    def _inner(self, levels: np.ndarray) -> np.ndarray:
        levels = np.asarray(levels, dtype=np.float64)
        if not self.log:
            return levels
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(levels)

    def _outer(self, inner: np.ndarray) -> np.ndarray:
        if not self.log:
            return inner
        with np.errstate(over="ignore"):
            return np.exp(inner)

    def forward(self, levels: np.ndarray) -> np.ndarray:
        """Transformed values (T, m) of levels (T, m); NaN on the first :attr:`lost` steps."""
        x = self._inner(levels)
        z = np.full(x.shape, np.nan)
        s, d = self.season, int(self.difference)
        w = x.copy()
        if s:
            w[:s] = np.nan
            w[s:] = x[s:] - x[:-s]
        if d:
            z[1:] = w[1:] - w[:-1]
        else:
            z = w
        z[: self.lost] = np.nan
        return z

    def integrate(self, changes: np.ndarray, history: np.ndarray) -> np.ndarray:
        """Levels of a forecast: ``changes`` (..., H, m) are transformed values of the H steps after ``history``
        (t0, m), the levels up to the forecast origin (at least :attr:`lost` of them) -> (..., H, m)."""
        changes = np.asarray(changes, dtype=np.float64)
        history = np.asarray(history, dtype=np.float64)
        if history.shape[0] < self.lost:
            raise ValueError(f"integrating a {self.name} forecast needs the last {self.lost} levels, got "
                             f"{history.shape[0]}")
        x_past = self._inner(history)
        s, horizon = self.season, changes.shape[-2]
        w = changes
        if self.difference:  # w(t) = z(t) + w(t-1), from the last w before the origin
            last_w = x_past[-1] - (x_past[-1 - s] if s else 0.0)
            with np.errstate(over="ignore", invalid="ignore"):
                w = np.cumsum(changes, axis=-2) + last_w
        if not s:
            return self._outer(w)
        # x(t) = w(t) + x(t-s): a cumulative sum over seasons of the steps padded to whole seasons.
        seasons = -(-horizon // s)
        padded = np.zeros((*w.shape[:-2], seasons * s, w.shape[-1]))
        padded[..., :horizon, :] = w
        blocks = padded.reshape(*w.shape[:-2], seasons, s, w.shape[-1])
        with np.errstate(over="ignore", invalid="ignore"):
            x = np.cumsum(blocks, axis=-3) + x_past[-s:]
        return self._outer(x.reshape(padded.shape)[..., :horizon, :])

    def one_step(self, predicted: np.ndarray, levels: np.ndarray, start: int) -> np.ndarray:
        """Levels of one-step predictions: ``predicted`` (..., H, m) are transformed values predicted for steps
        [start, start + H) from the true past; ``levels`` (T, m) holds the true levels (at least up to
        start + H - 1) -> (..., H, m)."""
        predicted = np.asarray(predicted, dtype=np.float64)
        horizon = predicted.shape[-2]
        if start < self.lost:
            raise ValueError(f"one-step predictions of a {self.name} series start at step {self.lost} or later")
        x = self._inner(levels)
        steps = np.arange(start, start + horizon)
        base = np.zeros((horizon, x.shape[1]))
        s = self.season
        if self.difference:
            base += x[steps - 1]
        if s:
            base += x[steps - s]
            if self.difference:
                base -= x[steps - s - 1]
        with np.errstate(over="ignore", invalid="ignore"):
            return self._outer(predicted + base)

    def to_dict(self) -> dict:
        return {"name": self.name, "log": self.log, "difference": self.difference, "season": self.season}

    @classmethod
    def from_dict(cls, data: dict) -> SeriesTransform:
        return cls(log=bool(data["log"]), difference=bool(data["difference"]), season=int(data["season"]))


def candidate_transforms(levels: np.ndarray, season: int | None) -> list[SeriesTransform]:
    """Every transform that applies to ``levels`` (T, m) (the data a choice may look at): none, first difference,
    and with a season of length >= 2 the seasonal difference and both; each also after a log when every value is
    positive."""
    seasons = (0, season) if season and season >= 2 else (0,)
    found = []
    for log in (False, True):
        for difference in (False, True):
            for s in seasons:
                transform = SeriesTransform(log, difference, s)
                if transform.applies_to(levels):
                    found.append(transform)
    return found
