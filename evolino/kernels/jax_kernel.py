"""The JAX kernel: the forward passes of :mod:`evolino.network` compiled by XLA, on the CPU or a GPU.

Idea
----
The same equations as the numpy reference (see :mod:`evolino.network`), written once for the whole population:
each time step is a batched matrix-vector product over the genomes plus elementwise gates, and the loop over time
is a ``jax.lax.scan``, so XLA compiles the whole sequence into one program (per shape: the first call of a new
(population, steps, spec) compiles, later calls reuse it). JAX runs it on its default device: a GPU when one is
installed and found, else the CPU. Arithmetic is float64 (inside ``jax.enable_x64``, so no global JAX setting is
changed); results agree with the numpy reference to rounding (XLA may sum in another order).

Operations and shapes (those of :mod:`evolino.network`)::

    teacher_forced(spec, weights, steps, inputs (T, n_inputs), feedback (T, n_outputs), state)
        -> states (n, T, cells), final LSTMState
    closed_loop(spec, weights, readout (n, readout_rows, m), state, first_feedback (m,) or (n, m), steps,
                inputs (steps, n_inputs), source_history (L-1, n_external))
        -> outputs (n, steps, m)

Selected with ``EVOLINO_KERNEL=jax`` or ``kernel="jax"`` (:func:`evolino.kernels.forward_ops`); needs the ``jax``
extra (``pip install -e ".[jax]"``, or JAX's own instructions for a GPU build). The readout statistics are
computed from the returned states by the numpy code, as for the numpy kernel.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from evolino.network import LSTMSpec, LSTMState, LSTMWeights, external_sources, history_rows

__all__ = ["teacher_forced", "closed_loop", "device"]


def device() -> str:
    """The device the kernel runs on, e.g. ``"cpu:0 (TFRT_CPU_0)"`` or ``"gpu:0 (NVIDIA ...)"``."""
    found = jax.devices()[0]
    return f"{found.platform}:{found.id} ({getattr(found, 'device_kind', found)})"


def _sigmoid(x):
    return 1.0 / (1.0 + jnp.exp(-x))


def _cell_step(cells: int, forget_gate: bool, w_rec, peep, pre, h, c):
    """One step of every genome: pre (n, G*C) without the recurrent part -> new (h, c), each (n, C)."""
    pre = pre + jnp.einsum("ngc,nc->ng", w_rec, h)
    z = jnp.tanh(pre[:, :cells])
    i = _sigmoid(pre[:, cells: 2 * cells] + peep[:, 0] * c)
    if forget_gate:
        f = _sigmoid(pre[:, 2 * cells: 3 * cells] + peep[:, 1] * c)
        c = f * c + i * z
    else:
        c = c + i * z
    o = _sigmoid(pre[:, -cells:] + peep[:, -1] * c)
    return o * jnp.tanh(c), c


@partial(jax.jit, static_argnums=(0, 1))
def _teacher_forced(cells: int, forget_gate: bool, w_ext, w_rec, bias, peep, sources, h0, c0):
    drive = bias[None] + jnp.einsum("te,nge->tng", sources, w_ext)  # (T, n, G*C)

    def step(carry, pre):
        h, c = _cell_step(cells, forget_gate, w_rec, peep, pre, *carry)
        return (h, c), h

    (h, c), states = jax.lax.scan(step, (h0, c0), drive)
    return jnp.transpose(states, (1, 0, 2)), h, c


@partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _closed_loop(cells: int, forget_gate: bool, n_inputs: int, lags: int, w_in, w_fb, w_rec, bias, peep, w_h, w_d,
                 w_b, sources_in, y0, lagged0, h0, c0):
    drive = bias[None] + jnp.einsum("te,nge->tng", sources_in, w_in)  # (steps, n, G*C)
    n = h0.shape[0]

    def step(carry, xs):
        h, c, y, lagged = carry
        pre_in, source_t = xs
        pre = pre_in + jnp.einsum("ngm,nm->ng", w_fb, y)
        h, c = _cell_step(cells, forget_gate, w_rec, peep, pre, h, c)
        out = jnp.einsum("nc,ncm->nm", h, w_h) + w_b
        if lags:
            current = jnp.concatenate([jnp.broadcast_to(source_t, (n, n_inputs)), y], axis=1)
            window = jnp.concatenate([current[:, None], lagged], axis=1)  # (n, L, E): x_e(t), x_e(t-1), ...
            out = out + jnp.einsum("nd,ndm->nm", window.reshape(n, -1), w_d)
            lagged = window[:, : lags - 1]
        return (h, c, out, lagged), out

    _, outputs = jax.lax.scan(step, (h0, c0, y0, lagged0), (drive, sources_in))
    return jnp.transpose(outputs, (1, 0, 2))


def _start(state: LSTMState | None, n: int, cells: int) -> tuple[np.ndarray, np.ndarray]:
    if state is None:
        return np.zeros((n, cells)), np.zeros((n, cells))
    return np.asarray(state.h, dtype=np.float64), np.asarray(state.c, dtype=np.float64)


def teacher_forced(spec: LSTMSpec, weights: LSTMWeights, steps: int, inputs: np.ndarray | None = None,
                   feedback: np.ndarray | None = None, state: LSTMState | None = None) -> tuple[np.ndarray, LSTMState]:
    """:func:`evolino.network.teacher_forced` on JAX: states (n, T, cells) and the final state (numpy arrays)."""
    n = weights.bias.shape[0]
    sources = external_sources(spec, inputs, feedback, steps)
    h0, c0 = _start(state, n, spec.cells)
    with jax.enable_x64(True):
        states, h, c = _teacher_forced(spec.cells, spec.forget_gate, weights.w_ext, weights.w_rec, weights.bias,
                                       weights.peep, sources, h0, c0)
        return np.asarray(states), LSTMState(np.asarray(h), np.asarray(c))


def closed_loop(spec: LSTMSpec, weights: LSTMWeights, readout: np.ndarray, state: LSTMState,
                first_feedback: np.ndarray, steps: int, inputs: np.ndarray | None = None,
                source_history: np.ndarray | None = None) -> np.ndarray:
    """:func:`evolino.network.closed_loop` on JAX: outputs (n, steps, n_outputs) as a numpy array."""
    if not spec.feedback:
        raise ValueError("closed-loop generation needs an LSTMSpec with feedback=True")
    n, C = state.h.shape
    L, E, D = spec.readout_lags, spec.n_external, spec.n_direct
    sources_in = external_sources(spec, inputs, np.zeros((steps, spec.n_outputs)), steps)[:, : spec.n_inputs]
    y0 = np.broadcast_to(np.asarray(first_feedback, dtype=np.float64), (n, spec.n_outputs)).copy()
    lagged0 = np.broadcast_to(history_rows(spec, source_history), (n, max(L - 1, 0), E)).copy()
    readout = np.asarray(readout, dtype=np.float64)
    with jax.enable_x64(True):
        outputs = _closed_loop(C, spec.forget_gate, spec.n_inputs, L, weights.w_ext[:, :, : spec.n_inputs],
                               weights.w_ext[:, :, spec.n_inputs:], weights.w_rec, weights.bias, weights.peep,
                               readout[:, :C], readout[:, C: C + D], readout[:, -1], sources_in, y0, lagged0,
                               *_start(state, n, C))
        return np.asarray(outputs)
