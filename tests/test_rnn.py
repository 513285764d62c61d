"""Plain RNN trained by BPTT: the analytic gradient against central finite differences, the forward pass against a
per-step loop, a short-lag task it learns, the evaluation protocol, and its argument checks."""

import numpy as np
import pytest
from sklearn.base import clone

from evolino.baselines import BPTTRNN, BPTTRNNResult
from evolino.baselines.rnn import RNNSpec, rnn_forward, rnn_loss_and_gradient
from evolino.metrics import score
from evolino.tasks import SequencePair, Task, make_task

ACTIVATIONS = ["tanh", "logistic"]


def _central_differences(loss, x, eps=1e-6):
    """Numerical gradient of the scalar function ``loss`` at the vector ``x``."""
    numeric = np.zeros_like(x)
    for i in range(x.size):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        numeric[i] = (loss(up) - loss(down)) / (2 * eps)
    return numeric


def _reference_forward(params, inputs, units, n_outputs, activation):
    """One sequence (T, k), step by step, with the layout of the module docstring spelled out."""
    k, h, m = inputs.shape[1], units, n_outputs
    w_in = params[: h * k].reshape(h, k)
    w_rec = params[h * k : h * k + h * h].reshape(h, h)
    b = params[h * k + h * h : h * k + h * h + h]
    w_out = params[h * k + h * h + h : h * k + h * h + h + m * h].reshape(m, h)
    b_out = params[h * k + h * h + h + m * h :]
    assert b_out.size == m
    f = np.tanh if activation == "tanh" else (lambda a: 1.0 / (1.0 + np.exp(-a)))
    state, outputs, states = np.zeros(h), [], []
    for x in inputs:
        state = f(w_in @ x + w_rec @ state + b)
        states.append(state)
        outputs.append(w_out @ state + b_out)
    return np.array(outputs), np.array(states)


def _delay_task(lag=2, steps=40, washout=5, sequences=12, seed=0):
    """Independent sequences: reproduce the input of ``lag`` steps ago."""
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(sequences):
        u = rng.uniform(-1, 1, size=(steps, 1))
        pairs.append((np.concatenate([np.zeros(lag), u[:-lag, 0]]), u))
    return Task(f"delay{lag}", train=pairs[:8], validation=pairs[8:10], test=pairs[10:], washout=washout)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_matches_central_finite_differences(activation):
    spec = RNNSpec(n_inputs=2, units=4, n_outputs=2, activation=activation)
    rng = np.random.default_rng(0)
    B, T = 3, 9
    inputs = rng.normal(size=(B, T, 2))
    targets = rng.normal(size=(B, T, 2))
    mask = rng.random((B, T)) < 0.6
    mask[:, :2] = False  # a washout
    mask[2] = False
    mask[2, 4] = True  # a sequence scored at one step only (a target at one chosen step, as in the adding problem)
    targets[~mask] = np.nan  # unscored targets may be NaN
    params = rng.normal(0, 0.7, spec.dimension)
    loss, grad = rnn_loss_and_gradient(params, inputs, targets, mask, spec)
    numeric = _central_differences(lambda p: rnn_loss_and_gradient(p, inputs, targets, mask, spec)[0], params)
    assert np.isfinite(loss) and loss > 0
    assert np.linalg.norm(grad - numeric) / np.linalg.norm(numeric) < 1e-5
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-9)


def test_the_loss_weighs_every_sequence_the_same_and_end_padding_changes_nothing():
    """A batch of sequences padded at the end (no targets there) gives the mean of their losses and gradients."""
    spec = RNNSpec(n_inputs=1, units=3, n_outputs=1)
    rng = np.random.default_rng(1)
    params = rng.normal(0, 0.6, spec.dimension)
    lengths, T = (7, 12, 9), 12
    inputs, targets, mask = np.zeros((3, T, 1)), np.zeros((3, T, 1)), np.zeros((3, T), dtype=bool)
    singles = []
    for b, steps in enumerate(lengths):
        x, d, scored = rng.normal(size=(steps, 1)), rng.normal(size=(steps, 1)), rng.random(steps) < 0.7
        inputs[b, :steps], targets[b, :steps], mask[b, :steps] = x, d, scored
        singles.append(rnn_loss_and_gradient(params, x, d, scored, spec))
    loss, grad = rnn_loss_and_gradient(params, inputs, targets, mask, spec)
    assert loss == pytest.approx(np.mean([s[0] for s in singles]), rel=1e-12)
    np.testing.assert_allclose(grad, np.mean([s[1] for s in singles], axis=0), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_matches_a_plain_per_step_loop_and_continues_from_a_state(activation):
    spec = RNNSpec(n_inputs=3, units=5, n_outputs=2, activation=activation)
    rng = np.random.default_rng(2)
    params = rng.normal(0, 0.8, spec.dimension)
    inputs = rng.normal(size=(4, 11, 3))
    outputs, states = rnn_forward(params, inputs, spec)
    assert outputs.shape == (4, 11, 2) and states.shape == (4, 11, 5)
    for b in range(4):
        ref_out, ref_states = _reference_forward(params, inputs[b], 5, 2, activation)
        np.testing.assert_allclose(outputs[b], ref_out, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(states[b], ref_states, rtol=1e-12, atol=1e-14)
    single, _ = rnn_forward(params, inputs[1], spec)  # (T, k) in, (T, m) out
    np.testing.assert_allclose(single, outputs[1], rtol=1e-12, atol=1e-14)
    _, first = rnn_forward(params, inputs[:, :6], spec)
    rest, _ = rnn_forward(params, inputs[:, 6:], spec, state=first[:, -1])
    np.testing.assert_allclose(rest, outputs[:, 6:], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_it_learns_a_short_lag_far_below_the_trivial_predictor(activation):
    task = _delay_task(lag=2)
    estimator = BPTTRNN(units=8, activation=activation, iterations=300, learning_rate=0.02, random_state=0)
    result = estimator.fit(task).result_
    assert isinstance(result, BPTTRNNResult) and len(result.train_loss) == 300 and result.history is result.train_loss
    # the trivial predictor: the mean training target on every scored test step (NRMSE about 1)
    mean = np.mean(np.concatenate([p.targets[task.washout :] for p in task.train]))
    targets = np.concatenate([p.targets for p in task.test])
    mask = np.concatenate([np.arange(p.steps) >= task.washout for p in task.test])
    trivial = float(score(task.metric, targets, np.full((1, *targets.shape), mean), mask)[0])
    assert trivial > 0.9
    assert result.test_error < 0.1 * trivial and result.validation_error < 0.1 * trivial
    assert result.train_loss[-1] < 0.01 * result.train_loss[0]
    assert estimator.score(task) == result.test_error
    np.testing.assert_array_equal(estimator.predict(task.test[0].inputs), result.test_outputs[0])


def test_training_is_reproducible_and_minibatches_draw_from_the_seed():
    task = _delay_task(lag=1, steps=20)
    a = BPTTRNN(units=4, iterations=20, batch_size=3, random_state=1).fit(task).result_
    b = BPTTRNN(units=4, iterations=20, batch_size=3, random_state=1).fit(task).result_
    c = BPTTRNN(units=4, iterations=20, batch_size=3, random_state=2).fit(task).result_
    assert a.train_loss == b.train_loss and a.test_error == b.test_error
    assert a.train_loss != c.train_loss
    full = BPTTRNN(units=4, iterations=5, random_state=1).fit(task).result_
    whole = BPTTRNN(units=4, iterations=5, batch_size=100, random_state=1).fit(task).result_
    assert full.train_loss == whole.train_loss


def test_only_the_scored_steps_after_the_washout_count():
    """Targets at chosen steps only (NaN elsewhere, as the adding problem's): the missing targets poison nothing and
    a target inside the washout does not move the training."""
    rng = np.random.default_rng(3)
    inputs = [rng.normal(size=(15, 2)) for _ in range(4)]
    targets = [rng.normal(size=15) for _ in range(4)]
    mask = np.zeros(15, dtype=bool)
    mask[[3, 9, 14]] = True
    gappy = Task("gappy", train=[SequencePair(d, u, mask) for d, u in zip(targets, inputs, strict=True)], washout=5)
    moved = [np.where(np.arange(15) == 3, 100.0, d) for d in targets]  # step 3 has a target, inside the washout
    other = Task("other", train=[SequencePair(d, u, mask) for d, u in zip(moved, inputs, strict=True)], washout=5)
    a = BPTTRNN(units=3, iterations=10, random_state=0).fit(gappy).result_
    b = BPTTRNN(units=3, iterations=10, random_state=0).fit(other).result_
    assert np.isfinite(a.train_loss).all() and np.isfinite(a.params).all()
    assert a.train_loss == b.train_loss
    np.testing.assert_array_equal(a.params, b.params)


def test_generative_tasks_feed_back_and_generate_the_test_window():
    task = make_task("mso1", train_end=80, validation_end=100, test_end=140, washout=20)
    estimator = BPTTRNN(units=5, iterations=60, learning_rate=0.02, random_state=1).fit(task)
    result = estimator.result_
    assert result.spec.n_inputs == 1  # the fed-back previous value
    assert result.train_loss[-1] < 0.1 * result.train_loss[0] and np.isfinite(result.validation_error)
    assert estimator.score(task) == result.test_error
    generated = estimator.generate(task.seen_before_test()[0].targets, task.test[0].steps)
    np.testing.assert_array_equal(generated, result.test_outputs[0])


def test_a_continued_supervised_task_runs_on_from_the_data_before_the_part():
    rng = np.random.default_rng(4)
    u = rng.uniform(-1, 1, size=(90, 1))
    d = np.concatenate([[0.0], u[:-1, 0]])
    task = Task("continued", train=(d[:50], u[:50]), validation=(d[50:70], u[50:70]), test=(d[70:], u[70:]),
                washout=3, continued=True)
    estimator = BPTTRNN(units=3, iterations=5, random_state=0).fit(task)
    np.testing.assert_allclose(estimator.predict(u)[70:], estimator.result_.test_outputs[0], rtol=1e-12)


def test_predict_works_in_original_units_on_a_standardised_task():
    plain = _delay_task(lag=1, steps=20)
    task = Task("scaled", train=[(3 * p.targets + 5, 3 * p.inputs + 5) for p in plain.train],
                test=[(3 * p.targets + 5, 3 * p.inputs + 5) for p in plain.test], washout=2).standardized()
    estimator = BPTTRNN(units=3, iterations=5, random_state=0).fit(task)
    original = 3 * plain.test[0].inputs + 5  # the test inputs before standardisation
    np.testing.assert_allclose(estimator.predict(original), task.to_original(estimator.result_.test_outputs[0]),
                               rtol=1e-10, atol=1e-12)


def test_clone_and_set_params_follow_scikit_learn():
    estimator = BPTTRNN(units=3, activation="logistic", iterations=2).fit(_delay_task(lag=1, steps=12))
    copy = clone(estimator)
    assert copy.get_params() == estimator.get_params() and not hasattr(copy, "result_")
    assert "activation='logistic'" in repr(estimator)
    with pytest.raises(ValueError, match="no parameter 'unit'"):
        copy.set_params(unit=4)


@pytest.mark.parametrize("params, message", [
    (dict(activation="relu"), "activation must be one of 'tanh', 'logistic', got 'relu'"),
    (dict(units=0), "units must be an integer >= 1, got 0"),
    (dict(units=2.5), "units must be an integer >= 1, got 2.5"),
    (dict(iterations=0), "iterations must be an integer >= 1"),
    (dict(learning_rate=0.0), "learning_rate > 0"),
    (dict(batch_size=0), "batch_size must be an integer >= 1"),
    (dict(spectral_radius=-1.0), "spectral_radius must be > 0"),
])
def test_bad_arguments_raise_a_clear_value_error(params, message):
    with pytest.raises(ValueError, match=message):
        BPTTRNN(**params).fit(_delay_task(lag=1, steps=12))


def test_bad_specs_and_shapes_raise_a_clear_value_error():
    with pytest.raises(ValueError, match="activation must be one of 'tanh', 'logistic', got 'sigmoid'"):
        RNNSpec(n_inputs=1, units=2, activation="sigmoid")
    with pytest.raises(ValueError, match="units must be an integer >= 1, got 0"):
        RNNSpec(n_inputs=1, units=0)
    spec = RNNSpec(n_inputs=1, units=2)
    with pytest.raises(ValueError, match=r"params must have shape \(11,\)"):
        rnn_forward(np.zeros(8), np.zeros((5, 1)), spec)
    with pytest.raises(ValueError, match=r"inputs must have shape \(T, 1\) or \(B, T, 1\)"):
        rnn_forward(np.zeros(11), np.zeros((5, 2)), spec)
    with pytest.raises(ValueError, match="mask must have shape"):
        rnn_loss_and_gradient(np.zeros(11), np.zeros((5, 1)), np.zeros((5, 1)), np.ones(4, dtype=bool), spec)


def test_the_spectral_radius_sets_the_initial_recurrent_matrix():
    task = _delay_task(lag=1, steps=12)
    estimator = BPTTRNN(units=6, spectral_radius=1.5, iterations=1, learning_rate=1e-12).fit(task)
    w_rec = estimator.spec_.unpack(estimator.params_).w_rec
    assert np.max(np.abs(np.linalg.eigvals(w_rec))) == pytest.approx(1.5, rel=1e-6)
