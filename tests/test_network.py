"""The batched numpy LSTM against a plain per-genome, per-step loop, and batch-composition invariance."""

import itertools

import numpy as np
import pytest

from evolino.network import DRIVE_STEPS, LSTMSpec, closed_loop, lag_matrix, lag_view, teacher_forced, unpack
from tests import reference_lstm as ref

VARIANTS = [
    dict(n_inputs=0, cells=3, n_outputs=1, peepholes=True, forget_gate=True, feedback=True),
    dict(n_inputs=2, cells=4, n_outputs=2, peepholes=False, forget_gate=True, feedback=True),
    dict(n_inputs=3, cells=2, n_outputs=1, peepholes=True, forget_gate=False, feedback=False),
    dict(n_inputs=1, cells=5, n_outputs=3, peepholes=False, forget_gate=False, feedback=True, feedback_scale=0.5),
]


def _data(spec, steps, rng):
    inputs = rng.normal(size=(steps, spec.n_inputs)) if spec.n_inputs else None
    feedback = rng.normal(size=(steps, spec.n_outputs)) if spec.feedback else None
    return inputs, feedback


@pytest.mark.parametrize("variant", VARIANTS)
def test_batched_forward_matches_plain_loop(variant):
    rng = np.random.default_rng(1)
    spec = LSTMSpec(**variant)
    genomes = rng.normal(0, 0.7, (4, spec.dimension))
    steps = 12
    inputs, feedback = _data(spec, steps, rng)
    states, final = teacher_forced(spec, unpack(spec, genomes), steps, inputs=inputs, feedback=feedback)
    assert states.shape == (4, steps, spec.cells)
    for k, genome in enumerate(genomes):
        expected, h, c = ref.run(spec, genome, steps, inputs, feedback)
        np.testing.assert_allclose(states[k], expected, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(final.c[k], c, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v["feedback"]])
def test_closed_loop_matches_plain_loop(variant):
    rng = np.random.default_rng(2)
    spec = LSTMSpec(**variant)
    genomes = rng.normal(0, 0.5, (3, spec.dimension))
    steps, free = 8, 6
    inputs, feedback = _data(spec, steps, rng)
    weights = unpack(spec, genomes)
    _, state = teacher_forced(spec, weights, steps, inputs=inputs, feedback=feedback)
    readout = rng.normal(size=(3, spec.cells + 1, spec.n_outputs))
    future = rng.normal(size=(free, spec.n_inputs)) if spec.n_inputs else None
    first = rng.normal(size=spec.n_outputs)
    out = closed_loop(spec, weights, readout, state, first, free, inputs=future)
    for k, genome in enumerate(genomes):
        _, h, c = ref.run(spec, genome, steps, inputs, feedback)
        expected = ref.free_run(spec, genome, h, c, first, readout[k], free, inputs=future)
        np.testing.assert_allclose(out[k], expected, rtol=1e-11, atol=1e-13)


def test_a_long_closed_loop_with_inputs_matches_plain_loop():
    """The inputs' drive is computed DRIVE_STEPS at a time: a run across several blocks, with readout lags."""
    rng = np.random.default_rng(5)
    spec = LSTMSpec(n_inputs=2, cells=3, n_outputs=1, feedback_scale=0.2, readout_lags=3)
    genomes = rng.normal(0, 0.3, (2, spec.dimension))
    free = 2 * DRIVE_STEPS + 17
    state = teacher_forced(spec, unpack(spec, genomes), 5, inputs=rng.normal(size=(5, 2)),
                           feedback=rng.normal(size=(5, 1)))[1]
    readout = rng.normal(0, 0.1, (2, spec.readout_rows, 1))
    future, past = rng.normal(size=(free, 2)), rng.normal(size=(4, 3))
    out = closed_loop(spec, unpack(spec, genomes), readout, state, np.zeros(1), free, inputs=future,
                      source_history=past)
    for k, genome in enumerate(genomes):
        expected = ref.free_run(spec, genome, state.h[k], state.c[k], np.zeros(1), readout[k], free, inputs=future,
                                past_sources=past)
        np.testing.assert_allclose(out[k], expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("steps, width, lags", [(40, 1, 30), (7, 3, 4), (5, 2, 9), (1, 1, 3), (6, 2, 1), (6, 2, 0),
                                                (0, 1, 3), (4, 0, 3)])
def test_lag_view_is_the_lag_matrix_held_in_o_of_t(steps, width, lags):
    rng = np.random.default_rng(steps + width + lags)
    sources = rng.normal(size=(steps, width))
    view = lag_view(sources, lags)
    matrix = lag_matrix(sources, lags)
    loop = np.zeros((steps, lags * width))  # row t: [x(t), x(t-1), ..., x(t-lags+1)], zeros before the first step
    for t, lag in itertools.product(range(steps), range(lags)):
        if t - lag >= 0:
            loop[t, lag * width : (lag + 1) * width] = sources[t - lag]
    assert view.shape == matrix.shape == loop.shape
    np.testing.assert_array_equal(matrix, loop)
    np.testing.assert_array_equal(view, matrix)
    if view.size:
        assert not view.flags.writeable
        owner = view
        while owner.base is not None:
            owner = owner.base
        assert owner.size == (steps + lags - 1) * width  # not steps * lags * width


def test_result_is_bit_identical_whatever_shares_the_batch():
    rng = np.random.default_rng(3)
    spec = LSTMSpec(n_inputs=1, cells=6, n_outputs=1)
    genomes = rng.normal(0, 0.5, (9, spec.dimension))
    inputs, feedback = _data(spec, 30, rng)
    full, _ = teacher_forced(spec, unpack(spec, genomes), 30, inputs=inputs, feedback=feedback)
    for chunk in ([4], [0, 8], [1, 2, 3, 5, 7], list(range(9))[::-1]):
        part, _ = teacher_forced(spec, unpack(spec, genomes[chunk]), 30, inputs=inputs, feedback=feedback)
        assert np.array_equal(part, full[chunk])


def test_genome_layout_cell_slices_partition_the_genome():
    spec = LSTMSpec(n_inputs=2, cells=4, n_outputs=1)
    slices = spec.cell_slices()
    covered = list(itertools.chain.from_iterable(range(s.start, s.stop) for s in slices))
    assert covered == list(range(spec.dimension))
    # 4 units x (2 inputs + 1 feedback + 4 cells + bias) + 3 peepholes
    assert spec.cell_genes == 4 * (2 + 1 + 4 + 1) + 3


def test_changing_one_cells_slice_leaves_other_cells_weights_alone():
    spec = LSTMSpec(cells=3)
    rng = np.random.default_rng(4)
    genome = rng.normal(size=(1, spec.dimension))
    changed = genome.copy()
    changed[0, spec.cell_slices()[1]] += 1.0
    a, b = unpack(spec, genome), unpack(spec, changed)
    rows = np.arange(spec.n_gates * spec.cells) % spec.cells  # row g*C + k belongs to cell k
    differs = np.any(a.w_rec[0] != b.w_rec[0], axis=1)
    assert set(rows[differs]) == {1}
    assert np.array_equal(a.peep[0][:, [0, 2]], b.peep[0][:, [0, 2]])


def test_huge_weights_do_not_overflow():
    spec = LSTMSpec(cells=3)
    genomes = np.full((2, spec.dimension), 1e200)
    states, _ = teacher_forced(spec, unpack(spec, genomes), 5, feedback=np.ones((5, 1)))
    # Saturated gates and squashing keep every cell output within [-1, 1]: no overflow, no NaN.
    assert np.isfinite(states).all() and np.abs(states).max() <= 1.0


@pytest.mark.parametrize("bad", [np.zeros((2, 5)), np.zeros(7)])
def test_wrong_genome_shape_is_rejected(bad):
    with pytest.raises(ValueError, match="genomes must have shape"):
        unpack(LSTMSpec(cells=2), bad)


def test_spec_rejects_invalid_sizes():
    with pytest.raises(ValueError):
        LSTMSpec(cells=0)
    with pytest.raises(ValueError):
        LSTMSpec(n_outputs=0)
    with pytest.raises(ValueError):
        LSTMSpec(feedback_scale=float("nan"))
