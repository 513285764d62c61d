"""A plain, slow LSTM written from the genome layout documented in evolino/network.py: one genome, one step at a time.

It shares no code with evolino.network, so agreement checks the batched kernels, their weight unpacking and the
genome layout all at once.
"""

from __future__ import annotations

import math

import numpy as np


def _sig(x: float) -> float:
    return 0.5 + 0.5 * math.tanh(0.5 * x)


def decode(spec, genome: np.ndarray) -> list[dict]:
    """Per-cell dict of units -> (weights over sources, bias) and peepholes, read gene by gene."""
    units = ["z", "i", "f", "o"] if spec.forget_gate else ["z", "i", "o"]
    S = spec.n_sources
    cells, pos = [], 0
    for _ in range(spec.cells):
        cell = {}
        for unit in units:
            cell[unit] = (genome[pos : pos + S], genome[pos + S])
            pos += S + 1
        peep_units = units[1:]
        cell["peep"] = {u: 0.0 for u in ("i", "f", "o")}
        if spec.peepholes:
            for unit in peep_units:
                cell["peep"][unit] = genome[pos]
                pos += 1
        cells.append(cell)
    assert pos == genome.size
    return cells


def step(spec, cells: list[dict], x: np.ndarray, h: np.ndarray, c: np.ndarray):
    """One step of one network; x are the external sources [u, scale * y_prev]."""
    src = np.concatenate([x, h])
    h_new, c_new = np.zeros_like(h), np.zeros_like(c)
    for k, cell in enumerate(cells):
        def net(unit, cell=cell):
            w, b = cell[unit]
            return sum(w[s] * src[s] for s in range(src.size)) + b

        z = math.tanh(net("z"))
        i = _sig(net("i") + cell["peep"]["i"] * c[k])
        f = _sig(net("f") + cell["peep"]["f"] * c[k]) if spec.forget_gate else 1.0
        c_new[k] = f * c[k] + i * z
        o = _sig(net("o") + cell["peep"]["o"] * c_new[k])
        h_new[k] = o * math.tanh(c_new[k])
    return h_new, c_new


def run(spec, genome, steps, inputs=None, feedback=None):
    """Teacher-forced run of one genome from zero state -> states (T, C), final h (C,), final c (C,)."""
    cells = decode(spec, genome)
    h, c = np.zeros(spec.cells), np.zeros(spec.cells)
    states = []
    for t in range(steps):
        parts = []
        if spec.n_inputs:
            parts.append(inputs[t])
        if spec.feedback:
            parts.append(spec.feedback_scale * feedback[t])
        h, c = step(spec, cells, np.concatenate(parts) if parts else np.zeros(0), h, c)
        states.append(h.copy())
    return np.array(states), h, c


def free_run(spec, genome, h, c, first_feedback, readout, steps, inputs=None, past_sources=()):
    """Closed-loop outputs (steps, m) from state (h, c); readout (C + L*E + 1, m): cells, the unscaled external sources
    [u, y_prev] of the last L steps (newest first), bias. ``past_sources``: those of the steps before, oldest first."""
    cells = decode(spec, genome)
    y = np.asarray(first_feedback, dtype=float)
    seen = [np.asarray(x, dtype=float) for x in past_sources]
    outputs = []
    for t in range(steps):
        raw = np.concatenate([inputs[t] if spec.n_inputs else np.zeros(0), y])
        seen.append(raw)
        parts = [inputs[t]] if spec.n_inputs else []
        parts.append(spec.feedback_scale * y)
        h, c = step(spec, cells, np.concatenate(parts), h, c)
        lags = [seen[-1 - k] if k < len(seen) else np.zeros_like(raw) for k in range(spec.readout_lags)]
        y = np.concatenate([h, *lags, [1.0]]) @ readout
        outputs.append(y)
    return np.array(outputs)
