"""scikit-learn's conventions on evolino's estimators: fit returns the estimator, parameters by name (clone works),
predict / generate / score on the fitted estimator, and the run controls kept apart from the parameters."""

import numpy as np
import pytest
from sklearn.base import clone

import evolino
from evolino.baselines import BPTTLSTM, EchoStateNetwork, ESNSearch
from evolino.errors import NotFittedError
from evolino.evaluation import model_error
from evolino.trainer import RunControls

SMALL = dict(cells=3, population=8, generations=3, seed=0)


def _delay_task(washout: int = 10) -> evolino.Task:
    """Supervised, independent sequences: recall the input of two steps ago."""
    rng = np.random.default_rng(0)
    pairs = []
    for _ in range(8):
        u = rng.uniform(-1, 1, size=(60, 1))
        pairs.append((np.concatenate([[0.0, 0.0], u[:-2, 0]]), u))
    return evolino.Task("delay2", train=pairs[:5], validation=pairs[5:6], test=pairs[6:], washout=washout)


@pytest.mark.parametrize("estimator", [evolino.Evolino(**SMALL), BPTTLSTM(cells=2, iterations=3),
                                       EchoStateNetwork(units=5), ESNSearch(units=5, reservoirs=1)],
                         ids=lambda e: type(e).__name__)
def test_fit_returns_the_estimator_and_clone_gives_an_unfitted_copy_with_the_same_parameters(estimator):
    task = evolino.make_task("mso1")
    assert estimator.fit(task) is estimator and hasattr(estimator, "result_")
    copy = clone(estimator)
    assert type(copy) is type(estimator) and not hasattr(copy, "result_")
    assert copy.get_params() == estimator.get_params()


def test_set_params_changes_the_run_and_refuses_unknown_names():
    task = evolino.make_task("mso1")
    first = evolino.Evolino(**SMALL).fit(task).result_
    estimator = evolino.Evolino(**SMALL).set_params(seed=1)
    assert estimator.seed == 1 and estimator.fit(task).result_.test_error != first.test_error
    with pytest.raises(ValueError, match="no parameter 'cels'"):
        estimator.set_params(cels=4)
    assert "seed=1" in repr(estimator) and "population=8" in repr(estimator) and "optimizer" not in repr(estimator)


def test_run_controls_are_arguments_of_fit_not_parameters(tmp_path):
    params = evolino.Evolino().get_params()
    assert not {"callbacks", "checkpoint_dir", "checkpoint_every", "keep_checkpoints", "handle_sigint"} & set(params)
    rows = []
    estimator = evolino.Evolino(**SMALL).fit(evolino.make_task("mso1"), callbacks=[rows.append],
                                             checkpoint_dir=tmp_path, checkpoint_every=1, keep_checkpoints=1)
    assert estimator.result_.generations == 3 and [r["generation"] for r in rows] == [1, 2, 3]
    assert len(list((tmp_path / "checkpoints").iterdir())) == 1
    with pytest.raises(ValueError, match="keep_checkpoints"):
        RunControls(keep_checkpoints=0)


@pytest.mark.parametrize("make", [lambda: evolino.Evolino(**SMALL), lambda: BPTTLSTM(cells=2, iterations=3)],
                         ids=["Evolino", "BPTTLSTM"])
def test_predict_generate_and_score_need_a_fit_then_use_the_fitted_network(make):
    task = evolino.make_task("mso1")
    estimator = make()
    with pytest.raises(NotFittedError, match="not fitted"):
        estimator.score(task)
    estimator.fit(task)
    assert estimator.score(task) == estimator.result_.test_error  # the same arithmetic as the reported number
    history = np.concatenate([p.targets for p in task.seen_before_test()])
    np.testing.assert_array_equal(estimator.generate(history, 20), estimator.model_.generate(history, 20))
    np.testing.assert_array_equal(estimator.predict(targets=history), estimator.model_.predict(targets=history))
    with pytest.raises(ValueError, match="split"):
        estimator.score(task, "train")


def test_supervised_scores_pool_the_steps_after_each_washout():
    """Reference: each test sequence predicted by the model, MSE pooled over the steps after the washout."""
    task = _delay_task(washout=10)
    estimator = evolino.Evolino(**SMALL).fit(task)
    outputs = [estimator.predict(inputs=p.inputs) for p in task.test]
    errors = np.concatenate([(o - p.targets)[task.washout:] for o, p in zip(outputs, task.test, strict=True)])
    variance = np.concatenate([p.targets[task.washout:] for p in task.test]).var()
    expected = np.sqrt(np.mean(errors**2) / variance)  # NRMSE, the task's default metric
    assert estimator.score(task) == pytest.approx(expected, rel=1e-12)
    assert model_error(estimator.model_, task, "test") == estimator.result_.test_error
    bptt = BPTTLSTM(cells=2, iterations=5).fit(task)
    assert bptt.result_.test_error == bptt.score(task) and np.isfinite(bptt.result_.validation_error)


def test_the_esn_generates_its_reported_test_outputs_and_predicts_teacher_forced():
    task = evolino.make_task("mso2")
    esn = EchoStateNetwork(units=20, leak=0.5, feedback_scale=1e-3, readout=evolino.ReadoutConfig(rcond=1e-14))
    with pytest.raises(NotFittedError):
        esn.generate(np.zeros((10, 1)), 5)
    esn.fit(task)
    seen = np.concatenate([p.targets for p in task.seen_before_test()])
    np.testing.assert_array_equal(esn.generate(seen, task.test[0].steps), esn.result_.test_outputs[0])
    one_step = esn.predict(targets=seen)
    assert one_step.shape == (400, 1) and np.sqrt(np.mean((one_step - seen)[100:] ** 2)) < 1e-3 * seen.std()
