"""The linear model inside every Evolino forecaster: AR(p) with exogenous inputs, for every order at once.

On a (transformed, standardised) series ``z`` (T, m) with inputs ``u`` (T, k) known in advance, the model of order
p is the readout of an Evolino network without cells (:mod:`evolino.network`)::

    z(t) = b + sum_{l=0}^{p-1} W_l x_e(t - l),     x_e(t) = [u(t), z(t-1)]   (E = k + m sources per step)

so that AR(p) is what a network's readout reduces to when the ridge shrinks its cells away. Rows are the steps
t >= ``first`` that have a target (``first`` >= the largest order: every lag is a real value, none is padding), and
the design's columns are ordered [1, x_e(t), x_e(t-1), ...], so the least-squares fits of all orders are nested:
the cross-products of the design of the largest order give every order's normal equations in their leading block.
They are folded in step by step (:class:`NestedAR`), in chunks of at most ``CHUNK`` rows, so that a backtest
advances through its forecast origins in one pass over the data and a series of a million steps never holds its lag
matrix in full.

Free runs feed each output back as the next step's z(t-1) (:func:`free_run`): a loop over steps, compiled with numba
when it is loaded (the kernels' choice, :mod:`evolino.kernels`) and in numpy otherwise; both give the same numbers
to rounding.

Weights are (1 + L*E, m): the bias first, then the lag blocks, newest first.
"""

from __future__ import annotations

import numpy as np

from evolino.fitness import previous_targets

__all__ = ["NestedAR", "external_sources", "free_run", "lag_block", "CHUNK"]

CHUNK = 1 << 15  # rows of the lag matrix built at once


def external_sources(targets: np.ndarray, inputs: np.ndarray | None) -> np.ndarray:
    """x_e(t) = [u(t), z(t-1)] for every step: targets (T, m), inputs (T, k) or None -> (T, k + m); z(-1) = 0."""
    fed_back = previous_targets(np.nan_to_num(targets))
    return fed_back if inputs is None else np.concatenate([inputs, fed_back], axis=1)


def lag_block(sources: np.ndarray, lags: int, start: int, stop: int) -> np.ndarray:
    """Design rows [1, x_e(t), ..., x_e(t-lags+1)] for t in [start, stop): (stop - start, 1 + lags * E); sources
    before step 0 are zeros."""
    steps, width = stop - start, sources.shape[1]
    block = np.empty((steps, 1 + lags * width))
    block[:, 0] = 1.0
    for lag in range(lags):
        a, b = start - lag, stop - lag
        columns = block[:, 1 + lag * width : 1 + (lag + 1) * width]
        if a >= 0:
            columns[:] = sources[a:b]
        else:
            columns[: -a] = 0.0
            columns[-a:] = sources[0:b]
    return block


class NestedAR:
    """Least-squares statistics of the AR models of orders 1..``max_order`` on one series, folded in up to a step.

    The statistics are the cross-products ``G = [X, z]^T [X, z]`` of the design of the largest order and the targets,
    accumulated chunk by chunk with matrix products (a million rows of 31 columns take a fraction of a second); the
    weights of order p solve the normal equations of the leading block, ``G[:q, :q] w = G[:q, z]``, by least squares
    with a cutoff, so a rank-deficient design (a constant input, say) gives the minimum-norm weights instead of
    failing. The series is standardised, which keeps the products well scaled; the solve's accuracy (about the
    square of the design's condition number) is far below the noise of any series worth forecasting, and tests check
    it against a plain ``lstsq`` on the stacked rows.

    Parameters
    ----------
    targets : (T, m)
        The series (NaN where a step has no target).
    inputs : (T, k) or None
        Exogenous inputs.
    max_order : int
    scored : (T,) bool, optional
        Steps whose target may be a row of the fit (default: the finite ones).
    first : int, optional
        The first step that may be a row (default and at least ``max_order``: no lag reaches before the series).
    """

    def __init__(self, targets: np.ndarray, inputs: np.ndarray | None, max_order: int,
                 scored: np.ndarray | None = None, first: int | None = None) -> None:
        if max_order < 0:
            raise ValueError(f"max_order must be >= 0, got {max_order}")
        self.targets = np.asarray(targets, dtype=np.float64)
        self.sources = external_sources(self.targets, inputs)
        self.max_order = int(max_order)
        self.width = self.sources.shape[1]
        finite = np.isfinite(self.targets).all(axis=1)
        self.scored = finite if scored is None else np.asarray(scored, dtype=bool) & finite
        self.columns = 1 + self.max_order * self.width
        size = self.columns + self.targets.shape[1]
        self.gram = np.zeros((size, size))
        self.position = self.first = max(self.max_order, 0 if first is None else int(first))
        self.rows = 0

    def advance(self, stop: int) -> None:
        """Fold in the rows of the steps [current position, ``stop``) that have a target."""
        for start in range(self.position, stop, CHUNK):
            end = min(stop, start + CHUNK)
            keep = self.scored[start:end]
            if not keep.any():
                continue
            rows = np.concatenate([lag_block(self.sources, self.max_order, start, end),
                                   np.nan_to_num(self.targets[start:end])], axis=1)[keep]
            self.gram += rows.T @ rows
            self.rows += int(keep.sum())
        self.position = max(self.position, stop)

    def weights(self, order: int, rcond: float = 1e-13) -> np.ndarray:
        """Least-squares weights (1 + order * E, m) of AR(order) on the rows folded in so far (order 0: the mean of
        the rows, a constant forecast; after a difference, a drift)."""
        if not 0 <= order <= self.max_order:
            raise ValueError(f"order must be in 0..{self.max_order}, got {order}")
        if self.rows == 0:
            raise ValueError("no rows were folded in: advance() past the first step with a target first")
        q = 1 + order * self.width
        return np.linalg.lstsq(self.gram[:q, :q], self.gram[:q, self.columns:], rcond=rcond)[0]

    def padded_weights(self, orders) -> np.ndarray:
        """Weights of several orders as one (n, 1 + max(orders) * E, m) array, each zero-padded to the longest."""
        longest = 1 + max(orders) * self.width
        stack = np.zeros((len(orders), longest, self.targets.shape[1]))
        for i, order in enumerate(orders):
            w = self.weights(order)
            stack[i, : w.shape[0]] = w
        return stack


def free_run(weights: np.ndarray, sources: np.ndarray, last_target: np.ndarray, steps: int,
             inputs: np.ndarray | None = None, lags: np.ndarray | None = None) -> np.ndarray:
    """Closed-loop outputs (n, steps, m) of n linear models after the end of a known stretch of series.

    Parameters
    ----------
    weights : (n, 1 + L*E, m)
        Zero-padded beyond each model's own order (:meth:`NestedAR.padded_weights`).
    sources : (t0, E)
        x_e of the known steps (:func:`external_sources`), ending at the step before the first generated one (only
        the last L - 1 rows are read; fewer are zero-padded).
    last_target : (m,)
        The last known target, fed back at the first generated step.
    inputs : (steps, k) or None
        Inputs of the generated steps (required when E > m).
    lags : (n,) int, optional
        Each model's order (default L): the compiled loop stops there, the numpy one multiplies the zero padding.
    """
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    n, rows, m = weights.shape
    width = sources.shape[1]
    longest = (rows - 1) // width
    k = width - m
    if k and (inputs is None or np.shape(inputs) != (steps, k)):
        raise ValueError(f"inputs must have shape ({steps}, {k})")
    future = np.ascontiguousarray(inputs, dtype=np.float64) if k else np.zeros((steps, 0))
    window = np.zeros((max(longest, 1), width))  # x_e(start), x_e(start - 1), ... (newest first)
    window[0, :k] = future[0] if steps else 0.0
    window[0, k:] = last_target
    recent = sources[-(longest - 1):][::-1] if longest > 1 else sources[:0]
    window[1 : 1 + recent.shape[0]] = recent
    orders = np.full(n, longest, dtype=np.int64) if lags is None else np.asarray(lags, dtype=np.int64)
    if orders.shape != (n,) or (orders > longest).any() or (orders < 0).any():
        raise ValueError(f"lags must be {n} orders between 0 and {longest}")
    return _free_run(weights, orders, window[:longest] if longest else window[:0], future, m)


def _free_run(weights: np.ndarray, orders: np.ndarray, window: np.ndarray, future: np.ndarray,
              m: int) -> np.ndarray:
    """window (L, E): x_e(start), x_e(start-1), ...; future (steps, k) -> outputs (n, steps, m)."""
    from evolino.kernels import resolve_kernel  # numba only where the kernels' choice allows it

    if resolve_kernel() == "compiled":
        from evolino.forecasting._linear_numba import free_run_compiled

        return free_run_compiled(weights, orders, window, future, m)
    return free_run_numpy(weights, window, future, m)


def free_run_numpy(weights: np.ndarray, window: np.ndarray, future: np.ndarray, m: int) -> np.ndarray:
    """The numpy reference of the closed loop (same arguments as the compiled one)."""
    n, rows, _ = weights.shape
    steps, k = future.shape
    lags, width = window.shape
    windows = np.broadcast_to(window, (n, lags, width)).copy()
    outputs = np.empty((n, steps, m))
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            if t:
                windows[:, 1:] = windows[:, :-1].copy()
                windows[:, 0, :k] = future[t]
                windows[:, 0, k:] = outputs[:, t - 1]
            flat = windows.reshape(n, 1, lags * width)
            outputs[:, t] = np.matmul(flat, weights[:, 1:])[:, 0] + weights[:, 0]
    return outputs
