"""Single-threaded BLAS for evolino's own work.

Multi-threaded OpenBLAS on the small matrices evolino uses (readout QR/SVD, pycma's eigendecomposition) only
contends with the population-level parallelism (numba threads, Ray actors): on a busy 2-core machine a 510 x 510
``eigh`` took 1.2 s with two threads and 45 ms with one. The thread count also changes LAPACK's rounding, and so the
run: one thread everywhere keeps a seed's run identical on every machine and backend.

A context entered inside another on the same thread (every generation's ask, tell and readout solve inside a run
that holds the limit for its whole loop) does nothing: the limit is already set, and threadpoolctl's query and set of
every BLAS library cost ~30 us per context.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

__all__ = ["single_threaded_blas"]

_controller = None
_local = threading.local()  # .depth: contexts entered on this thread


@contextmanager
def single_threaded_blas():
    """A context manager limiting BLAS to one thread (threadpoolctl; the library scan is done once per process)."""
    global _controller
    depth = getattr(_local, "depth", 0)
    _local.depth = depth + 1
    try:
        if depth:  # an outer context on this thread holds the limit
            yield
            return
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        with _controller.limit(limits=1, user_api="blas"):
            yield
    finally:
        _local.depth = depth
