"""The linear model inside a forecaster: the best AR(p) under every transform and exponential smoothing, combined by
inverse backtest error.

Which transform suits a series (levels, logs, first or seasonal differences) is decided on a backtest of a few
windows, and one window more or less can change the winner. Averaging forecasts is the classic cure (Bates &
Granger, "The combination of forecasts", 1969): each transform's best AR(p) (its order chosen on the backtest)
forecasts in its own space, integrated back into the data's units, and so does the best exponential smoothing form
of the levels and of the logs (:mod:`.smoothing`: a level, trend and season carried as states, where an AR(p) has to
learn them from lags); the forecasts are averaged with weights

    w_i = e_i^-2 / sum_j e_j^-2        (e_i: the pooled backtest error of member i)

On the development series of the forecasting benchmark (docs/forecasting.md) the AR combination's test error had a
median of 0.99 times AutoARIMA's where the single best transform's had 1.04, and its worst series 1.7 times where
the single's had 2.6; the smoothing members took the median to 0.98.

:class:`CombinedLinear` holds the members (:class:`Member` for AR(p), :class:`~.smoothing.SmoothingMember`) and
forecasts, predicts one step ahead and makes residuals exactly as a single model would, every member refitted on the
steps before each origin. The AR member with the largest weight is the one a network is evolved in (a network's
readout extends its lags).

Shapes: forecasts (O, H, m) or (H, m) in the data's units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evolino.forecasting.backtest import linear_forecasts
from evolino.forecasting.linear import NestedAR, lag_block
from evolino.forecasting.model import LinearMember
from evolino.forecasting.series import Prepared
from evolino.metrics import finite_or_none

__all__ = ["Member", "CombinedLinear", "combination_weights", "DESCRIPTION"]

DESCRIPTION = "AR(p) under each transform and exponential smoothing, combined"  # what the linear model is, in words


@dataclass
class Member:
    """One transform's best AR(p): its data, order, pooled backtest error and backtest forecasts (O, H, m)."""

    prepared: Prepared
    order: int
    error: float
    forecasts: np.ndarray

    kind = "ar"

    @property
    def transform(self):
        return self.prepared.transform

    @property
    def label(self) -> str:
        return f"AR({self.order})"

    def weights(self, end: int) -> np.ndarray:
        """AR weights (1 + order * E, m), model units, fitted on the rows before level step ``end``."""
        prepared = self.prepared
        stop = end - prepared.offset
        model = NestedAR(prepared.z[:stop], None if prepared.inputs is None else prepared.inputs[:stop], self.order,
                         prepared.scored[:stop], first=prepared.task.washout)
        model.advance(stop)
        return model.weights(self.order)

    def forecasts_at(self, origins: np.ndarray, horizon: int, fit_end: int | None = None) -> np.ndarray:
        return linear_forecasts(self.prepared, [self.order], origins, horizon, fit_end=fit_end)[0]

    def one_step(self, origin: int, steps: int) -> np.ndarray:
        """Predictions (steps, m) of the steps from ``origin`` from their true past, fitted before ``origin``."""
        prepared = self.prepared
        start = origin - prepared.offset
        sources = NestedAR(prepared.z, prepared.inputs, self.order).sources
        design = lag_block(sources, self.order, start, start + steps)
        return prepared.one_step_levels(design @ self.weights(origin), origin)

    def part(self, end: int, weight: float) -> LinearMember:
        """The member as a saved model keeps it: AR weights fitted on the rows before level step ``end``."""
        return LinearMember(self.prepared.transform, self.prepared.task.scaler, self.order, self.weights(end), weight)


def combination_weights(errors: np.ndarray) -> np.ndarray:
    """Inverse squared errors (n,), normalised; members with a non-finite error get 0 (all equal if none is
    finite)."""
    errors = np.asarray(errors, dtype=np.float64)
    finite = np.isfinite(errors) & (errors > 0)
    if not finite.any():
        exact = np.isfinite(errors)  # a perfect backtest (error 0) takes everything
        return exact / exact.sum() if exact.any() else np.full(errors.shape, 1.0 / errors.size)
    if (np.isfinite(errors) & (errors == 0)).any():
        exact = np.isfinite(errors) & (errors == 0)
        return exact / exact.sum()
    inverse = np.where(finite, 1.0 / np.where(finite, errors, 1.0) ** 2, 0.0)
    return inverse / inverse.sum()


class CombinedLinear:
    """The members' forecasts averaged with :func:`combination_weights` (see the module docstring)."""

    kind = "linear"

    def __init__(self, members: list[Member]) -> None:
        if not members:
            raise ValueError("a combination needs at least one member")
        self.members = list(members)
        self.weights = combination_weights(np.array([m.error for m in members]))

    @property
    def _leader_index(self) -> int:
        """The AR member with the largest weight (the lowest backtest error among them): the one a network can take
        the place of, since it has the lags a network's readout extends."""
        ar = [i for i, m in enumerate(self.members) if m.kind == "ar"]
        return max(ar, key=lambda i: self.weights[i])

    @property
    def leader(self) -> Member:
        return self.members[self._leader_index]

    @property
    def leader_weight(self) -> float:
        return float(self.weights[self._leader_index])

    def blend(self, leader_part: np.ndarray, other, share: float = 1.0) -> np.ndarray:
        """The combination with ``share`` of the leader's forecast replaced by ``leader_part`` (the networks evolved
        in its transform), every other part computed by ``other(member)``: networks take (a share of) their linear
        part's place and weight, so networks whose cells are shrunk away give back the combination itself."""
        leader = self._leader_index
        parts = []
        for i, (m, w) in enumerate(zip(self.members, self.weights, strict=True)):
            if i == leader:
                with np.errstate(all="ignore"):
                    parts.append(leader_part if share == 1 else share * leader_part + (1 - share) * other(m))
            else:
                parts.append(other(m) if w else None)
        return self._combine(parts)

    @property
    def order(self) -> int:
        return self.leader.order

    def _combine(self, parts) -> np.ndarray:
        total = None
        with np.errstate(all="ignore"):
            for weight, part in zip(self.weights, parts, strict=True):
                if weight == 0:
                    continue
                total = weight * part if total is None else total + weight * part
        return total

    def backtest_forecasts(self) -> np.ndarray:
        """The combination's forecasts (O, H, m) from the backtest's origins."""
        return self._combine(m.forecasts for m in self.members)

    def forecasts(self, origins: np.ndarray, horizon: int) -> np.ndarray:
        return self._combine(m.forecasts_at(origins, horizon) if w else None
                             for m, w in zip(self.members, self.weights, strict=True))

    def forecast(self, origin: int, steps: int) -> np.ndarray:
        """(steps, m): every member refitted on the steps before ``origin``."""
        origins = np.array([origin])
        return self._combine(m.forecasts_at(origins, steps, fit_end=origin)[0] if w else None
                             for m, w in zip(self.members, self.weights, strict=True))

    def one_step(self, origin: int, steps: int) -> np.ndarray:
        return self._combine(m.one_step(origin, steps) if w else None
                             for m, w in zip(self.members, self.weights, strict=True))

    def residuals(self, origins: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        targets, mask = self.leader.prepared.series.windows(origins, horizon)
        return targets - self.forecasts(origins, horizon), mask

    def describe(self) -> list[dict]:
        """JSON-ready members: model (``AR(p)`` or an ETS form), transform, order, backtest error, weight."""
        return [{"model": m.label, "transform": m.transform.name, "order": int(m.order),
                 "backtest_error": finite_or_none(m.error), "weight": float(w)}
                for m, w in zip(self.members, self.weights, strict=True)]
