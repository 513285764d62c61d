"""Task construction, validation and the MSO protocol."""

import numpy as np
import pytest

from evolino.tasks import SequencePair, Task, make_task, task_names


def test_mso_signal_and_protocol_split():
    task = make_task("mso3")
    n = np.arange(700)
    y = np.sin(0.2 * n) + np.sin(0.311 * n) + np.sin(0.42 * n)
    whole = np.concatenate([task.train[0].targets, task.validation[0].targets, task.test[0].targets])[:, 0]
    np.testing.assert_allclose(whole, y, atol=1e-12)
    assert (task.train[0].steps, task.validation[0].steps, task.test[0].steps) == (300, 100, 300)
    assert task.washout == 100 and task.generative and task.metric == "nrmse"


def test_registry_has_all_mso_tasks_and_the_papers_five_sines():
    names = task_names()
    assert {f"mso{k}" for k in range(1, 9)} <= set(names) and "sines5" in names
    assert make_task("sines5").info["frequencies"] == [0.2, 0.311, 0.42, 0.51, 0.74]


def test_unknown_task_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown task 'mso9'.*mso2"):
        make_task("mso9")


def test_task_from_plain_arrays():
    x = np.linspace(0, 1, 50)
    task = Task("mine", train=(x, x[:, None] * 2), validation=[(x[:20], x[:20, None])], washout=5)
    assert task.n_inputs == 1 and task.n_outputs == 1
    assert isinstance(task.train[0], SequencePair) and task.train[0].targets.shape == (50, 1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(train=[]), "at least one training sequence"),
        (dict(train=[(np.zeros(3), np.array([1.0, np.nan, 2.0]))]), "inputs contain NaN"),
        (dict(train=np.array([1.0, np.inf, 2.0])), "infinite"),
        (dict(train=np.array([[1.0, np.nan], [2.0, 3.0]])), "all present or all missing"),
        (dict(train=np.array([1.0, np.nan, 2.0]), validation=np.ones(3), generative=True), "target at every step"),
        (dict(train=np.zeros((4, 2, 2))), "must be a non-empty"),
        (dict(train=np.zeros(10), washout=10), "washout"),
        (dict(train=np.zeros(10), metric="median"), "unknown metric"),
        (dict(train=np.zeros(10), generative=True), "validation windows"),
        (dict(train=[np.zeros(10)], validation=[np.zeros((5, 2))]), "same number of target columns"),
        (dict(train=[(np.zeros(10), np.zeros((9, 1)))]), "inputs have 9 steps"),
    ],
)
def test_invalid_tasks_are_rejected_with_a_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Task("bad", **kwargs)


def test_seen_before_test_joins_generative_windows_and_lists_supervised_sequences():
    mso = make_task("mso2")
    (joined,) = mso.seen_before_test()
    assert joined.steps == 400
    np.testing.assert_array_equal(joined.targets[300:], mso.validation[0].targets)
    u = np.arange(20.0)
    supervised = Task("s", train=(u, u), validation=[(u[:5], u[:5])], test=(u, u))
    assert [p.steps for p in supervised.seen_before_test()] == [20, 5]


def test_nrmse_refuses_targets_that_do_not_vary_and_tasks_print_briefly():
    with pytest.raises(ValueError, match="does not vary on the validation part"):
        Task("flat", train=np.arange(10.0), validation=np.ones(4), generative=True)
    Task("flat", train=np.arange(10.0), validation=np.ones(4), generative=True, metric="rmse")  # fine with rmse
    task = make_task("mso2")
    assert repr(task) == ("Task('mso2', generative, 300/100/300 steps train/validation/test in 1/1/1 sequences, "
                          "0 inputs, 1 outputs, washout 100, nrmse)")
    assert repr(task.train[0]) == "SequencePair(300 steps, 1 targets at every step, 0 inputs)"
