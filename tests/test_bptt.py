"""BPTT baseline: the analytic gradient against central finite differences for every network variant."""

import numpy as np
import pytest

from evolino.baselines.bptt import BPTTLSTM, batch_loss_and_gradient, loss_and_gradient
from evolino.network import LSTMSpec
from evolino.tasks import SequencePair, make_task

VARIANTS = [
    dict(n_inputs=0, cells=3, n_outputs=1, feedback=True, feedback_scale=0.5),
    dict(n_inputs=2, cells=2, n_outputs=2, peepholes=False, feedback=True),
    dict(n_inputs=1, cells=3, n_outputs=1, forget_gate=False, feedback=False),
    dict(n_inputs=2, cells=2, n_outputs=1, forget_gate=False, peepholes=False, feedback=False),
]


def _central_differences(loss, x, eps=1e-6):
    """Numerical gradient of the scalar function ``loss`` at array ``x`` (any shape)."""
    numeric = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = (loss(up) - loss(down)) / (2 * eps)
    return numeric


@pytest.mark.parametrize("variant, masked", [(v, False) for v in VARIANTS] + [(VARIANTS[2], True)])
def test_gradient_matches_finite_differences(variant, masked):
    spec = LSTMSpec(**variant)
    rng = np.random.default_rng(0)
    steps = 9
    mask = np.array([True, False, True, True, False, False, True, False, True]) if masked else None
    pair = SequencePair(rng.normal(size=(steps, spec.n_outputs)),
                        rng.normal(size=(steps, spec.n_inputs)) if spec.n_inputs else None, mask)
    genome = rng.normal(0, 0.6, spec.dimension)
    readout = rng.normal(0, 0.6, (spec.cells + 1, spec.n_outputs))
    _, grad, grad_readout = loss_and_gradient(spec, genome, readout, pair, washout=2)
    numeric = _central_differences(lambda g: loss_and_gradient(spec, g, readout, pair, 2)[0], genome)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-9)
    numeric_readout = _central_differences(lambda w: loss_and_gradient(spec, genome, w, pair, 2)[0], readout)
    np.testing.assert_allclose(grad_readout, numeric_readout, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("variant", VARIANTS[1:3])
def test_a_batch_of_unequal_sequences_gives_the_mean_of_their_losses_and_gradients(variant):
    """Padding at the end must change nothing: the batch equals the mean of the sequences run one by one."""
    spec = LSTMSpec(**variant)
    rng = np.random.default_rng(1)
    pairs = []
    for steps in (7, 12, 9):
        mask = None if spec.feedback else rng.random(steps) < 0.6  # fed-back targets have no gaps
        pairs.append(SequencePair(rng.normal(size=(steps, spec.n_outputs)),
                                  rng.normal(size=(steps, spec.n_inputs)) if spec.n_inputs else None, mask))
    genome = rng.normal(0, 0.6, spec.dimension)
    readout = rng.normal(0, 0.6, (spec.cells + 1, spec.n_outputs))
    singles = [loss_and_gradient(spec, genome, readout, pair, washout=2) for pair in pairs]
    loss, grad, grad_readout = batch_loss_and_gradient(spec, genome, readout, pairs, washout=2)
    assert loss == pytest.approx(np.mean([s[0] for s in singles]), rel=1e-12)
    np.testing.assert_allclose(grad, np.mean([s[1] for s in singles], axis=0), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grad_readout, np.mean([s[2] for s in singles], axis=0), rtol=1e-10, atol=1e-14)


def test_training_lowers_the_loss_and_is_reproducible():
    task = make_task("mso1", train_end=80, validation_end=100, test_end=140, washout=20)
    a = BPTTLSTM(cells=3, iterations=40, learning_rate=0.02, random_state=1).fit(task).result_
    b = BPTTLSTM(cells=3, iterations=40, learning_rate=0.02, random_state=1).fit(task).result_
    assert a.train_loss[-1] < 0.5 * a.train_loss[0]
    assert a.train_loss == b.train_loss and a.test_error == b.test_error
    assert np.isfinite(a.validation_error)


def test_minibatches_are_reproducible_and_a_batch_as_large_as_the_data_is_the_full_batch():
    from evolino.tasks import Task

    several = Task("several", train=[SequencePair(np.sin(0.3 * np.arange(40) + k)[:, None]) for k in range(6)],
                   validation=[SequencePair(np.sin(0.3 * np.arange(40) + 7)[:, None])], washout=5)
    full = BPTTLSTM(cells=2, iterations=6, random_state=3).fit(several).result_
    a = BPTTLSTM(cells=2, iterations=6, batch_size=4, random_state=3).fit(several).result_
    b = BPTTLSTM(cells=2, iterations=6, batch_size=4, random_state=3).fit(several).result_
    assert a.train_loss == b.train_loss and a.train_loss != full.train_loss
    whole = BPTTLSTM(cells=2, iterations=6, batch_size=100, random_state=3).fit(several).result_
    assert whole.train_loss == full.train_loss
    with pytest.raises(ValueError, match="batch_size"):
        BPTTLSTM(batch_size=0).fit(several)


def test_forget_bias_shifts_exactly_the_forget_gates_initial_biases():
    from evolino.baselines.bptt import _split

    task = make_task("latch", steps=20, train=4, validation=2, test=2)
    # one Adam step of 1e-12 leaves the initial weights as they were (to 1e-9)
    plain = BPTTLSTM(cells=3, iterations=1, learning_rate=1e-12, random_state=2).fit(task).model_
    shifted = BPTTLSTM(cells=3, iterations=1, learning_rate=1e-12, forget_bias=3.0, random_state=2).fit(task).model_
    difference = shifted.genome - plain.genome
    expected = np.zeros_like(difference)
    _split(plain.spec, expected)["bf"][:] = 3.0
    np.testing.assert_allclose(difference, expected, atol=1e-9)
    without = BPTTLSTM(cells=3, iterations=1, learning_rate=1e-12, forget_gate=False, forget_bias=3.0, random_state=2)
    assert without.fit(task).model_.genome.shape[0] < plain.genome.shape[0]  # no forget gate, nothing to shift


def test_refit_trains_on_train_and_validation_and_reports_no_validation_error(monkeypatch):
    import evolino.baselines.bptt as bptt

    task = make_task("mso1", train_end=80, validation_end=100, test_end=140, washout=20)
    seen = []
    real = bptt.batch_loss_and_gradient

    def spy(spec, genome, readout, pairs, washout):
        seen.append([p.steps for p in pairs])
        return real(spec, genome, readout, pairs, washout)

    monkeypatch.setattr(bptt, "batch_loss_and_gradient", spy)
    plain = BPTTLSTM(cells=2, iterations=3, random_state=4).fit(task).result_
    assert seen == [[80]] * 3 and np.isfinite(plain.validation_error)
    seen.clear()
    refitted = BPTTLSTM(cells=2, iterations=3, random_state=4).fit(task, refit=True).result_
    assert seen == [[100]] * 3  # steps 0-99: the training part with the validation part that continues it
    assert np.isnan(refitted.validation_error) and np.isfinite(refitted.test_error)
    assert refitted.test_error != plain.test_error
