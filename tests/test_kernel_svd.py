"""The readout's SVD on the compiled kernel's threads (evolino.kernels.svd) against numpy's."""

from __future__ import annotations

import numpy as np
import pytest

svd = pytest.importorskip("evolino.kernels.svd")


def _stack(shape, seed=0):
    """Matrices with columns of very different sizes (as the readout's R factors: cells, lags, bias)."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape) * 10.0 ** rng.uniform(-6, 6, size=(shape[0], 1, shape[2]))


@pytest.mark.parametrize("shape", [(40, 11, 11), (9, 5, 12), (6, 20, 7), (1, 1, 1)])
def test_threaded_svd_is_numpys_svd(shape):
    """Same shapes and singular values as ``np.linalg.svd(full_matrices=False)`` to rounding (bit for bit where numpy
    and SciPy load the same LAPACK), orthonormal factors, and the stack reconstructed."""
    stack = _stack(shape)
    u, s, vt = svd.threaded_svd(stack)
    eu, es, evt = np.linalg.svd(stack, full_matrices=False)
    assert (u.shape, s.shape, vt.shape) == (eu.shape, es.shape, evt.shape)
    np.testing.assert_allclose(s, es, rtol=0, atol=1e-12 * es.max())
    assert np.all(np.diff(s, axis=1) <= 0)
    r = min(shape[1:])
    np.testing.assert_allclose(np.matmul(u.transpose(0, 2, 1), u), np.broadcast_to(np.eye(r), (shape[0], r, r)),
                               atol=1e-12)
    np.testing.assert_allclose(np.matmul(u * s[:, None, :], vt), stack, rtol=0,
                               atol=1e-12 * np.abs(stack).max())


def test_threaded_svd_does_not_depend_on_threads_or_the_other_matrices():
    """Each matrix is decomposed alone: the same bits on 1 and 2 threads, alone or in any subset of the stack."""
    import numba

    stack = _stack((13, 11, 11), seed=1)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        alone = svd.threaded_svd(stack)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        both = svd.threaded_svd(stack)
    finally:
        numba.set_num_threads(before)
    rows = [12, 0, 5]
    subset = svd.threaded_svd(stack[rows])
    for a, b, c in zip(alone, both, subset, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a[rows], c)
    empty = svd.threaded_svd(np.zeros((0, 4, 3)))
    assert [a.shape for a in empty] == [(0, 4, 3), (0, 3), (0, 3, 3)]
