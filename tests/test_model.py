"""EvolinoModel: save/load round trip, generation consistent with the fitness pipeline, input checks."""

import numpy as np
import pytest

from evolino.evaluation import test_error as final_test_error
from evolino.model import EvolinoModel
from evolino.network import LSTMSpec
from evolino.readout import ReadoutConfig
from evolino.tasks import make_task


@pytest.fixture
def fitted():
    task = make_task("mso2")
    spec = LSTMSpec(cells=4, feedback_scale=1e-3)
    genome = np.random.default_rng(0).normal(0, 0.3, spec.dimension)
    outcome = final_test_error(spec, genome[None], task, ReadoutConfig())
    return task, EvolinoModel(spec, genome, outcome.readout[0]), outcome.outputs[0][0]


def test_generate_reproduces_the_test_window_outputs(fitted):
    task, model, test_outputs = fitted
    history = np.concatenate([task.train[0].targets, task.validation[0].targets])
    generated = model.generate(history, steps=task.test[0].steps)
    np.testing.assert_allclose(generated, test_outputs, rtol=1e-12, atol=1e-14)


def test_save_and_load_round_trip_without_pickle(fitted, tmp_path):
    _, model, _ = fitted
    path = model.save(tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == {"genome", "readout", "spec", "meta", "format_version"}
    loaded = EvolinoModel.load(path)
    assert loaded.spec == model.spec
    assert np.array_equal(loaded.genome, model.genome) and np.array_equal(loaded.readout, model.readout)
    history = np.sin(0.2 * np.arange(50))
    assert np.array_equal(loaded.generate(history, 10), model.generate(history, 10))


def test_predict_is_teacher_forced_one_step_ahead(fitted):
    task, model, _ = fitted
    y = task.train[0].targets
    prediction = model.predict(targets=y)
    assert prediction.shape == y.shape
    # A fitted MSO network predicts the next value well once the washout is over.
    assert np.sqrt(np.mean((prediction[100:] - y[100:]) ** 2) / np.var(y)) < 0.1


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m.generate(np.zeros((5, 2)), 3), "history must have shape"),
        (lambda m: m.generate(np.array([0.0, np.nan]), 3), "NaN"),
        (lambda m: m.generate(np.zeros(5), 0), "steps must be >= 1"),
        (lambda m: m.predict(), "needs inputs"),
    ],
)
def test_bad_input_is_rejected(fitted, call, message):
    with pytest.raises(ValueError, match=message):
        call(fitted[1])


def test_wrong_shapes_at_construction_are_rejected():
    spec = LSTMSpec(cells=2)
    with pytest.raises(ValueError, match="genome must have shape"):
        EvolinoModel(spec, np.zeros(3), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="readout must have shape"):
        EvolinoModel(spec, np.zeros(spec.dimension), np.zeros((2, 1)))
