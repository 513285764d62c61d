"""Compiled (numba) forward passes with the signatures and semantics of :mod:`evolino.network`, one genome per
parallel iteration (``EVOLINO_KERNEL=compiled-scalar``).

The compiled kernel before :mod:`evolino.kernels.blocks` (genomes in SIMD lanes, ``EVOLINO_KERNEL=compiled``), which
gives the same results bit for bit; kept for side-by-side measurement and as the reference of the block kernel's
tests.

``teacher_forced`` and ``closed_loop`` here are drop-in replacements for the numpy reference functions of the same
name: same arguments, same results to rounding (the tests hold them to 1e-12 relative). The weights are re-laid out
into :class:`KernelWeights` (a copy of ~d floats per genome, negligible beside the forward pass); callers that run
several sequences make it once with :func:`kernel_weights` and pass it instead of the LSTMWeights.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

# Numba's coloured error messages initialise colorama, whose exit hook writes a colour reset after the run's last line
# on a terminal. Set before numba is first imported (a caller's own setting wins).
os.environ.setdefault("NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING", "1")

from evolino.kernels._numba_lstm import closed_loop_kernel, teacher_forced_kernel  # noqa: E402
from evolino.network import LSTMSpec, LSTMState, LSTMWeights, external_sources, history_rows

__all__ = ["KernelWeights", "kernel_weights", "teacher_forced", "closed_loop", "teacher_forced_into", "fold_readout"]

PAD = 4  # unit blocks are padded to a multiple of this many cells (one 256-bit AVX2 vector of float64)


@dataclass(frozen=True)
class KernelWeights:
    """A population's weights in the kernels' layout: unit rows padded from C to Cp cells, weights transposed.

    Attributes
    ----------
    w_ext : (n, n_inputs + n_feedback, G*Cp)
    w_rec : (n, C, G*Cp)
    bias : (n, G*Cp)
    peep : (n, G-1, C)
    unit_scale, unit_offset : ((G-1)*Cp,)
        1 and 0 on the cell-input rows, 0.5 and 0.5 on the gate rows (tanh and sigmoid in one loop).
    """

    w_ext: np.ndarray
    w_rec: np.ndarray
    bias: np.ndarray
    peep: np.ndarray
    unit_scale: np.ndarray
    unit_offset: np.ndarray

    @property
    def n(self) -> int:
        return self.bias.shape[0]


def _pad_units(rows: np.ndarray, gates: int, cells: int, padded: int) -> np.ndarray:
    """(..., G*C) unit-major rows -> (..., G*Cp), zero rows appended to every unit block."""
    lead = rows.shape[:-1]
    out = np.zeros((*lead, gates, padded))
    out[..., :cells] = rows.reshape(*lead, gates, cells)
    return out.reshape(*lead, gates * padded)


def kernel_weights(weights: LSTMWeights | KernelWeights) -> KernelWeights:
    """Re-lay out :class:`~evolino.network.LSTMWeights` for the kernels (identity on KernelWeights)."""
    if isinstance(weights, KernelWeights):
        return weights
    n, GC, C = weights.w_rec.shape
    G = GC // C
    Cp = -(-C // PAD) * PAD
    scale = np.full((G - 1, Cp), 0.5)
    scale[0] = 1.0
    offset = np.full((G - 1, Cp), 0.5)
    offset[0] = 0.0
    return KernelWeights(
        w_ext=_pad_units(weights.w_ext.transpose(0, 2, 1), G, C, Cp),
        w_rec=_pad_units(weights.w_rec.transpose(0, 2, 1), G, C, Cp),
        bias=_pad_units(weights.bias, G, C, Cp),
        peep=np.ascontiguousarray(weights.peep, dtype=np.float64),
        unit_scale=scale.ravel(),
        unit_offset=offset.ravel(),
    )


def _start(state: LSTMState | None, n: int, cells: int) -> tuple[np.ndarray, np.ndarray]:
    if state is None:
        return np.zeros((n, cells)), np.zeros((n, cells))
    return np.array(state.h, dtype=np.float64, order="C"), np.array(state.c, dtype=np.float64, order="C")


def teacher_forced_into(
    spec: LSTMSpec,
    weights: KernelWeights,
    sources: np.ndarray,
    h: np.ndarray,
    c: np.ndarray,
    record_from: int = 0,
) -> np.ndarray:
    """Low-level teacher-forced run over shared sources (T, n_ext); h, c (n, cells) are updated in place.

    Returns
    -------
    states : (n, T - record_from, cells)
        Cell outputs of steps record_from..T-1 (none are stored for the steps before).
    """
    sources = np.ascontiguousarray(sources, dtype=np.float64)
    T, n = sources.shape[0], weights.n
    states = np.empty((n, max(T - record_from, 0), spec.cells))
    no_fold = np.zeros((n, 0, 0))
    teacher_forced_kernel(weights.w_ext, weights.w_rec, weights.bias, weights.peep, weights.unit_scale,
                          weights.unit_offset, sources, h, c, spec.forget_gate, states, record_from,
                          np.zeros((T, 0)), no_fold, no_fold, np.zeros((n, 0)), _NO_ROWS,
                          np.zeros((0, sources.shape[1])), 0.0)
    return states


_NO_ROWS = np.zeros(0, dtype=np.uint8)


def teacher_forced(
    spec: LSTMSpec,
    weights: LSTMWeights | KernelWeights,
    steps: int,
    inputs: np.ndarray | None = None,
    feedback: np.ndarray | None = None,
    state: LSTMState | None = None,
) -> tuple[np.ndarray, LSTMState]:
    """Compiled :func:`evolino.network.teacher_forced`: states (n, T, cells) and the final LSTMState."""
    kw = kernel_weights(weights)
    h, c = _start(state, kw.n, spec.cells)
    states = teacher_forced_into(spec, kw, external_sources(spec, inputs, feedback, steps), h, c)
    return states, LSTMState(h, c)


def fold_readout(
    spec: LSTMSpec,
    weights: LSTMWeights | KernelWeights,
    sources: np.ndarray,
    targets: np.ndarray,
    r: np.ndarray,
    qtd: np.ndarray,
    fold_rows: np.ndarray,
    bias: bool,
    source_history: np.ndarray | None = None,
    state: LSTMState | None = None,
    rss: np.ndarray | None = None,
) -> LSTMState:
    """Teacher-forced run that folds the steps marked in ``fold_rows`` into the readout statistics.

    Parameters
    ----------
    sources : (T, n_inputs + n_feedback)   shared inputs and raw fed-back values, as for ``teacher_forced_into``
    targets : (T, m)   (finite at the folded steps)
    r : (n, p, p), qtd : (n, p, m), p = cells + n_direct + 1
        Square R factor and Q^T D (see :class:`evolino.readout.ReadoutStats`), updated in place.
    fold_rows : (T,) bool
        The steps whose readout rows are folded in.
    bias : bool
        Whether the design matrix has a ones column (else zeros, as :func:`evolino.readout.design_matrix`).
    source_history : (k, n_inputs + n_feedback) or None
        The sources of the steps before the first, oldest first (zeros if None), as for :func:`closed_loop`. The
        readout's direct view of the last ``spec.readout_lags`` steps (:func:`evolino.network.direct_features`) is
        read from them and ``sources`` as the rows are folded, so no (T, n_direct) array is made.
    state : LSTMState or None
        Start state (zeros by default).
    rss : (n, m) or None
        Residual sums of squares of the fit, added to in place.

    Returns
    -------
    final : LSTMState after the last step. No (n, T, cells) state array is ever made.
    """
    kw = kernel_weights(weights)
    h, c = _start(state, kw.n, spec.cells)
    T = sources.shape[0]
    if r.shape[1] != spec.readout_rows:
        raise ValueError(f"r must be ({kw.n}, {spec.readout_rows}, {spec.readout_rows}), got {r.shape}")
    sums = np.zeros((kw.n, qtd.shape[2])) if rss is None else rss
    teacher_forced_kernel(kw.w_ext, kw.w_rec, kw.bias, kw.peep, kw.unit_scale, kw.unit_offset,
                          np.ascontiguousarray(sources, dtype=np.float64), h, c, spec.forget_gate,
                          np.empty((kw.n, 0, spec.cells)), T, np.ascontiguousarray(targets, dtype=np.float64),
                          r, qtd, sums, np.ascontiguousarray(fold_rows, dtype=np.uint8),
                          np.ascontiguousarray(history_rows(spec, source_history), dtype=np.float64),
                          1.0 if bias else 0.0)
    return LSTMState(h, c)


def closed_loop(
    spec: LSTMSpec,
    weights: LSTMWeights | KernelWeights,
    readout: np.ndarray,
    state: LSTMState,
    first_feedback: np.ndarray,
    steps: int,
    inputs: np.ndarray | None = None,
    source_history: np.ndarray | None = None,
) -> np.ndarray:
    """Compiled :func:`evolino.network.closed_loop`: outputs (n, steps, n_outputs)."""
    if not spec.feedback:
        raise ValueError("closed-loop generation needs an LSTMSpec with feedback=True")
    kw = kernel_weights(weights)
    n, m = kw.n, spec.n_outputs
    h, c = _start(state, n, spec.cells)
    inputs_only = np.ascontiguousarray(external_sources(spec, inputs, np.zeros((steps, m)), steps)[:, : spec.n_inputs])
    y0 = np.empty((n, m))  # writable, so the kernel always gets the same array type (one compilation)
    y0[:] = np.asarray(first_feedback, dtype=np.float64)
    outputs = np.empty((n, steps, m))
    closed_loop_kernel(np.ascontiguousarray(kw.w_ext[:, : spec.n_inputs]),
                       np.ascontiguousarray(kw.w_ext[:, spec.n_inputs :]), kw.w_rec, kw.bias, kw.peep,
                       kw.unit_scale, kw.unit_offset, inputs_only, np.ascontiguousarray(readout, dtype=np.float64),
                       h, c, y0, spec.forget_gate, outputs,
                       np.ascontiguousarray(history_rows(spec, source_history), dtype=np.float64))
    return outputs
