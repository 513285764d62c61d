"""The readout's SVD on the compiled kernel's threads: LAPACK's SVD of each matrix of a stack, split over threads.

Idea
----
Every generation the readout solves each genome's least-squares problem through the SVD of its R factor (p x p, p =
cells + lags + 1: 11 for MSO2; :meth:`evolino.readout.ReadoutStats.solve_candidates`). ``np.linalg.svd`` of the
stack calls LAPACK's ``dgesdd`` once per matrix on the calling thread; for matrices this small that loop is as long as
a third of the forward passes, and it leaves the kernel's other threads idle. Here numba calls the same routine
(``np.linalg.svd`` inside compiled code: LAPACK through SciPy's bindings) for each matrix, the matrices split over the
compiled kernel's threads (``prange``), as the forward kernels split the population.

Each matrix is decomposed alone by the same LAPACK routine with the same arguments (``jobz = 'S'``, a Fortran-ordered
copy), so the result does not depend on the thread count nor on the other matrices, and it is numpy's bit for bit
when numpy and SciPy load the same LAPACK build (both wheels ship OpenBLAS; tested to rounding, and equal bit for bit
on the machines measured: docs/kernels.md). It runs inside :func:`evolino.blas.single_threaded_blas` (free within a
run, which holds it for the whole search), so that LAPACK starts no threads of its own beside the kernel's, for
callers outside a run too.

Shapes: stack (n, k, p), finite -> u (n, k, r), s (n, r), vt (n, r, p), r = min(k, p): ``np.linalg.svd(stack,
full_matrices=False)``.
"""

from __future__ import annotations

import os

import numpy as np

# Set before numba is first imported (a caller's own setting wins); see evolino.kernels.compiled.
os.environ.setdefault("NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING", "1")

from numba import njit, prange  # noqa: E402

from evolino.blas import single_threaded_blas  # noqa: E402

__all__ = ["threaded_svd"]


@njit(cache=True, parallel=True)
def _svd_each(stack, u, s, vt):
    for g in prange(stack.shape[0]):
        u[g], s[g], vt[g] = np.linalg.svd(stack[g], full_matrices=False)


def threaded_svd(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.linalg.svd(stack, full_matrices=False)`` of a stack (n, k, p) of finite matrices, on the compiled kernel's
    threads (see the module docstring): u (n, k, r), s (n, r) decreasing, vt (n, r, p), r = min(k, p)."""
    stack = np.ascontiguousarray(stack, dtype=np.float64)
    n, k, p = stack.shape
    r = min(k, p)
    u, s, vt = np.empty((n, k, r)), np.empty((n, r)), np.empty((n, r, p))
    if n:
        with single_threaded_blas():  # LAPACK's own threads only contend with the kernel's (free inside a run's)
            _svd_each(stack, u, s, vt)
    return u, s, vt
