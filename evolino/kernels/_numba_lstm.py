"""The numba kernels: the LSTM of :mod:`evolino.network`, one genome per parallel iteration.

Imported only by :mod:`evolino.kernels.compiled`; importing this module needs numba.

Layout (see :class:`evolino.kernels.compiled.KernelWeights`): a genome's units are stored unit-major, each unit block
(z, i, [f,] o) padded from C to ``Cp`` cells (a multiple of 8), so the pre-activation update
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

TINY_SQUARES = 1e-280  # below this, a sum of two squares may have lost digits to underflow


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
def _givens_fold(r, qtd, rss, row, target):
    """Fold one observation into a least-squares factor: [R | Q^T D; row | target] -> upper-triangular again.

    r (p, p) upper triangular, qtd (p, m) and rss (m,) are updated in place; row (p,) and target (m,) are used as
    scratch. What is left of the target once the row is rotated to zero is the row's share of the residual sum of
    squares.
    Givens rotations are backward stable, so R stays the R factor of the stacked design matrix (same singular
    values), as the Householder QR of :class:`evolino.readout.ReadoutStats` would give, to rounding.
    """
    p = r.shape[0]
    for k in range(p):
        x = row[k]
        if x == 0.0:
            continue
        a = r[k, k]
        squares = a * a + x * x
        if squares > TINY_SQUARES:
            radius = np.sqrt(squares)  # |h| <= 1, so no overflow; hypot is a slower libm call
        else:
            radius = math.hypot(a, x)  # the squares of tiny entries underflow (a zero radius would divide by zero)
        cs = a / radius
        sn = x / radius
        r[k, k] = radius
        for j in range(k + 1, p):
            rkj = r[k, j]
            r[k, j] = cs * rkj + sn * row[j]
            row[j] = cs * row[j] - sn * rkj
        for q in range(qtd.shape[1]):
            a_q = qtd[k, q]
            qtd[k, q] = cs * a_q + sn * target[q]
            target[q] = cs * target[q] - sn * a_q
    for q in range(qtd.shape[1]):
        rss[q] += target[q] * target[q]


@njit(cache=True, parallel=True, error_model="numpy")
def teacher_forced_kernel(w_ext, w_rec, bias, peep, unit_scale, unit_offset, sources, h, c, forget_gate, states,
                          record_from, targets, r, qtd, rss, fold_rows, direct, bias_value):
    """Run every genome over shared sources; h, c (n, C) are updated in place to the final state.

    w_ext (n, E, G*Cp), w_rec (n, C, G*Cp), bias (n, G*Cp), peep (n, G-1, C), sources (T, E).
    Recording: states (n, T - record_from, C) receives h(t) for t >= record_from (record_from = T: none).
    Folding: at every step t with fold_rows[t] (fold_rows (T,) uint8, or empty: none) the readout row
    [h(t), direct[t], bias_value] (direct (T, D)) with target targets[t] (T, m) is folded into r (n, p, p),
    qtd (n, p, m) and the residual sums of squares rss (n, m), p = C + D + 1, in place, so no states need to be
    stored.
    """
    n, C = h.shape
    T = sources.shape[0]
    Cp = bias.shape[1] // (peep.shape[1] + 1)
    p = r.shape[1]
    D = direct.shape[1]
    folds = fold_rows.shape[0] > 0
    for j in prange(n):
        pre = np.empty(bias.shape[1])
        work = np.zeros(2 * Cp)
        row = np.empty(p)
        target = np.empty(targets.shape[1])
        hj = h[j].copy()
        cj = c[j].copy()
        for t in range(T):
            _step(pre, work, bias[j], w_ext[j], sources[t], w_rec[j], peep[j], unit_scale, unit_offset, hj, cj,
                  forget_gate)
            if t >= record_from:
                states[j, t - record_from, :] = hj
            if folds and fold_rows[t]:
                row[:C] = hj
                for d in range(D):
                    row[C + d] = direct[t, d]
                row[p - 1] = bias_value
                target[:] = targets[t]
                _givens_fold(r[j], qtd[j], rss[j], row, target)
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
