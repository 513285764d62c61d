"""Echo state network baseline: reservoir scaling, reproducibility, and that it learns an easy oscillator."""

import numpy as np
import pytest

from evolino.baselines import EchoStateNetwork
from evolino.readout import ReadoutConfig
from evolino.tasks import Task, make_task


def test_reservoir_has_the_requested_spectral_radius_and_density():
    esn = EchoStateNetwork(units=60, spectral_radius=0.85, density=0.2, random_state=1)
    esn._init_weights(n_inputs=2, n_outputs=1, generative=True)
    assert np.max(np.abs(np.linalg.eigvals(esn.w_))) == pytest.approx(0.85, rel=1e-10)
    assert 0.1 < np.mean(esn.w_ != 0) < 0.3
    assert esn.w_in_.shape == (60, 2) and esn.w_fb_.shape == (60, 1)


def test_same_random_state_same_errors():
    task = make_task("mso1")
    a = EchoStateNetwork(units=40, feedback_scale=0.1, random_state=3).fit(task)
    b = EchoStateNetwork(units=40, feedback_scale=0.1, random_state=3).fit(task)
    c = EchoStateNetwork(units=40, feedback_scale=0.1, random_state=4).fit(task)
    assert a.test_error == b.test_error and a.test_error != c.test_error


def test_learns_a_single_sine_in_free_run():
    result = EchoStateNetwork(units=100, spectral_radius=0.95, feedback_scale=0.1,
                              readout=ReadoutConfig(ridge=1e-10), random_state=0).fit(make_task("mso1"))
    assert result.test_error < 1e-4
    assert result.test_outputs[0].shape == (300, 1)


def test_supervised_task_recalls_a_delayed_input():
    rng = np.random.default_rng(0)
    u = rng.uniform(-1, 1, (600, 1))
    y = np.concatenate([[0.0], u[:-1, 0]])
    task = Task("delay1", train=(y[:400], u[:400]), test=(y[400:], u[400:]), washout=20)
    result = EchoStateNetwork(units=50, spectral_radius=0.5, input_scale=0.5, random_state=0).fit(task)
    assert result.test_error < 0.05


def test_invalid_parameters_are_rejected():
    with pytest.raises(ValueError):
        EchoStateNetwork(units=0)
    with pytest.raises(ValueError):
        EchoStateNetwork(leak=0.0)
