"""The closed loop of :func:`evolino.forecasting.linear.free_run` compiled with numba: the same results, to
rounding, as :func:`~evolino.forecasting.linear.free_run_numpy`.

The sources x_e of the known and the generated steps are kept in time order in one flat buffer per model, and the
weights in the same order, so step t is one contiguous dot product over the last ``lags[g]`` rows (no ring
arithmetic), and model g's loop stops at its own order: AR models of several orders run in one call, in parallel
over models, from one zero-padded weight array.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["free_run_compiled"]


@njit(cache=True, parallel=True, error_model="numpy")
def free_run_compiled(weights, lags, window, future, m):  # pragma: no cover - compiled
    """weights (n, 1 + L*E, m) zero-padded; lags (n,) int, each <= L; window (L, E): x_e(start), x_e(start - 1),
    ...; future (steps, k) inputs -> outputs (n, steps, m)."""
    n = weights.shape[0]
    steps, k = future.shape
    most, width = window.shape
    outputs = np.empty((n, steps, m))
    for g in prange(n):
        order = lags[g]
        span = order * width
        # weights in the buffer's (chronological) order, one contiguous row per output
        chrono = np.empty((m, span))
        for lag in range(order):
            for e in range(width):
                for j in range(m):
                    chrono[j, (order - 1 - lag) * width + e] = weights[g, 1 + lag * width + e, j]
        buffer = np.empty((most + steps) * width)  # x_e in time order, flat: x_e(start) at row most - 1
        for lag in range(most):
            for e in range(width):
                buffer[(most - 1 - lag) * width + e] = window[lag, e]
        for t in range(steps):
            now = most - 1 + t
            if t:
                for j in range(k):
                    buffer[now * width + j] = future[t, j]
                for j in range(m):
                    buffer[now * width + k + j] = outputs[g, t - 1, j]
            first = (now - order + 1) * width
            for j in range(m):
                total = weights[g, 0, j]
                row = chrono[j]
                for i in range(span):
                    total += buffer[first + i] * row[i]
                outputs[g, t, j] = total
    return outputs
