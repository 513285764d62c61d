"""The a^n b^n c^n task: encoding, the acceptance measure, and that evolution learns it."""

from __future__ import annotations

import numpy as np
import pytest

from evolino import Evolino, make_task
from evolino.tasks.languages import accepts, anbncn_string, generalization_limit

OUTPUTS = "abcT"


def counting_oracle(inputs: np.ndarray, counts_up_to: int = 10**9) -> np.ndarray:
    """Next-symbol sets from running counts of a, b and c (the generator works from positions instead); it loses
    count beyond ``counts_up_to`` a's, the way a network that generalises only so far would."""
    seen = {"a": 0, "b": 0, "c": 0}
    outputs = np.zeros((inputs.shape[0], 4))
    for t, symbol in enumerate("Sabc"[i] for i in inputs.argmax(axis=1)):
        if symbol != "S":
            seen[symbol] += 1
        n = min(seen["a"], counts_up_to)
        following = {"S": "a", "a": "ab", "b": "c" if seen["b"] == n else "b",
                     "c": "T" if seen["c"] == n else "c"}[symbol]
        outputs[t, [OUTPUTS.index(s) for s in following]] = 0.9
    return outputs + 0.05


def test_encoding_of_a_short_string():
    string = anbncn_string(2)  # S a a b b c c
    np.testing.assert_array_equal(string.inputs.argmax(axis=1), [0, 1, 1, 2, 2, 3, 3])
    assert (string.inputs.sum(axis=1) == 1).all()
    expected = ["a", "ab", "ab", "b", "c", "c", "T"]
    assert ["".join(OUTPUTS[j] for j in np.flatnonzero(row)) for row in string.targets] == expected


@pytest.mark.parametrize("n", [1, 3, 17])
def test_generator_agrees_with_a_counting_oracle(n):
    string = anbncn_string(n)
    assert string.steps == 3 * n + 1
    np.testing.assert_array_equal(counting_oracle(string.inputs) > 0.5, string.targets > 0.5)


def test_generalization_limit_is_the_first_rejected_length_minus_one():
    assert generalization_limit(counting_oracle, max_n=60) == 60
    assert generalization_limit(lambda u: counting_oracle(u, counts_up_to=6), max_n=60) == 6
    assert not accepts(lambda u: np.full((u.shape[0], 4), 0.5), 1)  # 0.5 is not above the threshold
    assert generalization_limit(lambda u: np.zeros((u.shape[0], 4)), max_n=5) == 0
    with pytest.raises(ValueError):
        anbncn_string(0)


def test_task_protocol():
    task = make_task("anbncn")
    assert [s.steps for s in task.train] == [3 * n + 1 for n in range(1, 11)]
    assert [s.steps for s in task.test] == [3 * n + 1 for n in range(11, 51)]
    assert not task.generative and task.metric == "mse" and task.washout == 0
    assert (task.n_inputs, task.n_outputs) == (4, 4) and not task.validation
    assert len(make_task("anbncn", train_max=3, test_max=5).test) == 2


@pytest.mark.slow
def test_evolution_improves_far_beyond_its_first_generation():
    """The least-squares readout alone makes random networks fair (best of 40: about a third of the best constant's
    MSE); 120 generations of evolution take that 7-100x lower (seeds 0-3), so half is a safe bar."""
    task = make_task("anbncn", train_max=5, test_max=8)
    first = Evolino(cells=4, init_scale=0.5, generations=1, seed=0).fit(task).result_
    evolved = Evolino(cells=4, init_scale=0.5, generations=120, seed=0).fit(task).result_
    assert evolved.fitness < 0.5 * first.fitness
