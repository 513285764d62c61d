"""The pure fitness function against a hand-written pipeline built on the plain reference loop."""

import dataclasses

import numpy as np
import pytest

from evolino.evaluation import test_error as final_test_error
from evolino.fitness import EvolinoProblem, evaluate_genomes, score
from evolino.network import LSTMSpec
from evolino.readout import ReadoutConfig
from evolino.tasks import Task, make_task
from evolino.tasks.oscillators import oscillator_task
from tests import reference_lstm as ref


def _nrmse(y, yhat):
    return np.sqrt(np.mean((y - yhat) ** 2) / np.var(y))


def test_generative_fitness_matches_a_hand_written_pipeline():
    task = oscillator_task("small", (0.2, 0.311), train_end=60, validation_end=80, test_end=100, washout=10)
    spec = LSTMSpec(cells=3, feedback_scale=0.1)
    rng = np.random.default_rng(0)
    genomes = rng.normal(0, 0.5, (3, spec.dimension))
    errors = evaluate_genomes(genomes, spec, task, ReadoutConfig(rcond=1e-12))
    y = task.train[0].targets
    feedback = np.vstack([[0.0], y[:-1]])
    for k, genome in enumerate(genomes):
        states, h, c = ref.run(spec, genome, 60, feedback=feedback)
        x = np.hstack([states[10:], np.ones((50, 1))])
        readout = np.linalg.pinv(x, rcond=1e-12) @ y[10:]
        generated = ref.free_run(spec, genome, h, c, y[-1], readout, 20)
        assert errors[k] == pytest.approx(_nrmse(task.validation[0].targets, generated), rel=1e-6)


def test_supervised_fitness_scores_validation_with_the_training_readout():
    rng = np.random.default_rng(1)
    u_train, u_val = rng.normal(size=(80, 2)), rng.normal(size=(40, 2))
    target = lambda u: np.tanh(u[:, :1] - 0.5 * u[:, 1:])  # noqa: E731
    task = Task("sup", train=[(target(u_train), u_train)], validation=[(target(u_val), u_val)], washout=5)
    spec = LSTMSpec(n_inputs=2, cells=4, feedback=False)
    genomes = rng.normal(0, 0.5, (2, spec.dimension))
    errors = evaluate_genomes(genomes, spec, task, ReadoutConfig())
    for k, genome in enumerate(genomes):
        states, _, _ = ref.run(spec, genome, 80, inputs=u_train)
        readout = np.linalg.lstsq(np.hstack([states[5:], np.ones((75, 1))]), target(u_train)[5:], rcond=None)[0]
        val_states, _, _ = ref.run(spec, genome, 40, inputs=u_val)  # an independent sequence: from a zero state
        prediction = np.hstack([val_states, np.ones((40, 1))]) @ readout
        # scored after its washout only
        assert errors[k] == pytest.approx(_nrmse(target(u_val)[5:], prediction[5:]), rel=1e-6)


def test_fitness_never_sees_the_test_window():
    task = make_task("mso2")
    other = dataclasses.replace(task, test=[task.test[0].targets[::-1] * 3])
    spec = LSTMSpec(cells=4)
    genomes = np.random.default_rng(2).normal(0, 0.3, (5, spec.dimension))
    a = evaluate_genomes(genomes, spec, task, ReadoutConfig())
    b = evaluate_genomes(genomes, spec, other, ReadoutConfig())
    assert np.array_equal(a, b)
    assert not np.array_equal(final_test_error(spec, genomes, task, ReadoutConfig()).errors,
                              final_test_error(spec, genomes, other, ReadoutConfig()).errors)


def test_non_finite_genomes_and_outputs_become_inf_not_nan():
    spec = LSTMSpec(cells=3)
    problem = EvolinoProblem(spec, make_task("mso1"))
    genomes = np.random.default_rng(3).normal(0, 0.3, (4, spec.dimension))
    genomes[1, 5] = np.nan
    genomes[2] *= 1e300
    errors = problem.evaluate(genomes)
    assert errors[1] == np.inf
    assert not np.isnan(errors).any() and np.isfinite(errors[[0, 3]]).all()


def test_errors_do_not_depend_on_batch_composition():
    spec = LSTMSpec(cells=5)
    problem = EvolinoProblem(spec, make_task("mso2"))
    genomes = np.random.default_rng(4).normal(0, 0.3, (7, spec.dimension))
    full = problem.evaluate(genomes)
    pieces = np.concatenate([problem.evaluate(genomes[:3]), problem.evaluate(genomes[3:4]),
                             problem.evaluate(genomes[4:])])
    assert np.array_equal(full, pieces)


def test_score_metrics():
    y = np.array([[0.0], [1.0], [2.0], [3.0]])
    yhat = y[None] + np.array([1.0, -1.0, 1.0, -1.0])[None, :, None]
    assert score("mse", y, yhat)[0] == pytest.approx(1.0)
    assert score("rmse", y, yhat)[0] == pytest.approx(1.0)
    assert score("nrmse", y, yhat)[0] == pytest.approx(1 / np.sqrt(1.25))
    assert score("mse", y, np.full((1, 4, 1), np.nan))[0] == np.inf
