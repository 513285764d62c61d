"""The compiled kernel that vectorises across the population: blocks of genomes in SIMD lanes (numba).

Idea
----
The genome-per-iteration kernel (:mod:`evolino.kernels.compiled`) runs each genome's step as short vectors over its
cells; batched frameworks (JAX's ``vmap``) put genomes in the SIMD lanes instead. Here a block of ``lanes`` genomes
(4, 8 or 16; :data:`LANES` by default) advances together, genome b of the block in lane b of every vector, so the
whole step, gates and tanh included, runs at the full SIMD width whatever the number of cells, and threads take
blocks (:mod:`evolino.kernels._numba_blocks`). The readout statistics are folded in the same way, lane by lane.

Each lane's arithmetic is the genome-per-iteration kernel's, operation for operation, so results are bit for bit
equal to it and independent of the block width, the thread count and the other genomes of a batch (tested).

Layout (:class:`BlockWeights`): a population of n genomes is padded with zero genomes to nb = ceil(n / lanes)
blocks; every array has the block first and the lane last (contiguous)::

    w (nb, C, S, 4L), bias (nb, C, 4L), peep (nb, C, 3L),   S = n_inputs + n_feedback + C sources, the units
    z, i, f, o side by side (f zero without a forget gate), each L lanes
    h, c (nb, C, L); readout factors r (nb, p, p, L), Q^T D (nb, p, m, L); outputs (nb, T, m, L)

``teacher_forced``, ``closed_loop`` and ``fold_readout`` have the signatures and results of
:mod:`evolino.kernels.compiled` (arguments and results in the population's own (n, ...) layout; the re-layout is a
copy of the weights, small beside the passes). Selected by ``EVOLINO_KERNEL=compiled`` (or ``auto``);
``EVOLINO_KERNEL=compiled-scalar`` selects the genome-per-iteration kernel, for side-by-side measurement.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

# Set before numba is first imported (a caller's own setting wins); see evolino.kernels.compiled.
os.environ.setdefault("NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING", "1")

from evolino.kernels._numba_blocks import closed_loop_blocks, teacher_forced_blocks  # noqa: E402
from evolino.kernels._simd import Lanes  # noqa: E402
from evolino.network import LSTMSpec, LSTMState, LSTMWeights, external_sources, history_rows, unpack  # noqa: E402

__all__ = ["LANES", "BlockWeights", "block_weights", "genome_blocks", "to_blocks", "from_blocks", "teacher_forced",
           "teacher_forced_into", "fold_readout", "closed_loop"]

LANES = 8  # genomes per block: one AVX-512 vector of float64, two AVX2 vectors
LANE_CHOICES = (4, 8, 16)


@dataclass(frozen=True)
class BlockWeights:
    """A population's weights in the block kernels' layout (see the module docstring).

    Attributes
    ----------
    w : (nb, C, S, 4L)      weight of unit g (z, i, f, o) of cell k from source s in lane l at w[., k, s, g*L + l];
                            S = n_external + C; the f unit is zero without a forget gate
    bias : (nb, C, 4L)
    peep : (nb, C, 3L)      peepholes of i, f, o (zeros without peepholes)
    n : int                 genomes (the lanes after the n-th are padding)
    forget_gate : bool
    """

    w: np.ndarray
    bias: np.ndarray
    peep: np.ndarray
    n: int
    forget_gate: bool

    @property
    def lanes(self) -> int:
        return self.bias.shape[-1] // 4

    @property
    def blocks(self) -> int:
        return self.bias.shape[0]


def to_blocks(values: np.ndarray, lanes: int) -> np.ndarray:
    """(n, ...) per genome -> (ceil(n / lanes), ..., lanes), C-contiguous, zeros in the lanes after the n-th."""
    n, rest = values.shape[0], values.shape[1:]
    blocks = -(-n // lanes)
    flat = values.reshape(n, -1)
    if n == blocks * lanes:  # no padding lanes: one copy
        return np.ascontiguousarray(flat.reshape(blocks, lanes, flat.shape[1]).transpose(0, 2, 1)).reshape(
            blocks, *rest, lanes)
    out = np.zeros((blocks, flat.shape[1], lanes))
    full = n // lanes
    out[:full] = flat[: full * lanes].reshape(full, lanes, flat.shape[1]).transpose(0, 2, 1)
    if full < blocks:
        out[full, :, : n - full * lanes] = flat[full * lanes :].T
    return out.reshape(blocks, *rest, lanes)


def from_blocks(values: np.ndarray, n: int) -> np.ndarray:
    """(nb, ..., lanes) -> (n, ...): the inverse of :func:`to_blocks` (a C-contiguous copy)."""
    blocks, lanes = values.shape[0], values.shape[-1]
    flat = values.reshape(blocks, -1, lanes).transpose(0, 2, 1).reshape(blocks * lanes, *values.shape[1:-1])
    return np.ascontiguousarray(flat[:n])


def block_weights(weights: LSTMWeights | BlockWeights, lanes: int | None = None) -> BlockWeights:
    """Re-lay out :class:`~evolino.network.LSTMWeights` into blocks of ``lanes`` genomes (None: :data:`LANES`);
    BlockWeights are returned as they are when ``lanes`` is None or theirs."""
    if isinstance(weights, BlockWeights):
        if lanes is None or lanes == weights.lanes:
            return weights
        raise ValueError(f"these weights are in blocks of {weights.lanes}, not {lanes}")
    lanes = LANES if lanes is None else int(lanes)
    if lanes not in LANE_CHOICES:
        raise ValueError(f"lanes must be one of {LANE_CHOICES}, got {lanes}")
    n, GC, C = weights.w_rec.shape
    G, E = GC // C, weights.w_ext.shape[2]
    S = E + C
    blocks = -(-n // lanes)
    gates = [0, 1, 2, 3] if G == 4 else [0, 1, 3]  # z, i, [f,] o; the f unit stays zero without a forget gate
    # (genome, cell, source, unit) with the bias as source S, then lanes last
    units = np.zeros((blocks * lanes, C, S + 1, 4))
    units[:n, :, :E, gates] = weights.w_ext.reshape(n, G, C, E).transpose(0, 2, 3, 1)
    units[:n, :, E:S, gates] = weights.w_rec.reshape(n, G, C, C).transpose(0, 2, 3, 1)
    units[:n, :, S, gates] = weights.bias.reshape(n, G, C).transpose(0, 2, 1)
    units = units.reshape(blocks, lanes, C, S + 1, 4).transpose(0, 2, 3, 4, 1)
    peep = np.zeros((blocks * lanes, C, 3))  # i, f, o
    peep[:n, :, [0, 1, 2] if G == 4 else [0, 2]] = weights.peep.transpose(0, 2, 1)
    return BlockWeights(np.ascontiguousarray(units[:, :, :S]).reshape(blocks, C, S, 4 * lanes),
                        np.ascontiguousarray(units[:, :, S]).reshape(blocks, C, 4 * lanes),
                        np.ascontiguousarray(peep.reshape(blocks, lanes, C, 3).transpose(0, 2, 3, 1)).reshape(
                            blocks, C, 3 * lanes), n, G == 4)


@lru_cache(maxsize=16)
def _gather_plan(spec: LSTMSpec, lanes: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """For each array of :class:`BlockWeights` (w, bias, peep), one block's worth: the index of each entry into the
    block's genomes laid side by side with a zero after each, (lanes * (d + 1),) (index d: an entry that no gene sets),
    and the flat positions of the entries that the feedback scale multiplies. The same for every block and any
    population size; derived from :func:`block_weights` itself, run on genomes whose genes are their own positions,
    so that the layout is defined in one place."""
    d = spec.dimension
    numbered = np.arange(d + 1, dtype=np.float64)[None, 1:] + (np.arange(lanes) * (d + 1))[:, None]  # 0: no gene
    positions = block_weights(unpack(replace(spec, feedback_scale=1.0), numbered), lanes)
    scaled = block_weights(unpack(replace(spec, feedback_scale=2.0), np.ones((lanes, d))), lanes)
    plan = []
    for ids, factors in ((positions.w, scaled.w), (positions.bias, scaled.bias), (positions.peep, scaled.peep)):
        index = ids[0].astype(np.int64) - 1
        index[ids[0] == 0] = d
        plan.append((index, np.flatnonzero(factors[0] == 2.0)))
    return tuple(plan)


def genome_blocks(spec: LSTMSpec, genomes: np.ndarray, lanes: int | None = None) -> BlockWeights:
    """``block_weights(unpack(spec, genomes), lanes)`` in one gather per array: the same values bit for bit (the
    feedback scale's product is the one arithmetic, as in :func:`evolino.network.unpack`), under half the time for
    MSO2's population."""
    genomes = np.asarray(genomes, dtype=np.float64)
    if genomes.ndim != 2 or genomes.shape[1] != spec.dimension:
        raise ValueError(f"genomes must have shape (n, {spec.dimension}), got {genomes.shape}")
    lanes = LANES if lanes is None else int(lanes)
    n, d = genomes.shape
    blocks = -(-n // lanes)
    padded = np.zeros((blocks * lanes, d + 1))  # a zero after each genome; padding lanes all zero
    padded[:n, :d] = genomes
    per_block = padded.reshape(blocks, lanes * (d + 1))
    arrays = []
    for index, scaled in _gather_plan(spec, lanes):
        values = np.take(per_block, index, axis=1)
        if scaled.size:
            values.reshape(blocks, -1)[:, scaled] *= spec.feedback_scale
        arrays.append(values)
    return BlockWeights(*arrays, n, spec.forget_gate)


def _start(state: LSTMState | None, weights: BlockWeights, cells: int) -> tuple[np.ndarray, np.ndarray]:
    if state is None:
        zeros = np.zeros((weights.blocks, cells, weights.lanes))
        return zeros, zeros.copy()
    return to_blocks(np.asarray(state.h, dtype=np.float64), weights.lanes), \
        to_blocks(np.asarray(state.c, dtype=np.float64), weights.lanes)


_NO_ROWS = np.zeros(0, dtype=np.uint8)


def _run(weights: BlockWeights, sources: np.ndarray, h: np.ndarray, c: np.ndarray,
         states: np.ndarray, record_from: int, targets: np.ndarray, r: np.ndarray, qtd: np.ndarray, rss: np.ndarray,
         fold_rows: np.ndarray, history: np.ndarray, bias_value: float) -> None:
    teacher_forced_blocks(weights.w, weights.bias, weights.peep, np.ascontiguousarray(sources, dtype=np.float64), h,
                          c, weights.forget_gate, states, record_from, targets, r, qtd, rss, fold_rows, history,
                          bias_value, Lanes(weights.lanes))


def teacher_forced_into(spec: LSTMSpec, weights: BlockWeights, sources: np.ndarray, h: np.ndarray, c: np.ndarray,
                        record_from: int = 0) -> np.ndarray:
    """Low-level teacher-forced run over shared sources (T, n_ext); h, c (n, cells) are updated in place.

    Returns
    -------
    states : (n, T - record_from, cells)
        Cell outputs of steps record_from..T-1 (none are stored for the steps before).
    """
    T, nb, L = sources.shape[0], weights.blocks, weights.lanes
    hb, cb = to_blocks(h, L), to_blocks(c, L)
    states = np.empty((nb, max(T - record_from, 0), spec.cells, L))
    no_fold = np.zeros((nb, 0, 0, L))
    _run(weights, sources, hb, cb, states, record_from, np.zeros((T, 0)), no_fold, no_fold,
         np.zeros((nb, 0, L)), _NO_ROWS, np.zeros((0, sources.shape[1])), 0.0)
    h[:] = from_blocks(hb, weights.n)
    c[:] = from_blocks(cb, weights.n)
    return from_blocks(states, weights.n)


def teacher_forced(
    spec: LSTMSpec,
    weights: LSTMWeights | BlockWeights,
    steps: int,
    inputs: np.ndarray | None = None,
    feedback: np.ndarray | None = None,
    state: LSTMState | None = None,
) -> tuple[np.ndarray, LSTMState]:
    """:func:`evolino.network.teacher_forced` on blocks: states (n, T, cells) and the final LSTMState."""
    bw = block_weights(weights)
    n = bw.n
    h = np.zeros((n, spec.cells)) if state is None else np.array(state.h, dtype=np.float64)
    c = np.zeros((n, spec.cells)) if state is None else np.array(state.c, dtype=np.float64)
    states = teacher_forced_into(spec, bw, external_sources(spec, inputs, feedback, steps), h, c)
    return states, LSTMState(h, c)


def fold_readout(
    spec: LSTMSpec,
    weights: LSTMWeights | BlockWeights,
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
    """Teacher-forced run that folds the steps marked in ``fold_rows`` into the readout statistics: the arguments
    and results of :func:`evolino.kernels.compiled.fold_readout`.

    Parameters
    ----------
    sources : (T, n_inputs + n_feedback); targets : (T, m), finite at the folded steps
    r : (n, p, p), qtd : (n, p, m)
        Square R factor and Q^T D (:meth:`evolino.readout.ReadoutStats.square_factor`), updated in place.
    fold_rows : (T,) bool
    bias : bool
        Whether the design matrix has a ones column.
    source_history : (k, n_inputs + n_feedback) or None
        The sources of the steps before the first, oldest first, for the rows' lagged sources (zeros if None).
    state : LSTMState or None
    rss : (n, m) or None
        Residual sums of squares, added to in place.

    Returns
    -------
    final : LSTMState after the last step.
    """
    bw = block_weights(weights)
    L, n = bw.lanes, bw.n
    if r.shape[1] != spec.readout_rows:
        raise ValueError(f"r must be ({n}, {spec.readout_rows}, {spec.readout_rows}), got {r.shape}")
    h, c = _start(state, bw, spec.cells)
    rb, qb = to_blocks(r, L), to_blocks(qtd, L)
    sums = to_blocks(np.zeros((n, qtd.shape[2])) if rss is None else rss, L)
    _run(bw, sources, h, c, np.empty((bw.blocks, 0, spec.cells, L)), sources.shape[0],
         np.ascontiguousarray(targets, dtype=np.float64), rb, qb, sums,
         np.ascontiguousarray(fold_rows, dtype=np.uint8),
         np.ascontiguousarray(history_rows(spec, source_history), dtype=np.float64), 1.0 if bias else 0.0)
    r[:] = from_blocks(rb, n)
    qtd[:] = from_blocks(qb, n)
    if rss is not None:
        rss[:] = from_blocks(sums, n)
    return LSTMState(from_blocks(h, n), from_blocks(c, n))


def closed_loop(
    spec: LSTMSpec,
    weights: LSTMWeights | BlockWeights,
    readout: np.ndarray,
    state: LSTMState,
    first_feedback: np.ndarray,
    steps: int,
    inputs: np.ndarray | None = None,
    source_history: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`evolino.network.closed_loop` on blocks: outputs (n, steps, n_outputs)."""
    if not spec.feedback:
        raise ValueError("closed-loop generation needs an LSTMSpec with feedback=True")
    bw = block_weights(weights)
    L, n, m = bw.lanes, bw.n, spec.n_outputs
    h, c = _start(state, bw, spec.cells)
    inputs_only = np.ascontiguousarray(external_sources(spec, inputs, np.zeros((steps, m)), steps)[:, : spec.n_inputs])
    first = np.broadcast_to(np.asarray(first_feedback, dtype=np.float64), (n, m))
    outputs = np.empty((bw.blocks, steps, m, L))
    closed_loop_blocks(bw.w, bw.bias, bw.peep, inputs_only, to_blocks(np.asarray(readout, dtype=np.float64), L), h,
                       c, to_blocks(first, L), bw.forget_gate, outputs,
                       np.ascontiguousarray(history_rows(spec, source_history), dtype=np.float64), Lanes(L))
    return from_blocks(outputs, n)
