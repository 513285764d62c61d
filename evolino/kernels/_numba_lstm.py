"""The numba kernels: the LSTM of :mod:`evolino.network`, one genome per parallel iteration.

Imported only by :mod:`evolino.kernels.compiled`; importing this module needs numba.

Layout (see :class:`evolino.kernels.compiled.KernelWeights`): a genome's units are stored unit-major, each unit block
(z, i, [f,] o) padded from C to ``Cp`` cells (a multiple of 4, one AVX2 vector), so the pre-activation update
``pre += h[k] * w_rec[j, k, :]`` and the activation loops run over long, unit-stride, SIMD-width multiples: LLVM
vectorises them without a scalar tail, and without reordering any sum. tanh is :func:`fast_tanh` (arithmetic only,
so it vectorises; libm's tanh would be a call per element).

No fastmath: every genome's arithmetic is plain IEEE in a fixed order, so a genome's result does not depend on the
other genomes of the batch nor on the number of threads. Padding rows have zero weights and are never read back.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from evolino.kernels._tanh import fast_tanh

# numba's cache of a kernel is invalidated when this file changes, not when the _tanh.py it inlines does: this
# fingerprint of _tanh.py (tests/test_kernels.py checks it) makes every change there a change here too.
TANH_FINGERPRINT = "9282c69f998a2d8a"
TINY_SQUARES = 1e-280  # below this, a sum of two squares may have lost digits to underflow
FOLD_BLOCK = 16  # readout rows folded together (see _fold_block)


@njit(cache=True, inline="always", error_model="numpy")
def _add_rows(pre, rows, values):
    """pre (R,) += sum_k values[k] * rows[k] (R,), one row at a time (elementwise, so it vectorises exactly)."""
    R = pre.shape[0]
    for k in range(values.shape[0]):
        v = values[k]
        for r in range(R):
            pre[r] += v * rows[k, r]


@njit(cache=True, inline="always", error_model="numpy")
def _activate(pre, peep, unit_scale, unit_offset, work, h, c, cells, forget_gate):
    """Advance one genome's cells from pre-activations ``pre`` (G*Cp,) (overwritten); h, c (C,) in place.

    Same arithmetic as :func:`evolino.network._cell_step`: sigmoid(x) = 0.5 + 0.5 tanh(0.5 x), the input and forget
    gates' peepholes see the old c, the output gate's the new c. ``unit_scale`` / ``unit_offset`` ((G-1)*Cp,) are
    1 / 0 on the z rows and 0.5 / 0.5 on the gate rows, so one loop computes tanh and the sigmoids exactly
    (x * 1.0 and 0.0 + 1.0 * t are exact). ``work`` (2*Cp,) is scratch.
    """
    C = cells
    Cp = work.shape[0] // 2
    n_rows = unit_scale.shape[0]  # (G-1) * Cp: z, i, [f]
    for k in range(C):
        pre[Cp + k] += peep[0, k] * c[k]
    if forget_gate:
        for k in range(C):
            pre[2 * Cp + k] += peep[1, k] * c[k]
    for r in range(n_rows):
        pre[r] = unit_offset[r] + unit_scale[r] * fast_tanh(unit_scale[r] * pre[r])
    if forget_gate:
        for k in range(C):
            c[k] = pre[2 * Cp + k] * c[k] + pre[Cp + k] * pre[k]
    else:
        for k in range(C):
            c[k] = c[k] + pre[Cp + k] * pre[k]
    o_peep = peep.shape[0] - 1
    for k in range(C):
        work[k] = 0.5 * (pre[n_rows + k] + peep[o_peep, k] * c[k])
        work[Cp + k] = c[k]
    for r in range(2 * Cp):
        work[r] = fast_tanh(work[r])
    for k in range(C):
        h[k] = (0.5 + 0.5 * work[k]) * work[Cp + k]


@njit(cache=True, inline="always", error_model="numpy")
def _step(pre, work, bias, w_ext, source, w_rec, peep, unit_scale, unit_offset, h, c, forget_gate):
    """One step of one genome: pre-activations from bias, external sources and h(t-1), then the cells (h, c)."""
    pre[:] = bias
    _add_rows(pre, w_ext, source)
    _add_rows(pre, w_rec, h)
    _activate(pre, peep, unit_scale, unit_offset, work, h, c, h.shape[0], forget_gate)


@njit(cache=True, inline="always", error_model="numpy")
def _reflect_column(u0, v, inv, head, column, count):
    """Apply the reflection (u0, v) of :func:`_fold_block` to one column: its entry ``head`` in R (or Q^T D) and its
    first ``count`` entries in the block, ``column``, updated in place. Returns the new head."""
    dot = u0 * head
    for b in range(count):
        dot += v[b] * column[b]
    f = dot * inv
    for b in range(count):
        column[b] += f * v[b]
    return head + f * u0


@njit(cache=True, error_model="numpy")  # called every 16 rows: not inlined, so it compiles once
def _fold_block(r, qtd, rss, block, block_targets, count):
    """Fold a block of observations into a least-squares factor: [R | Q^T D; rows | targets] -> triangular again.

    r (p, p) upper triangular, qtd (p, m) and rss (m,) are updated in place by the first ``count`` columns of
    block (p, B) (one observation per column) with their targets block_targets (m, B); both are used as scratch.
    Column k of R and the block is reduced by one Householder reflection of the k-th entries (R[k, k] and the block's
    row k), applied to the columns right of k and to the targets (as LAPACK's triangular-pentagonal QR, dtpqrt,
    does). What is left of the targets is their share of the residual sum of squares. Householder reflections are
    backward stable, so R stays an R factor of the stacked design matrix (same singular values), to rounding; its
    diagonal may come out negative (:func:`_positive_diagonal` makes it non-negative again).
    A block costs one square root and one division per column, where rotating the rows in one by one cost one per
    column and row, and the loops over the block's B observations are unit-stride, so they vectorise.
    """
    p = r.shape[0]
    m = qtd.shape[1]
    for k in range(p):
        v = block[k]
        sigma = 0.0
        for b in range(count):
            sigma += v[b] * v[b]
        if sigma == 0.0:  # rare: all zero (a feature that is 0 at these steps), or squares that underflow
            nonzero = False
            for b in range(count):
                nonzero |= v[b] != 0.0
            if not nonzero:
                continue
        x0 = r[k, k]
        scale = 1.0
        if x0 * x0 + sigma <= TINY_SQUARES:  # rare: entries so tiny that their squares underflow
            scale = abs(x0)
            for b in range(count):
                scale = max(scale, abs(v[b]))
            x0 /= scale  # the reflection of the entries scaled to <= 1 is the same
            sigma = 0.0
            for b in range(count):
                v[b] /= scale
                sigma += v[b] * v[b]
        alpha = -math.copysign(np.sqrt(x0 * x0 + sigma), x0)  # the new R[k, k] (scaled); signs as LAPACK's dlarfg
        u0 = x0 - alpha  # the reflection's vector is (u0, v); |u0| >= |alpha|, no cancellation
        inv = 1.0 / (alpha * u0)  # H y = y + (u . y) / (alpha u0) u
        for j in range(k + 1, p):
            r[k, j] = _reflect_column(u0, v, inv, r[k, j], block[j], count)
        for q in range(m):
            qtd[k, q] = _reflect_column(u0, v, inv, qtd[k, q], block_targets[q], count)
        r[k, k] = scale * alpha
    for q in range(m):
        for b in range(count):
            rss[q] += block_targets[q, b] * block_targets[q, b]


@njit(cache=True, inline="always", error_model="numpy")
def _positive_diagonal(r, qtd):
    """Negate the rows of r (p, p) and qtd (p, m) whose diagonal entry is negative (exact; Q^T changes alike)."""
    for k in range(r.shape[0]):
        if r[k, k] < 0.0:
            for j in range(k, r.shape[1]):
                r[k, j] = -r[k, j]
            for q in range(qtd.shape[1]):
                qtd[k, q] = -qtd[k, q]


@njit(cache=True, parallel=True, error_model="numpy")
def teacher_forced_kernel(w_ext, w_rec, bias, peep, unit_scale, unit_offset, sources, h, c, forget_gate, states,
                          record_from, targets, r, qtd, rss, fold_rows, history, bias_value):
    """Run every genome over shared sources; h, c (n, C) are updated in place to the final state.

    w_ext (n, E, G*Cp), w_rec (n, C, G*Cp), bias (n, G*Cp), peep (n, G-1, C), sources (T, E).
    Recording: states (n, T - record_from, C) receives h(t) for t >= record_from (record_from = T: none).
    Folding: at every step t with fold_rows[t] (fold_rows (T,) uint8, or empty: none) the readout row
    [h(t), x_e(t), x_e(t-1), ..., x_e(t-L+1), bias_value] with target targets[t] (T, m) is folded into r (n, p, p),
    qtd (n, p, m) and the residual sums of squares rss (n, m), p = C + L*E + 1, in place, so no states need to be
    stored. The lagged sources are read from ``sources`` and, before its first step, from history (>= L-1, E) (the
    steps before, newest first), so no (T, L*E) lag matrix is ever made; L follows from p.
    """
    n, C = h.shape
    T, E = sources.shape
    Cp = bias.shape[1] // (peep.shape[1] + 1)
    p = r.shape[1]
    folds = fold_rows.shape[0] > 0
    L = (p - C - 1) // E if folds and E > 0 else 0
    for j in prange(n):
        pre = np.empty(bias.shape[1])
        work = np.zeros(2 * Cp)
        block = np.empty((p, FOLD_BLOCK))
        block_targets = np.empty((targets.shape[1], FOLD_BLOCK))
        count = 0
        hj = h[j].copy()
        cj = c[j].copy()
        for t in range(T):
            _step(pre, work, bias[j], w_ext[j], sources[t], w_rec[j], peep[j], unit_scale, unit_offset, hj, cj,
                  forget_gate)
            if t >= record_from:
                states[j, t - record_from, :] = hj
            if folds and fold_rows[t]:
                for k in range(C):
                    block[k, count] = hj[k]
                for lag in range(L):  # x_e(t - lag): from the sources, or the history before them
                    for e in range(E):
                        block[C + lag * E + e, count] = sources[t - lag, e] if lag <= t else history[lag - t - 1, e]
                block[p - 1, count] = bias_value
                for q in range(targets.shape[1]):
                    block_targets[q, count] = targets[t, q]
                count += 1
                if count == FOLD_BLOCK:
                    _fold_block(r[j], qtd[j], rss[j], block, block_targets, count)
                    count = 0
        if count:
            _fold_block(r[j], qtd[j], rss[j], block, block_targets, count)
        if folds:
            _positive_diagonal(r[j], qtd[j])
        h[j, :] = hj
        c[j, :] = cj


@njit(cache=True, parallel=True, error_model="numpy")
def closed_loop_kernel(w_in, w_fb, w_rec, bias, peep, unit_scale, unit_offset, inputs, readout, h, c, y0,
                       forget_gate, outputs, history):
    """Generate outputs (n, T, m), feeding each output back; h, c (n, C) are updated in place.

    w_in (n, I, G*Cp), w_fb (n, m, G*Cp) (feedback scale folded in), inputs (T, I) shared,
    readout (n, C + L*(I+m) + 1, m) (last row: bias), y0 (n, m) the first fed-back value, history (L-1, I+m) the
    external sources of the steps before the first, newest first (L = readout lags, from the readout's shape).
    """
    n, C = h.shape
    T = outputs.shape[1]
    m = y0.shape[1]
    I = inputs.shape[1]
    E = I + m
    p = readout.shape[1]
    D = p - C - 1
    L = D // E
    Cp = bias.shape[1] // (peep.shape[1] + 1)
    for j in prange(n):
        pre = np.empty(bias.shape[1])
        work = np.zeros(2 * Cp)
        window = np.zeros(D)  # [x_e(t), x_e(t-1), ..., x_e(t-L+1)]; shifted one block before each step's fill
        for k in range(L - 1):
            for e in range(E):
                window[k * E + e] = history[k, e]
        hj = h[j].copy()
        cj = c[j].copy()
        y = y0[j].copy()
        for t in range(T):
            pre[:] = bias[j]
            _add_rows(pre, w_in[j], inputs[t])
            _add_rows(pre, w_fb[j], y)
            _add_rows(pre, w_rec[j], hj)
            _activate(pre, peep[j], unit_scale, unit_offset, work, hj, cj, C, forget_gate)
            if L > 0:
                for k in range(L - 1, 0, -1):
                    for e in range(E):
                        window[k * E + e] = window[(k - 1) * E + e]
                for e in range(I):
                    window[e] = inputs[t, e]
                for q in range(m):
                    window[I + q] = y[q]
            for q in range(m):
                acc = 0.0
                for k in range(C):
                    acc += hj[k] * readout[j, k, q]
                for d in range(D):
                    acc += window[d] * readout[j, C + d, q]
                y[q] = acc + readout[j, p - 1, q]
                outputs[j, t, q] = y[q]
        h[j, :] = hj
        c[j, :] = cj
