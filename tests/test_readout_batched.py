"""Readout statistics built from states directly, and streamed in segments by the fitness."""

from __future__ import annotations

import numpy as np

from evolino import fitness
from evolino.kernels import forward_ops
from evolino.network import LSTMSpec, teacher_forced, unpack
from evolino.readout import ReadoutConfig, ReadoutStats, design_matrix
from evolino.tasks.base import SequencePair


def test_add_states_equals_add_design_matrix_bit_for_bit():
    rng = np.random.default_rng(0)
    states, targets = rng.normal(size=(3, 50, 4)), rng.normal(size=(50, 2))
    for bias in (True, False):
        a, b = ReadoutStats(3, 5, 2), ReadoutStats(3, 5, 2)
        for _ in range(2):  # a second sequence stacks onto R
            a.add(design_matrix(states, bias), targets)
            b.add_states(states, targets, bias)
        np.testing.assert_array_equal(a.r, b.r)
        np.testing.assert_array_equal(a.qtd, b.qtd)


def test_streamed_fit_matches_one_shot_fit():
    """A sequence longer than STREAM_STEPS after the washout is folded in segments; same readout to rounding."""
    spec = LSTMSpec(cells=6, feedback_scale=0.1)
    rng = np.random.default_rng(2)
    genomes = rng.normal(0, 0.4, (4, spec.dimension))
    steps, washout = 2 * fitness.STREAM_STEPS + 37, 30
    y = np.sin(0.2 * np.arange(steps))[:, None] + 0.1 * rng.normal(size=(steps, 1))
    config = ReadoutConfig(ridge=1e-8)
    assert len(fitness._segments(steps, washout)) == 4
    weights = unpack(spec, genomes)
    for kernel in ("numpy", "compiled", "compiled-scalar"):
        passes = fitness.ForwardPasses(spec, genomes, kernel)
        (streamed,), finals, _ = passes.fit([fitness.line_of(spec, [SequencePair(y)])], [steps], washout, config)
        states, final = teacher_forced(spec, weights, steps, feedback=fitness.previous_targets(y))
        reference = ReadoutStats(4, spec.readout_rows, 1)
        reference.add(design_matrix(states[:, washout:], True), y[washout:])
        one_shot = reference.solve(config, shrunk=spec.cells)  # the ridge shrinks the cell weights only
        assert np.max(np.abs(streamed - one_shot)) < 1e-8 * np.max(np.abs(one_shot))
        np.testing.assert_allclose(finals[0].h, final.h, rtol=1e-12, atol=1e-14)
        assert passes.ops.name == forward_ops(kernel).name == kernel
