"""Forward-pass kernels: the numpy reference (:mod:`evolino.network`), the compiled numba kernels, or JAX.

Selection, in order: an explicit ``kernel`` argument (e.g. ``EvolinoProblem.kernel``), else the ``EVOLINO_KERNEL``
environment variable, else ``"auto"``. ``"auto"`` means compiled when numba loads and numpy otherwise (with a single
warning); ``"compiled"`` (:mod:`evolino.kernels.blocks`: blocks of genomes in SIMD lanes) fails with a clear error
when numba cannot be loaded; ``"compiled-scalar"`` (:mod:`evolino.kernels.compiled`: one genome per parallel
iteration, the compiled kernel before blocks; bit for bit the same results) is kept for side-by-side measurement;
``"numpy"`` never imports numba; ``"jax"`` (:mod:`evolino.kernels.jax_kernel`, the ``jax`` extra) runs on JAX's
default device, a GPU when it finds one, and fails with a clear error when JAX is not installed.

Every kernel exposes the same operations (:class:`ForwardOps`) with the same arguments and results to rounding.

The numba kernels are compiled on their first use and cached on disk (numba's ``cache=True``: beside the sources, or
in ``NUMBA_CACHE_DIR``), which takes about 20 s. When that cache is cold (:func:`compile_pending`: no valid cache
index for the kernel's teacher-forced entry point, read from numba's index file) and stderr is a terminal,
:func:`forward_ops` prints one line, :data:`COMPILE_NOTICE`, once per process, before the compile: also in
``--quiet`` runs, since it appears once per installation (and after an upgrade), and the silence it explains is the
same; never into a pipe or a log file, so captured output (and the tests' line counts) stays as it was.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evolino.errors import ConfigError, EvolinoError

__all__ = ["KERNEL_CHOICES", "ForwardOps", "default_kernel", "resolve_kernel", "forward_ops", "compiled_available",
           "limit_compiled_threads", "compiled_threads"]

KERNEL_CHOICES = ("auto", "numpy", "compiled", "compiled-scalar", "jax")
ENV_VAR = "EVOLINO_KERNEL"

_compiled_error: str | None = None  # why the compiled kernel could not load, once known
_compiled_checked = False
_warned = False
_noticed = False
COMPILE_NOTICE = "evolino: compiling the kernel (once, ~20 s)"


@dataclass(frozen=True)
class ForwardOps:
    """The forward-pass operations of one kernel.

    ``prepare(weights)`` converts :class:`~evolino.network.LSTMWeights` into what the two runners take (identity
    for numpy); ``teacher_forced`` and ``closed_loop`` have the signatures of :mod:`evolino.network`'s functions.
    ``closed_loop`` also takes ``source_history`` (the readout's view of the steps before a free run).
    ``fold_readout`` (compiled kernels only, else None) runs teacher-forced and folds the readout statistics of chosen
    steps in as it goes (:func:`evolino.kernels.blocks.fold_readout`), so no state array is made.
    ``svd`` (compiled kernels only, else None) is the readout's SVD of a stack of matrices on the kernel's threads
    (:func:`evolino.kernels.svd.threaded_svd`); None: :func:`evolino.readout.batched_svd`. ``from_genomes(spec,
    genomes)``, where given, is ``prepare(unpack(spec, genomes))`` in one step (the block kernel's gather).
    """

    name: str
    prepare: Callable[[Any], Any]
    teacher_forced: Callable[..., Any]
    closed_loop: Callable[..., Any]
    fold_readout: Callable[..., Any] | None = None
    svd: Callable[..., Any] | None = None
    from_genomes: Callable[..., Any] | None = None


def default_kernel() -> str:
    """The kernel named by ``EVOLINO_KERNEL`` (lower-cased), or ``"auto"`` when it is unset or empty."""
    return os.environ.get(ENV_VAR, "").strip().lower() or "auto"


def limit_compiled_threads(threads: int) -> None:
    """Run the compiled kernel on at most ``threads`` threads (numba's setting is per calling thread, so set it on the
    thread that evaluates). numba is loaded here when it is installed: a limit that waited for numba to be loaded
    would be lost when the kernel loads it later (benchmarks/jax_peer.py once timed two threads as "one core" so)."""
    if "numba" in sys.modules or compiled_available():
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


def compiled_threads() -> int:
    """The compiled kernel's thread count on the calling thread (1 while numba is not loaded): the population-level
    parallelism that the readout's batched SVD follows too (:mod:`evolino.readout`)."""
    if "numba" in sys.modules:
        import numba

        return numba.get_num_threads()
    return 1


def compiled_available() -> bool:
    """True when the numba kernels import (tried once per process)."""
    global _compiled_checked, _compiled_error
    if not _compiled_checked:
        _compiled_checked = True
        try:
            import evolino.kernels.blocks  # noqa: F401
            import evolino.kernels.compiled  # noqa: F401
        except Exception as exc:  # numba missing, or broken (llvmlite, numpy version mismatch, ...)
            _compiled_error = f"{type(exc).__name__}: {exc}"
    return _compiled_error is None


def resolve_kernel(kernel: str | None = None) -> str:
    """``"numpy"``, ``"compiled"``, ``"compiled-scalar"`` or ``"jax"`` for a requested kernel name (None: from the
    environment)."""
    global _warned
    name = default_kernel() if kernel is None else str(kernel).strip().lower()
    if name not in KERNEL_CHOICES:
        raise ConfigError(f"unknown kernel {name!r} (from {ENV_VAR} or the kernel option); choose one of "
                          f"{', '.join(KERNEL_CHOICES)}")
    if name == "numpy":
        return "numpy"
    if name == "jax":
        try:
            import evolino.kernels.jax_kernel  # noqa: F401
        except ImportError as exc:
            raise EvolinoError(f"the jax kernel needs JAX ({exc}): pip install \"evolino[jax]\"") from None
        return "jax"
    if compiled_available():
        return "compiled-scalar" if name == "compiled-scalar" else "compiled"
    if name in ("compiled", "compiled-scalar"):
        raise EvolinoError(f"the compiled kernel could not be loaded ({_compiled_error}); install numba or use "
                           f"{ENV_VAR}=numpy")
    if not _warned:
        _warned = True
        warnings.warn(f"evolino: compiled kernel unavailable ({_compiled_error}); using the slower numpy kernel",
                      RuntimeWarning, stacklevel=2)
    return "numpy"


def compile_pending(resolved: str) -> bool:
    """Whether the on-disk numba cache of the ``resolved`` kernel ("compiled" or "compiled-scalar") holds no valid
    compilation of its teacher-forced entry point (used by every run), so the first call compiles. Reads numba's small
    index file (it is invalid when the source changed); False when that cannot be told (numba's cache layout is not
    public)."""
    try:
        if resolved == "compiled":
            from evolino.kernels._numba_blocks import teacher_forced_blocks as entry
        elif resolved == "compiled-scalar":
            from evolino.kernels._numba_lstm import teacher_forced_kernel as entry
        else:
            return False
        if entry.signatures:  # compiled in this process already
            return False
        return not entry._cache._cache_file._load_index()
    except Exception:  # noqa: BLE001  (another numba's internals: say nothing rather than guess)
        return False


def _compile_notice(resolved: str) -> None:
    """Print :data:`COMPILE_NOTICE` once per process when the kernel is about to be compiled (stderr a terminal)."""
    global _noticed
    if _noticed or not getattr(sys.stderr, "isatty", lambda: False)():
        return
    if compile_pending(resolved):
        _noticed = True
        print(COMPILE_NOTICE, file=sys.stderr, flush=True)


def _unchanged(weights):
    """The weights as they are (kernels that need no layout of their own); a module function, so that fitted models
    that hold their forward passes can be pickled."""
    return weights


def forward_ops(kernel: str | None = None) -> ForwardOps:
    """The :class:`ForwardOps` of the requested kernel (see :func:`resolve_kernel`)."""
    resolved = resolve_kernel(kernel)
    if resolved == "jax":
        from evolino.kernels import jax_kernel

        return ForwardOps("jax", _unchanged, jax_kernel.teacher_forced, jax_kernel.closed_loop)
    if resolved in ("compiled", "compiled-scalar"):
        _compile_notice(resolved)
    if resolved == "compiled":
        from evolino.kernels import blocks, svd

        return ForwardOps("compiled", blocks.block_weights, blocks.teacher_forced, blocks.closed_loop,
                          blocks.fold_readout, svd.threaded_svd, blocks.genome_blocks)
    if resolved == "compiled-scalar":
        from evolino.kernels import compiled, svd

        return ForwardOps("compiled-scalar", compiled.kernel_weights, compiled.teacher_forced, compiled.closed_loop,
                          compiled.fold_readout, svd.threaded_svd)
    from evolino import network

    return ForwardOps("numpy", _unchanged, network.teacher_forced, network.closed_loop)
