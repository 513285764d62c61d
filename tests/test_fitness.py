"""The pure fitness function against a hand-written pipeline built on the plain reference loop."""

import dataclasses
import pickle

import numpy as np
import pytest

from evolino import fitness
from evolino.evaluation import test_error as final_test_error
from evolino.fitness import EvolinoProblem, evaluate_genomes, fitness_lines, score, validation_scores
from evolino.kernels import compiled_available
from evolino.network import LSTMSpec, lag_matrix
from evolino.readout import ReadoutConfig
from evolino.tasks import Task, make_task
from evolino.tasks.data import data_task
from evolino.tasks.oscillators import oscillator_task
from tests import reference_lstm as ref

KERNELS = ["numpy", "compiled", "compiled-scalar"] if compiled_available() else ["numpy"]


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


def _series(steps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    return np.sin(0.2 * t) + 0.5 * np.sin(0.311 * t) + 0.1 * rng.normal(size=steps), np.cos(0.05 * t)


def _lagged_case(name: str) -> tuple[Task, LSTMSpec]:
    """Tasks of every layout of lines, with networks whose readout sees lagged sources."""
    y, u = _series(600)
    if name == "generative":
        task = oscillator_task("small", (0.2, 0.311), train_end=120, validation_end=180, test_end=200, washout=10)
        return task, LSTMSpec(cells=3, feedback_scale=0.1, readout_lags=4)
    if name == "generative-inputs":
        task = data_task({"y": y, "u": u}, target="y", inputs=["u"])
        return task, LSTMSpec(n_inputs=1, cells=3, readout_lags=3)
    if name == "continued":
        task = data_task({"y": y, "z": y**2, "u": u}, kind="predict", target=["y", "z"], inputs=["u"], horizon=2)
        return task, LSTMSpec(n_inputs=task.n_inputs, cells=3, n_outputs=2, readout_lags=2)
    pairs = [(y[i : i + 60, None], np.stack([u[i : i + 60], y[i + 1 : i + 61]], axis=1)) for i in range(0, 480, 60)]
    if name == "independent":
        task = Task("independent", train=pairs[:5], validation=pairs[5:], washout=5)
    else:  # independent sequences without validation data: scored on the training lines
        task = Task("train-only", train=pairs, washout=5)
    return task, LSTMSpec(n_inputs=2, cells=3, feedback=False, readout_lags=3)


def _with_lag_matrices(lines: fitness.FitnessLines, lags: int) -> fitness.FitnessLines:
    """The same lines with the direct features as the contiguous lag matrix made before they were a view."""
    copied = {id(line): dataclasses.replace(line, direct=lag_matrix(line.sources, lags))
              for line in (*lines.fitted, *lines.scored)}
    return dataclasses.replace(lines, fitted=tuple(copied[id(line)] for line in lines.fitted),
                               scored=tuple(copied[id(line)] for line in lines.scored))


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("case", ["generative", "generative-inputs", "continued", "independent", "train-only"])
def test_cached_lines_and_the_lag_view_leave_the_fitness_bit_for_bit(case, kernel):
    task, spec = _lagged_case(case)
    genomes = np.random.default_rng(4).normal(0, 0.3, (6, spec.dimension))
    for config in (ReadoutConfig(ridge="auto"), ReadoutConfig(ridge="validation"), ReadoutConfig(rcond=1e-10)):
        fresh, choice = validation_scores(genomes, spec, task, config, kernel)
        assert np.isfinite(fresh).any()
        problem = EvolinoProblem(spec, task, config, kernel=kernel)
        np.testing.assert_array_equal(problem.evaluate(genomes), fresh)
        np.testing.assert_array_equal(problem.evaluate(genomes), fresh)  # from the cached lines
        pieces = np.concatenate([problem.evaluate(genomes[:1]), problem.evaluate(genomes[1:4]),
                                 problem.evaluate(genomes[4:])])
        np.testing.assert_array_equal(pieces, fresh)
        copied = _with_lag_matrices(problem.lines, spec.readout_lags)
        errors, copied_choice = validation_scores(genomes, spec, task, config, kernel, lines=copied)
        np.testing.assert_array_equal(errors, fresh)
        np.testing.assert_array_equal(copied_choice, choice)


@pytest.mark.skipif(not compiled_available(), reason="needs numba")
@pytest.mark.parametrize("case", ["generative", "generative-inputs", "continued", "independent", "train-only"])
def test_the_block_kernel_gives_the_genome_per_iteration_kernels_fitness_bit_for_bit(case):
    task, spec = _lagged_case(case)
    genomes = np.random.default_rng(6).normal(0, 0.3, (11, spec.dimension))
    for config in (ReadoutConfig(ridge="auto"), ReadoutConfig(ridge="validation"), ReadoutConfig(rcond=1e-10)):
        blocks, blocks_choice = validation_scores(genomes, spec, task, config, "compiled")
        scalar, scalar_choice = validation_scores(genomes, spec, task, config, "compiled-scalar")
        np.testing.assert_array_equal(blocks, scalar)
        np.testing.assert_array_equal(blocks_choice, scalar_choice)


def test_a_problem_builds_its_lines_once(monkeypatch):
    task, spec = _lagged_case("independent")
    problem = EvolinoProblem(spec, task, kernel="numpy")
    built = []
    line_of = fitness.line_of
    monkeypatch.setattr(fitness, "line_of", lambda *args: built.append(1) or line_of(*args))
    genomes = np.random.default_rng(5).normal(0, 0.3, (3, spec.dimension))
    for _ in range(3):
        problem.evaluate(genomes)
    assert len(built) == len(task.train) + len(task.validation)
    assert problem.lines is problem.lines


def test_the_problem_pickles_without_its_lines():
    y, _ = _series(20_000)
    task = data_task(y[:, None])
    problem = EvolinoProblem(LSTMSpec(cells=2, readout_lags=30), task, kernel="numpy")
    size = len(pickle.dumps(problem))
    lines = problem.lines  # built, as on a first evaluation
    assert sum(line.sources.nbytes + line.targets.nbytes for line in lines.fitted) > 0.5 * size
    data = pickle.dumps(problem)
    assert len(data) == size and "lines" in problem.__dict__
    clone = pickle.loads(data)
    assert "lines" not in clone.__dict__
    assert clone.spec == problem.spec and clone.readout == problem.readout and clone.kernel == problem.kernel
    small_task, spec = _lagged_case("generative")
    small = EvolinoProblem(spec, small_task, kernel="numpy")
    genomes = np.random.default_rng(6).normal(0, 0.3, (2, spec.dimension))
    expected = small.evaluate(genomes)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(small)).evaluate(genomes), expected)


def test_lines_made_for_other_sources_are_refused():
    task, spec = _lagged_case("generative")
    lines = fitness_lines(dataclasses.replace(spec, readout_lags=2), task)
    genomes = np.zeros((1, spec.dimension))
    with pytest.raises(ValueError, match="these lines are for"):
        evaluate_genomes(genomes, spec, task, ReadoutConfig(), "numpy", lines=lines)
    same_sources = dataclasses.replace(spec, cells=5)  # the cells do not change the lines
    evaluate_genomes(np.zeros((1, same_sources.dimension)), same_sources, task, ReadoutConfig(), "numpy",
                     lines=fitness_lines(spec, task))
