"""The Evolino estimator end to end: learning, reproducibility, user tasks, no global RNG use."""

import dataclasses
import random

import numpy as np
import pytest

import evolino
from evolino.tasks.oscillators import oscillator_task


def _small_run(**kwargs):
    params = dict(cells=6, population=12, generations=8, seed=3, feedback_scale=1e-4, rcond=1e-14, init_scale=0.1)
    params.update(kwargs)
    return evolino.Evolino(**params).fit(evolino.make_task("mso2")).result_


def test_same_seed_same_run_different_seed_different_run():
    a, b, c = _small_run(), _small_run(), _small_run(seed=4)
    assert [r["best"] for r in a.history] == [r["best"] for r in b.history]
    assert a.test_error == b.test_error and np.array_equal(a.model.genome, b.model.genome)
    assert [r["best"] for r in a.history] != [r["best"] for r in c.history]


def test_fit_touches_no_global_random_state():
    np_state, py_state = np.random.get_state()[1].copy(), random.getstate()
    _small_run(generations=3)
    assert np.array_equal(np.random.get_state()[1], np_state) and random.getstate() == py_state


def test_learns_mso1_and_history_is_consistent():
    task = evolino.make_task("mso1")
    result = evolino.Evolino(cells=4, population=16, generations=15, seed=0, feedback_scale=1e-4, rcond=1e-14,
                             init_scale=0.1).fit(task).result_
    assert result.test_error < 1e-3
    best_ever = [row["best_ever"] for row in result.history]
    assert best_ever == sorted(best_ever, reverse=True)  # never gets worse
    assert result.evaluations == 15 * 16
    # The history holds the fitness as evolution saw it (the default kernel); the reported validation error is the
    # same genome's on the numpy reference, the arithmetic of the test.
    problem = evolino.Evolino(cells=4, feedback_scale=1e-4).build_problem(task)
    genome = result.model.genome[None]
    assert best_ever[-1] == problem.evaluate(genome)[0] == result.summary()["fitness"]
    assert result.validation_error == evolino.evaluate_genomes(genome, problem.spec, task, problem.readout, "numpy")[0]
    assert all(row["best"] <= row["median"] <= row["worst"] for row in result.history)


def test_target_error_stops_early():
    result = _small_run(generations=50, target_error=1e-2)
    assert result.generations < 50 and result.fitness <= 1e-2 and result.stop_reason == "target_error"


def test_fit_on_a_user_task_made_from_numpy_arrays():
    # The README example: a custom generative task built from arrays.
    t = np.arange(500)
    signal = np.sin(0.3 * t) * np.cos(0.05 * t)
    task = evolino.Task("mine", train=signal[:300], validation=signal[300:400], test=signal[400:], washout=50,
                        generative=True)
    result = evolino.Evolino(cells=8, population=16, generations=10, seed=1, feedback_scale=1e-4,
                             rcond=1e-14, init_scale=0.1).fit(task).result_
    assert np.isfinite(result.test_error) and result.test_error < 0.5
    generated = result.model.generate(signal[:400], steps=100)
    np.testing.assert_allclose(generated[:, 0], result.test_outputs[0][:, 0], rtol=1e-10, atol=1e-12)


def test_supervised_user_task_with_inputs():
    rng = np.random.default_rng(0)
    u = rng.uniform(-1, 1, size=(400, 1))
    y = np.concatenate([[0.0, 0.0], u[:-2, 0]])  # recall the input from two steps ago
    task = evolino.Task("delay2", train=(y[:300], u[:300]), test=(y[300:], u[300:]), washout=10)
    result = evolino.Evolino(cells=6, population=16, generations=30, seed=0, init_scale=0.3,
                             rcond=1e-10).fit(task).result_
    assert result.model.spec.n_inputs == 1 and not result.model.spec.feedback
    assert result.history[-1]["best_ever"] < result.history[0]["best"]  # evolution improved on the first guesses
    assert result.test_error < 0.5


@pytest.mark.parametrize("kwargs", [dict(cells=0), dict(population=-1), dict(generations=1.5), dict(seed=-1),
                                    dict(init_scale=0.0), dict(optimizer="nope")])
def test_invalid_parameters_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        _small_run(**kwargs)


def test_small_oscillator_task_helper_validates_splits():
    with pytest.raises(ValueError):
        oscillator_task("x", (0.2,), train_end=50, validation_end=40)


def test_protocol_defaults_follow_what_is_known_about_the_data():
    from evolino.trainer import resolve_protocol

    paper = resolve_protocol(evolino.make_task("mso2"), None, None)
    assert (paper.ridge, paper.lags, paper.holdout) == (0.0, 0, 0.0)  # the papers' protocol, unchanged
    rng = np.random.default_rng(0)
    y = np.sin(0.3 * np.arange(300)) + 0.3 * rng.normal(size=300)
    noisy = evolino.data_task({"y": y})
    mine = resolve_protocol(noisy, None, None)
    assert mine.ridge == "auto" and mine.holdout == 0.2 and mine.lags >= 1
    fixed = resolve_protocol(noisy, 0.5, 3, holdout=0.0)
    assert (fixed.ridge, fixed.lags, fixed.holdout) == (0.5, 3, 0.0)
    with pytest.raises(ValueError, match="holdout must be in"):
        resolve_protocol(noisy, None, None, holdout=1.0)


def test_the_holdout_split_cuts_the_training_part_and_never_touches_validation_or_test():
    y = np.arange(100.0)
    task = evolino.Task("s", train=y[:60], validation=y[60:80], test=y[80:], washout=5, generative=True,
                        validation_windows=5)
    inner = task.holdout_split(0.2)
    assert [p.steps for p in inner.train] == [48] and [p.steps for p in inner.validation] == [12]
    np.testing.assert_array_equal(inner.validation[0].targets[:, 0], y[48:60])
    assert inner.test == () and inner.validation_windows == 5
    sequences = [np.ones(10) * k for k in range(10)]
    independent = evolino.Task("q", train=sequences, validation=sequences[:2], washout=2)
    split = independent.holdout_split(0.2)
    assert len(split.train) == 8 and [p.targets[0, 0] for p in split.validation] == [8.0, 9.0]
    with pytest.raises(ValueError, match="too short"):
        task.holdout_split(0.95)


def test_evolution_on_noisy_data_is_scored_on_the_holdout_and_the_validation_part_chooses_the_ridge():
    rng = np.random.default_rng(1)
    y = np.sin(0.3 * np.arange(240)) + 0.3 * rng.normal(size=240)
    task = evolino.data_task({"y": y})
    estimator = evolino.Evolino(cells=3, population=8, generations=4, seed=0)
    result = estimator.fit(task).result_
    problem = estimator.build_problem(task)
    assert [p.steps for p in problem.task.train] == [134] and problem.task.test == ()  # 168 training steps, 4/5
    assert result.fitness == result.history[-1]["best_ever"] == problem.evaluate(result.model.genome[None])[0]
    assert result.holdout == 0.2 and result.ridge in problem.readout.ridge_grid
    choose = dataclasses.replace(problem.readout, ridge="validation")
    error, choice = evolino.fitness.validation_scores(result.model.genome[None], problem.spec, task, choose, "numpy")
    assert result.validation_error == error[0] and result.ridge >= choose.candidates[choice[0]]


def test_the_run_keeps_its_best_genomes_in_order_and_a_resumed_run_the_same(tmp_path):
    """top_genomes_ hold the TOP_GENOMES lowest errors of the run, best first (the merge rule checked against
    sorting every genome at once); after a stop and resume they are the uninterrupted run's."""
    from evolino.trainer import TOP_GENOMES, TopGenomes

    seen = []
    estimator = evolino.Evolino(cells=3, population=8, generations=6, seed=2)
    problem = estimator.build_problem(evolino.make_task("mso2"))
    estimator.fit(evolino.make_task("mso2"))
    top = estimator.top_genomes_
    assert top.shape == (TOP_GENOMES, problem.dimension) and np.all(np.diff(estimator.top_errors_) >= 0)
    assert estimator.top_errors_[0] == estimator.optimizer_.best_error
    np.testing.assert_array_equal(top[0], estimator.optimizer_.best_genome)

    keeper = TopGenomes(3)  # the merge rule against sorting everything at once, with many ties (earlier first)
    rng = np.random.default_rng(0)
    for _ in range(8):
        genomes, errors = rng.normal(size=(5, 2)), rng.integers(0, 6, size=5).astype(float)
        errors[0] = np.inf
        seen.append((genomes, errors))
        keeper.update(genomes, errors)
    pool = np.concatenate([g for g, _ in seen]), np.concatenate([e for _, e in seen])
    order = np.argsort(pool[1], kind="stable")[:3]
    np.testing.assert_array_equal(keeper.genomes, pool[0][order])
    np.testing.assert_array_equal(keeper.errors, pool[1][order])

    first = evolino.Evolino(cells=3, population=8, generations=3, seed=2)
    first.fit(evolino.make_task("mso2"), checkpoint_dir=tmp_path, checkpoint_every=1)
    resumed = evolino.Evolino(cells=3, population=8, generations=6, seed=2)
    resumed.fit(evolino.make_task("mso2"), checkpoint_dir=tmp_path, checkpoint_every=1, resume=True)
    np.testing.assert_array_equal(resumed.top_genomes_, top)
    np.testing.assert_array_equal(resumed.top_errors_, estimator.top_errors_)


def test_history_rows_summarise_the_finite_errors_as_numpy_does():
    """best, mean, median and worst of a generation's finite errors, bit for bit numpy's (odd and even counts, ties,
    infinite errors left out); all +inf when no error is finite."""
    from types import SimpleNamespace

    from evolino.trainer import _history_row

    opt = SimpleNamespace(step_size=0.5, evaluations=10, best_error=1.0)
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 8, 40, 41):
        errors = np.round(rng.lognormal(size=n), 1)  # rounded: ties among the middle values
        errors[rng.random(n) < 0.2] = np.inf
        finite = errors[np.isfinite(errors)]
        row = _history_row(3, opt, errors, 1.0)
        if finite.size:
            assert (row["best"], row["mean"], row["median"], row["worst"]) == \
                (np.min(finite), np.mean(finite), np.median(finite), np.max(finite))
        else:
            assert row["best"] == row["median"] == row["worst"] == np.inf
    assert _history_row(3, opt, np.full(4, np.inf), 1.0)["median"] == np.inf
