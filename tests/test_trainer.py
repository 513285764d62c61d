"""The Evolino estimator end to end: learning, reproducibility, user tasks, no global RNG use."""

import random

import numpy as np
import pytest

import evolino
from evolino.tasks.oscillators import oscillator_task


def _small_run(**kwargs):
    params = dict(cells=6, population=12, generations=8, seed=3, feedback_scale=1e-4, rcond=1e-14, init_scale=0.1)
    params.update(kwargs)
    return evolino.Evolino(**params).fit(evolino.make_task("mso2"))


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
                             init_scale=0.1).fit(task)
    assert result.test_error < 1e-3
    best_ever = [row["best_ever"] for row in result.history]
    assert best_ever == sorted(best_ever, reverse=True)  # never gets worse
    assert result.train_error == best_ever[-1] and result.evaluations == 15 * 16
    assert all(row["best"] <= row["median"] <= row["worst"] for row in result.history)


def test_target_error_stops_early():
    result = _small_run(generations=50, target_error=1e-2)
    assert result.generations < 50 and result.train_error <= 1e-2 and result.stop_reason == "target_error"


def test_fit_on_a_user_task_made_from_numpy_arrays():
    # The README example: a custom generative task built from arrays.
    t = np.arange(500)
    signal = np.sin(0.3 * t) * np.cos(0.05 * t)
    task = evolino.Task("mine", train=signal[:300], validation=signal[300:400], test=signal[400:], washout=50,
                        generative=True)
    result = evolino.Evolino(cells=8, population=16, generations=10, seed=1, feedback_scale=1e-4,
                             rcond=1e-14, init_scale=0.1).fit(task)
    assert np.isfinite(result.test_error) and result.test_error < 0.5
    generated = result.model.generate(signal[:400], steps=100)
    np.testing.assert_allclose(generated[:, 0], result.test_outputs[0][:, 0], rtol=1e-10, atol=1e-12)


def test_supervised_user_task_with_inputs():
    rng = np.random.default_rng(0)
    u = rng.uniform(-1, 1, size=(400, 1))
    y = np.concatenate([[0.0, 0.0], u[:-2, 0]])  # recall the input from two steps ago
    task = evolino.Task("delay2", train=(y[:300], u[:300]), test=(y[300:], u[300:]), washout=10)
    result = evolino.Evolino(cells=6, population=16, generations=30, seed=0, init_scale=0.3, rcond=1e-10).fit(task)
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
