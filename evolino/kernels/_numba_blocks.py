"""The block kernels: the LSTM of :mod:`evolino.network` for population blocks, one genome per SIMD lane.

Imported only by :mod:`evolino.kernels.blocks`; importing this module needs numba.

Idea
----
A block of ``L`` genomes (``lanes``: 4, 8 or 16) is advanced together through every step, each genome in one lane of
a float64 vector (:mod:`evolino.kernels._simd`), so every operation of the step, the matrix-vector product as well as
the tanh and the gates, is one vector instruction for L genomes, whatever the number of cells. Numba's ``prange`` runs
the blocks on threads.

Layout (lanes last and contiguous; see :class:`evolino.kernels.blocks.BlockWeights`)::

    w        (nb, C, S, 4L)   w[j, k, s, g*L + l]: unit g (z, i, f, o) of cell k from source s, genome l of block j;
                              S = E + C sources: the external ones (inputs, then fed-back values, feedback scale
                              folded in), then the cell outputs; the f unit is zero without a forget gate
    bias     (nb, C, 4L)
    peep     (nb, C, 3L)      peepholes of i, f, o
    h, c     (nb, C, L)
    sources  (E + C, L)       a step's [x_e(t); h(t-1)], two buffers taking turns (the new h goes to the other)

A step (:func:`_cell_step`) makes three passes over the cells, each of independent iterations so that the CPU
overlaps one cell's long tanh chains with the next cell's: the pre-activations (cell k's four units summed in four
vector registers while it streams through its weights source by source: the unit vectors of a source are adjacent,
so they are loads at constant offsets from one pointer), the z, i and f gates, then c, the o gate and h. The readout
rows of the steps to fold are collected (p, 16, L) and folded into each lane's factor (r (nb, p, p, L), Q^T D
(nb, p, m, L)) with the Householder reflections of :func:`evolino.kernels._numba_lstm._fold_block`, lane by lane.

Same arithmetic as the genome-per-iteration kernel (:mod:`evolino.kernels._numba_lstm`): the same operations on each
genome in the same order (bias, external sources, cell outputs; sigmoid(x) = 0.5 + 0.5 tanh(0.5 x); the same tanh),
with no fast-math, so each lane's results are bit for bit that kernel's, and so do not depend on the block width, the
thread count or the other genomes of the block. Branches of the scalar code that differ between lanes (a fold column
that is all zeros, entries so tiny that their squares underflow, a negative diagonal) become per-lane selects.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from evolino.kernels._simd import any_lane, load, select, splat, store, vabs, vcopysign, vmax, vsqrt
from evolino.kernels._tanh import fast_tanh_lanes

# numba's cache of a kernel is invalidated when this file changes, not when the files it inlines do: these
# fingerprints of _tanh.py and _simd.py (tests/test_kernels.py checks them) make every change there a change here.
TANH_FINGERPRINT = "9282c69f998a2d8a"
SIMD_FINGERPRINT = "147e329131316a1a"
TINY_SQUARES = 1e-280  # below this, a sum of two squares may have lost digits to underflow (as _numba_lstm)
FOLD_BLOCK = 16  # readout rows folded together (as _numba_lstm)


@njit(cache=True, inline="always", error_model="numpy")
def _cell_step(w, bias, peep, sources, out, c, pre, forget_gate, lanes):
    """One step of a block. sources (S, L) = [x_e; h(t-1)]: the E = S - C external sources of each lane, then the
    cell outputs of the step before; the new cell outputs are written to rows E.. of out (S, L), c (C, L) is updated
    in place; pre (C, 4L) is scratch.

    w (C, S, 4L), bias (C, 4L), peep (C, 3L): the lanes of the units z, i, f, o side by side (f zero without a forget
    gate), the peepholes of i, f, o. Per lane the operations of :func:`evolino.kernels._numba_lstm._step`:
    pre = bias + x_e w_e (e in order) + h_k w_k (k in order), then the gates as ``_activate`` (peepholes of i and f
    on the old c, of o on the new c; without a forget gate f = 1, and 1 * c is exactly c). The work is done in passes
    over the cells (pre-activations, then the first gates, then the rest), each of independent iterations, so that
    the CPU overlaps the long dependency chains of one cell's tanh with the others'.
    """
    C = c.shape[0]
    S = sources.shape[0]
    E = S - C
    L = lanes.count
    for k in range(C):
        z = load(bias, (k, 0), lanes)
        i = load(bias, (k, L), lanes)
        f = load(bias, (k, 2 * L), lanes)
        o = load(bias, (k, 3 * L), lanes)
        for s in range(S):
            x = load(sources, (s, 0), lanes)
            z += x * load(w, (k, s, 0), lanes)
            i += x * load(w, (k, s, L), lanes)
            f += x * load(w, (k, s, 2 * L), lanes)
            o += x * load(w, (k, s, 3 * L), lanes)
        old = load(c, (k, 0), lanes)
        store(pre, (k, 0), z)
        store(pre, (k, L), i + load(peep, (k, 0), lanes) * old)
        store(pre, (k, 2 * L), f + load(peep, (k, L), lanes) * old)
        store(pre, (k, 3 * L), o)
    for k in range(C):
        # the scalar kernel's offset + scale * tanh(scale * x): 0 and 1 for z, 0.5 and 0.5 for the gates
        store(pre, (k, 0), 0.0 + fast_tanh_lanes(load(pre, (k, 0), lanes)))
        store(pre, (k, L), 0.5 + 0.5 * fast_tanh_lanes(0.5 * load(pre, (k, L), lanes)))
        if forget_gate:
            store(pre, (k, 2 * L), 0.5 + 0.5 * fast_tanh_lanes(0.5 * load(pre, (k, 2 * L), lanes)))
        else:
            store(pre, (k, 2 * L), splat(1.0, lanes))
    for k in range(C):
        new = load(pre, (k, 2 * L), lanes) * load(c, (k, 0), lanes) + load(pre, (k, L), lanes) * load(pre, (k, 0),
                                                                                                    lanes)
        o = 0.5 * (load(pre, (k, 3 * L), lanes) + load(peep, (k, 2 * L), lanes) * new)
        store(c, (k, 0), new)
        store(out, (E + k, 0), (0.5 + 0.5 * fast_tanh_lanes(o)) * fast_tanh_lanes(new))


@njit(cache=True, inline="always", error_model="numpy")
def _reflect(u0, inv, skip, head, block, k, column, count, lanes):
    """Apply the reflection (u0, block[k]) of :func:`_fold_block` to one column: its entry ``head`` in R (or Q^T D)
    and its first ``count`` rows of ``column`` (count, L), updated in place. Lanes in ``skip`` keep their values.
    Returns the new head."""
    dot = u0 * head
    for b in range(count):
        dot += load(block, (k, b, 0), lanes) * load(column, (b, 0), lanes)
    f = dot * inv
    for b in range(count):
        x = load(column, (b, 0), lanes)
        store(column, (b, 0), select(skip, x, x + f * load(block, (k, b, 0), lanes)))
    return select(skip, head, head + f * u0)


@njit(cache=True, error_model="numpy")  # called every 16 rows: not inlined, so it compiles once
def _fold_block(r, qtd, rss, block, block_targets, count, lanes):
    """Fold a block of observations into each lane's least-squares factor: [R | Q^T D; rows | targets] -> triangular.

    r (p, p, L), qtd (p, m, L) and rss (m, L) are updated in place by the first ``count`` rows of block (p, B, L)
    (observation b of lane l is block[:, b, l]) with their targets block_targets (m, B, L); both are scratch.
    Lane by lane the operations of :func:`evolino.kernels._numba_lstm._fold_block`: one Householder reflection per
    column, signs as LAPACK's dlarfg; a column whose rows are all zero is skipped, entries whose squares underflow
    are scaled first.
    """
    p = r.shape[0]
    m = qtd.shape[1]
    for k in range(p):
        sigma = splat(0.0, lanes)
        nonzero = sigma != sigma  # no lane yet
        for b in range(count):
            v = load(block, (k, b, 0), lanes)
            sigma += v * v
            nonzero |= v != 0.0
        skip = (sigma == 0.0) & ~nonzero  # rare: all zero (a feature that is 0 at these steps)
        x0 = load(r, (k, k, 0), lanes)
        scale = splat(1.0, lanes)
        tiny = (x0 * x0 + sigma <= TINY_SQUARES) & ~skip
        if any_lane(tiny):  # rare: entries so tiny that their squares underflow; other lanes divide by 1 (exact)
            largest = vabs(x0)
            for b in range(count):
                largest = vmax(largest, vabs(load(block, (k, b, 0), lanes)))
            scale = select(tiny, largest, 1.0)
            x0 = x0 / scale
            sigma = splat(0.0, lanes)
            for b in range(count):
                v = load(block, (k, b, 0), lanes) / scale
                store(block, (k, b, 0), v)
                sigma += v * v
        alpha = -vcopysign(vsqrt(x0 * x0 + sigma), x0)
        u0 = x0 - alpha
        inv = 1.0 / (alpha * u0)
        for j in range(k + 1, p):
            store(r, (k, j, 0), _reflect(u0, inv, skip, load(r, (k, j, 0), lanes), block, k, block[j], count,
                                         lanes))
        for q in range(m):
            store(qtd, (k, q, 0), _reflect(u0, inv, skip, load(qtd, (k, q, 0), lanes), block, k, block_targets[q],
                                           count, lanes))
        store(r, (k, k, 0), select(skip, load(r, (k, k, 0), lanes), scale * alpha))
    for q in range(m):
        total = load(rss, (q, 0), lanes)
        for b in range(count):
            x = load(block_targets, (q, b, 0), lanes)
            total += x * x
        store(rss, (q, 0), total)


@njit(cache=True, inline="always", error_model="numpy")
def _positive_diagonal(r, qtd, lanes):
    """Negate, lane by lane, the rows of r (p, p, L) and qtd (p, m, L) whose diagonal entry is negative."""
    for k in range(r.shape[0]):
        negative = load(r, (k, k, 0), lanes) < 0.0
        if any_lane(negative):
            for j in range(k, r.shape[1]):
                x = load(r, (k, j, 0), lanes)
                store(r, (k, j, 0), select(negative, -x, x))
            for q in range(qtd.shape[1]):
                x = load(qtd, (k, q, 0), lanes)
                store(qtd, (k, q, 0), select(negative, -x, x))


@njit(cache=True, parallel=True, error_model="numpy")
def teacher_forced_blocks(w, bias, peep, sources, h, c, forget_gate, states, record_from, targets, r, qtd, rss,
                          fold_rows, history, bias_value, lanes):
    """Run every block over shared sources (T, E); h, c (nb, C, L) are updated in place to the final state.

    Recording: states (nb, T - record_from, C, L) receives h(t) for t >= record_from (record_from = T: none).
    Folding: at every step t with fold_rows[t] (fold_rows (T,) uint8, or empty: none) each lane's readout row
    [h(t), x_e(t), x_e(t-1), ..., x_e(t-D+1), bias_value] with target targets[t] (T, m) is folded into
    r (nb, p, p, L), qtd (nb, p, m, L) and rss (nb, m, L) in place, p = C + D*E + 1. The lagged sources are read from
    ``sources`` and, before its first step, from history (>= D-1, E) (the steps before, newest first), as
    :func:`evolino.kernels._numba_lstm.teacher_forced_kernel` reads them.
    ``lanes`` is a :class:`evolino.kernels._simd.Lanes` (one compilation per width).
    """
    nb, C, L = h.shape
    T, E = sources.shape
    p = r.shape[1]
    m = targets.shape[1]
    folds = fold_rows.shape[0] > 0
    D = (p - C - 1) // E if folds and E > 0 else 0
    for j in prange(nb):
        buffers = np.empty((2, E + C, L))  # [x_e(t); h(t-1)] of this step and the next, taking turns
        buffers[0, E:] = h[j]
        cj = c[j].copy()
        pre = np.empty((C, 4 * L))
        block = np.empty((p, FOLD_BLOCK, L))
        block_targets = np.empty((m, FOLD_BLOCK, L))
        count = 0
        for t in range(T):
            now, after = buffers[t % 2], buffers[(t + 1) % 2]
            for e in range(E):
                store(now, (e, 0), splat(sources[t, e], lanes))
            _cell_step(w[j], bias[j], peep[j], now, after, cj, pre, forget_gate, lanes)
            if t >= record_from:
                states[j, t - record_from] = after[E:]
            if folds and fold_rows[t]:
                for k in range(C):
                    store(block, (k, count, 0), load(after, (E + k, 0), lanes))
                for lag in range(D):  # x_e(t - lag): from the sources, or the history before them
                    for e in range(E):
                        value = sources[t - lag, e] if lag <= t else history[lag - t - 1, e]
                        store(block, (C + lag * E + e, count, 0), splat(value, lanes))
                store(block, (p - 1, count, 0), splat(bias_value, lanes))
                for q in range(m):
                    store(block_targets, (q, count, 0), splat(targets[t, q], lanes))
                count += 1
                if count == FOLD_BLOCK:
                    _fold_block(r[j], qtd[j], rss[j], block, block_targets, count, lanes)
                    count = 0
        if count:
            _fold_block(r[j], qtd[j], rss[j], block, block_targets, count, lanes)
        if folds:
            _positive_diagonal(r[j], qtd[j], lanes)
        h[j] = buffers[T % 2, E:]
        c[j] = cj


@njit(cache=True, parallel=True, error_model="numpy")
def closed_loop_blocks(w, bias, peep, inputs, readout, h, c, y0, forget_gate, outputs, history, lanes):
    """Generate outputs (nb, T, m, L), feeding each lane's output back; h, c (nb, C, L) are updated in place.

    w (nb, C, I + m + C, 4L) as for :func:`teacher_forced_blocks` (the fed-back sources after the inputs), inputs
    (T, I) shared, readout (nb, C + D*(I+m) + 1, m, L) (last row: bias), y0 (nb, m, L) the first fed-back values,
    history (D-1, I+m) the external sources of the steps before the first, newest first (D = readout lags, from the
    readout's shape). Per lane the operations of :func:`evolino.kernels._numba_lstm.closed_loop_kernel`.
    """
    nb, C, L = h.shape
    T = outputs.shape[1]
    m = y0.shape[1]
    I = inputs.shape[1]
    E = I + m
    p = readout.shape[1]
    D = p - C - 1
    lags = D // E
    for j in prange(nb):
        buffers = np.empty((2, E + C, L))  # [u(t), y(t-1); h(t-1)] of this step and the next, taking turns
        buffers[0, E:] = h[j]
        cj = c[j].copy()
        pre = np.empty((C, 4 * L))
        y = y0[j].copy()
        window = np.zeros((D, L))  # [x_e(t), x_e(t-1), ...]; shifted one source vector before each step's fill
        for k in range(lags - 1):
            for e in range(E):
                store(window, (k * E + e, 0), splat(history[k, e], lanes))
        for t in range(T):
            now, after = buffers[t % 2], buffers[(t + 1) % 2]
            for e in range(I):
                store(now, (e, 0), splat(inputs[t, e], lanes))
            for q in range(m):
                store(now, (I + q, 0), load(y, (q, 0), lanes))
            _cell_step(w[j], bias[j], peep[j], now, after, cj, pre, forget_gate, lanes)
            if lags > 0:
                for d in range(D - 1, E - 1, -1):
                    store(window, (d, 0), load(window, (d - E, 0), lanes))
                for e in range(E):
                    store(window, (e, 0), load(now, (e, 0), lanes))
            for q in range(m):
                acc = splat(0.0, lanes)
                for k in range(C):
                    acc += load(after, (E + k, 0), lanes) * load(readout, (j, k, q, 0), lanes)
                for d in range(D):
                    acc += load(window, (d, 0), lanes) * load(readout, (j, C + d, q, 0), lanes)
                out = acc + load(readout, (j, p - 1, q, 0), lanes)
                store(y, (q, 0), out)
                store(outputs, (j, t, q, 0), out)
        h[j] = buffers[T % 2, E:]
        c[j] = cj
