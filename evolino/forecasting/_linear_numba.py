"""The closed loop of :func:`evolino.forecasting.linear.free_run` compiled with numba: the same results, to
rounding, as :func:`~evolino.forecasting.linear.free_run_numpy`.

The sources x_e of the known and the generated steps are kept in time order in one buffer per model, so step t reads
the last ``lags[g]`` rows as a contiguous slice (no ring arithmetic), and model g's loop stops at its own order: AR
models of several orders run in one call, in parallel over models, from one zero-padded weight array.
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
        buffer = np.empty((most + steps, width))  # x_e in time order: x_e(start) at index most - 1
        for lag in range(most):
            buffer[most - 1 - lag] = window[lag]
        order = lags[g]
        for t in range(steps):
            now = most - 1 + t
            if t:
                for j in range(k):
                    buffer[now, j] = future[t, j]
                for j in range(m):
                    buffer[now, k + j] = outputs[g, t - 1, j]
            for j in range(m):
                total = weights[g, 0, j]
                for lag in range(order):
                    base = 1 + lag * width
                    row = now - lag
                    for e in range(width):
                        total += buffer[row, e] * weights[g, base + e, j]
                outputs[g, t, j] = total
    return outputs
