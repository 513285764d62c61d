"""Echo state network baseline: the reservoir, the protocol against a plain reference, the readout options, the
search on validation, and the estimator conventions."""

import numpy as np
import pytest

from evolino.baselines import EchoStateNetwork, ESNSearch
from evolino.baselines.esn import DEFAULT_GRID, default_readout
from evolino.readout import ReadoutConfig
from evolino.tasks import Task, make_task


def _nrmse(target: np.ndarray, output: np.ndarray) -> float:
    return float(np.sqrt(np.mean((output - target) ** 2) / np.var(target)))


def _reference(esn: EchoStateNetwork, signal: np.ndarray, rcond: float) -> tuple[float, float, np.ndarray]:
    """The MSO protocol written out for one reservoir (train 0-299, validation 300-399, test 400-699, washout 100):
    teacher-forced states, readout by np.linalg.pinv, closed-loop free runs. Returns (validation, test, readout)."""
    a = esn.leak

    def step(x, y_prev):
        return (1 - a) * x + a * np.tanh(esn.w_ @ x + esn.w_fb_ @ y_prev + esn.bias_)

    states, x = [], np.zeros(esn.units)
    for t in range(400):
        x = step(x, signal[t - 1 : t] if t > 0 else np.zeros(1))
        states.append(x)
    states = np.array(states)

    def solve(stop):
        design = np.column_stack([states[100:stop], np.ones(stop - 100)])
        return np.linalg.pinv(design, rcond=rcond) @ signal[100:stop, None]

    def free_run(weights, start, steps):
        x, y, out = states[start - 1], signal[start - 1 : start], []
        for _ in range(steps):
            x = step(x, y)
            y = np.append(x, 1.0) @ weights
            out.append(y[0])
        return np.array(out)

    first, final = solve(300), solve(400)
    validation = _nrmse(signal[300:400], free_run(first, 300, 100))
    test = _nrmse(signal[400:700], free_run(final, 400, 300))
    return validation, test, final


def test_reservoir_has_the_requested_spectral_radius_density_and_scales():
    esn = EchoStateNetwork(units=60, spectral_radius=0.85, density=0.2, feedback_scale=0.3, bias_scale=0.1,
                           random_state=1)
    esn._init_weights(n_inputs=2, n_outputs=1, generative=True)
    assert np.max(np.abs(np.linalg.eigvals(esn.w_))) == pytest.approx(0.85, rel=1e-10)
    assert 0.1 < np.mean(esn.w_ != 0) < 0.3
    assert esn.w_in_.shape == (60, 2) and esn.w_fb_.shape == (60, 1)
    assert np.abs(esn.w_fb_).max() <= 0.3 and np.abs(esn.bias_).max() <= 0.1


def test_protocol_matches_a_plain_reference_implementation():
    task = make_task("mso1")
    signal = np.concatenate([task.train[0].targets, task.validation[0].targets, task.test[0].targets])[:, 0]
    esn = EchoStateNetwork(units=6, spectral_radius=0.9, feedback_scale=0.5, leak=0.7, density=1.0,
                           readout=ReadoutConfig(rcond=1e-10), random_state=5)
    assert esn.fit(task) is esn
    validation, test, readout = _reference(esn, signal, rcond=1e-10)
    np.testing.assert_allclose(esn.readout_, readout, rtol=1e-7, atol=1e-9)
    assert esn.result_.validation_error == pytest.approx(validation, rel=1e-6)
    assert esn.result_.test_error == pytest.approx(test, rel=1e-6)
    assert esn.result_.test_outputs[0].shape == (300, 1)


def test_same_random_state_same_errors():
    task = make_task("mso1")
    a = EchoStateNetwork(units=40, feedback_scale=0.1, random_state=3).fit(task).result_
    b = EchoStateNetwork(units=40, feedback_scale=0.1, random_state=3).fit(task).result_
    c = EchoStateNetwork(units=40, feedback_scale=0.1, random_state=4).fit(task).result_
    assert a.test_error == b.test_error and a.test_error != c.test_error


def test_learns_a_single_sine_in_free_run():
    result = EchoStateNetwork(units=100, spectral_radius=0.95, feedback_scale=0.1,
                              readout=ReadoutConfig(ridge=1e-10), random_state=0).fit(make_task("mso1")).result_
    assert result.test_error < 1e-4


def test_supervised_task_recalls_a_delayed_input():
    rng = np.random.default_rng(0)
    u = rng.uniform(-1, 1, (600, 1))
    y = np.concatenate([[0.0], u[:-1, 0]])
    task = Task("delay1", train=(y[:400], u[:400]), test=(y[400:], u[400:]), washout=20)
    result = EchoStateNetwork(units=50, spectral_radius=0.5, input_scale=0.5, random_state=0).fit(task).result_
    assert result.test_error < 0.05
    assert np.isfinite(result.validation_error)  # no validation part: scored on the training part, as Evolino


def test_a_huge_ridge_shrinks_every_unit_but_not_the_bias():
    task = make_task("mso2")
    esn = EchoStateNetwork(units=20, feedback_scale=0.1, readout=ReadoutConfig(ridge=1e12), random_state=0).fit(task)
    seen = np.concatenate([task.train[0].targets, task.validation[0].targets])[task.washout:]
    assert np.abs(esn.readout_[:-1]).max() < 1e-6
    assert esn.readout_[-1, 0] == pytest.approx(seen.mean(), abs=1e-6)


def test_ridge_without_a_bias_column_stays_finite():
    esn = EchoStateNetwork(units=20, feedback_scale=0.1, readout=ReadoutConfig(ridge=1e-4, bias=False),
                           random_state=0).fit(make_task("mso2"))
    assert np.isfinite(esn.result_.validation_error) and np.isfinite(esn.readout_).all()
    assert esn.readout_[-1, 0] == 0.0


def test_ridge_chosen_on_validation_is_the_best_fixed_strength():
    task = make_task("mso2")
    grid = (0.0, 1e-6, 1e-2)
    params = dict(units=30, feedback_scale=0.01, leak=0.5, random_state=2)
    fixed = [EchoStateNetwork(**params, readout=ReadoutConfig(ridge=r)).fit(task).result_ for r in grid]
    chosen = EchoStateNetwork(**params, readout=ReadoutConfig(ridge="validation", ridge_grid=grid)).fit(task).result_
    best = int(np.argmin([r.validation_error for r in fixed]))
    assert chosen.ridge == grid[best]
    assert chosen.validation_error == fixed[best].validation_error
    assert chosen.test_error == fixed[best].test_error


def test_default_readout_follows_evolino():
    assert default_readout(make_task("mso2")) == ReadoutConfig(rcond=1e-14, ridge=0.0)
    noisy = Task("noisy", train=np.sin(np.arange(200.0)), validation=np.sin(np.arange(200.0, 250.0)), washout=10,
                 generative=True)
    assert default_readout(noisy).ridge == "auto"
    assert EchoStateNetwork(units=10).fit(noisy).result_.readout.ridge == "auto"


def test_search_chooses_on_validation_and_tests_only_the_choice():
    task = make_task("mso2")
    readouts = (ReadoutConfig(rcond=1e-14), ReadoutConfig(ridge=1e-4))
    grid = {"leak": (1.0, 0.5), "feedback_scale": (1e-3, 1e-1), "input_scale": (0.1, 1.0), "readout": readouts}
    search = ESNSearch(units=15, grid=grid, reservoirs=2, random_state=3).fit(task)
    # input_scale is not searched on a task without inputs: 2 leaks x 2 feedback scales x 2 reservoirs x 2 readouts
    assert search.settings_ == len(search.validation_errors_) == 16
    assert {row["input_scale"] for row in search.validation_errors_} == {0.1}
    assert {row["random_state"] for row in search.validation_errors_} == {6, 7}
    assert all("test_error" not in row for row in search.validation_errors_)
    best = min(row["validation_error"] for row in search.validation_errors_)
    assert search.result_.validation_error == best
    refit = EchoStateNetwork(units=15, **search.best_params_).fit(task).result_
    assert refit.test_error == search.result_.test_error


def test_search_rejects_unknown_parameters_and_validation_ridge():
    task = make_task("mso1")
    with pytest.raises(ValueError, match="unknown ESN parameters"):
        ESNSearch(units=5, grid={"radius": (0.9,)}).fit(task)
    with pytest.raises(ValueError, match="ridge strengths"):
        ESNSearch(units=5, grid={"readout": (ReadoutConfig(ridge="validation"),)}).fit(task)
    with pytest.raises(ValueError, match="reservoirs"):
        ESNSearch(units=5, reservoirs=0).fit(task)
    assert set(DEFAULT_GRID) <= set(EchoStateNetwork().get_params())


@pytest.mark.parametrize("bad", [dict(units=0), dict(leak=0.0), dict(density=1.5), dict(spectral_radius=-1.0),
                                 dict(feedback_scale=np.nan), dict(readout="pinv")])
def test_invalid_parameters_are_rejected_by_fit(bad):
    esn = EchoStateNetwork(**bad)  # scikit-learn's convention: __init__ only stores, fit checks
    with pytest.raises(ValueError):
        esn.fit(make_task("mso1"))
