"""Single-threaded BLAS for evolino's own work.

Multi-threaded OpenBLAS on the small matrices evolino uses (readout QR/SVD, pycma's eigendecomposition) only
contends with the population-level parallelism (numba threads, Ray actors): on a busy 2-core machine a 510 x 510
``eigh`` took 1.2 s with two threads and 45 ms with one. The thread count also changes LAPACK's rounding, and so the
run: one thread everywhere keeps a seed's run identical on every machine and backend.
"""

from __future__ import annotations

__all__ = ["single_threaded_blas"]

_controller = None


def single_threaded_blas():
    """A context manager limiting BLAS to one thread (threadpoolctl; the library scan is done once per process)."""
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
