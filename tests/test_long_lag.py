"""The long time-lag tasks, Mackey-Glass and a^n b^n: the sequences follow their definitions, test data are fresh,
and the success measures say what they should."""

import numpy as np
import pytest

from evolino.tasks import make_task
from evolino.tasks.languages import anbn_string, generalization_limit
from evolino.tasks.long_lag import (
    REBER_SYMBOLS,
    TEMPORAL_SYMBOLS,
    adding_sequence,
    embedded_reber_string,
    parity_sequence,
    reber_misses,
    solved_fraction,
    temporal_order_sequence,
    two_sequence,
)
from evolino.tasks.mackey_glass import mackey_glass, nrmse84, task_nrmse84


def test_adding_sequences_follow_the_1997_definition():
    rng = np.random.default_rng(0)
    for _ in range(200):
        pair = adding_sequence(rng, 100)
        values, markers = pair.inputs[:, 0], pair.inputs[:, 1]
        marked = np.flatnonzero(markers == 1.0)
        assert 100 <= pair.steps <= 110 and len(marked) == 2
        assert marked[0] < 10 and marked[1] < 49 or marked[1] < 10 and marked[0] < 49
        assert (markers[0] in (-1.0, 1.0)) and markers[-1] == -1.0
        x = [0.0 if k == 0 else values[k] for k in marked]
        assert np.isnan(pair.targets[:-1]).all() and pair.targets[-1, 0] == pytest.approx(0.5 + sum(x) / 4)
    short = make_task("adding", steps=10, train=20, validation=2, test=2)  # the shortest the definition allows
    assert all(np.sum(p.inputs[:, 1] == 1.0) == 2 for p in short.train)
    with pytest.raises(ValueError, match="steps >= 10"):
        make_task("adding", steps=5)


def test_temporal_order_classes_are_the_order_of_the_relevant_symbols():
    rng = np.random.default_rng(1)
    for relevant, bands in ((2, [(10, 20), (50, 60)]), (3, [(10, 20), (33, 43), (66, 76)])):
        for _ in range(50):
            pair = temporal_order_sequence(rng, 100, relevant)
            symbols = [TEMPORAL_SYMBOLS[k] for k in np.argmax(pair.inputs, axis=1)]
            positions = [t for t, s in enumerate(symbols) if s in "XY"]
            assert len(positions) == relevant and all(lo <= p <= hi for p, (lo, hi) in zip(positions, bands,
                                                                                              strict=True))
            assert symbols[0] == "E" and symbols[-1] == "B"
            label = int("".join("0" if symbols[p] == "X" else "1" for p in positions), 2)
            assert np.argmax(pair.targets[-1]) == label and pair.targets.shape[1] == 2**relevant


def test_two_sequence_latch_and_parity_targets():
    rng = np.random.default_rng(2)
    noise = []
    for _ in range(100):
        pair = two_sequence(rng, 100, informative=3, first_noise=0.2)
        assert pair.targets[-1, 0] == (1.0 if pair.inputs[:3, 0].mean() > 0 else 0.0)
        noise.append(pair.inputs[3:, 0])
    assert np.var(np.concatenate(noise)) == pytest.approx(0.2, rel=0.05)
    latch = two_sequence(rng, 500, 1, 0.0, labels=(1.0, -1.0))
    assert latch.inputs[0, 0] in (1.0, -1.0) and latch.targets[-1, 0] == latch.inputs[0, 0]
    for _ in range(20):
        pair = parity_sequence(rng, 500, 600)
        assert pair.targets[-1, 0] == np.sum(pair.inputs[:, 0] > 0) % 2 and 500 <= pair.steps <= 600


def _reber_accepts(text: str) -> bool:
    """An independent recogniser of the Reber grammar (the state diagram of the 1997 paper)."""
    edges = {0: {"T": 1, "P": 2}, 1: {"S": 1, "X": 3}, 2: {"T": 2, "V": 4}, 3: {"X": 2, "S": 5},
             4: {"P": 3, "V": 5}}
    state = 0
    for symbol in text:
        if state == 5 or symbol not in edges[state]:
            return False
        state = edges[state][symbol]
    return state == 5


def test_embedded_reber_strings_and_their_legal_successors():
    rng = np.random.default_rng(3)
    for _ in range(100):
        pair = embedded_reber_string(rng)
        text = "".join(REBER_SYMBOLS[k] for k in np.argmax(pair.inputs, axis=1))
        assert text[0] == "B" and text[-1] == "E" and text[1] == text[-2] in "TP" and text[2] == "B"
        assert text[-3] == "E" and _reber_accepts(text[3:-3])
        legal = pair.targets
        assert np.isnan(legal[-1]).all()
        assert legal[-3, REBER_SYMBOLS.index(text[1])] == 1 and legal[-3].sum() == 1  # the long-lag prediction
        for t in range(len(text) - 1):  # every next symbol is legal
            assert legal[t, REBER_SYMBOLS.index(text[t + 1])] == 1


def test_fresh_test_sequences_and_the_success_measure():
    task = make_task("adding", train=20, validation=5, test=30)
    firsts = {split: [p.inputs[0, 0] for p in getattr(task, split)] for split in ("train", "validation", "test")}
    assert not set(firsts["train"]) & set(firsts["test"])  # drawn from separate seeds
    perfect = [p.targets for p in task.test]
    assert solved_fraction(task, perfect) == 1.0
    off = [p.targets + 0.05 * (k % 2) for k, p in enumerate(task.test)]  # half the answers 0.05 off
    assert solved_fraction(task, off) == 0.5
    reber = make_task("embedded-reber", train=4, validation=2, test=10)
    wrong = [np.where(np.isnan(p.targets), np.nan, 1.0 - p.targets) for p in reber.test]
    assert solved_fraction(reber, [p.targets for p in reber.test]) == 1.0 and solved_fraction(reber, wrong) == 0.0
    order = make_task("temporal-order", relevant=3, train=4, validation=2, test=5)
    assert order.n_outputs == 8 and order.n_inputs == 8 and order.test[0].mask.sum() == 1


def test_mackey_glass_integrator_converges_and_nrmse84_measures_the_84th_step():
    reference = mackey_glass(60, dt=0.001, transient=0)
    coarse, fine = (np.abs(mackey_glass(60, dt=dt, transient=0) - reference).max() for dt in (0.1, 0.05))
    assert coarse < 3e-5 and coarse / fine > 3.5  # second order: the delayed values are interpolated linearly
    y = mackey_glass(3000)
    assert 0.4 < y.min() and y.max() < 1.35 and mackey_glass(3000, tau=30).std() > 0.2
    truth = lambda history, steps: y[len(history): len(history) + steps, None]  # noqa: E731
    assert nrmse84(truth, y, [1000, 2000], float(np.var(y))) == 0.0
    flat = lambda history, steps: np.full((steps, 1), y.mean())  # noqa: E731
    starts = np.arange(500, 2900, 10)
    assert nrmse84(flat, y, starts, float(np.var(y))) == pytest.approx(1.0, abs=0.1)
    task = make_task("mackey-glass", train=500, validation=100, span=700, history=200, runs=10)
    assert task.test[0].steps == 84 and len(task.info["nrmse84"]["starts"]) == 10
    assert min(task.info["nrmse84"]["starts"]) >= 800
    series = mackey_glass(task.info["nrmse84"]["samples"])
    assert task_nrmse84(task, lambda history, steps: series[len(history): len(history) + steps, None]) == 0.0


def test_anbn_strings_and_a_perfect_counter():
    pair = anbn_string(3)
    assert pair.inputs.shape == (7, 3) and pair.targets.shape == (7, 3)
    np.testing.assert_array_equal(pair.targets[-1], [0, 0, 1]) and np.testing.assert_array_equal(pair.targets[3],
                                                                                                   [0, 1, 0])

    def counter(inputs):  # the exact predictor
        n = int(inputs[:, 1].sum())
        return anbn_string(n).targets

    assert generalization_limit(counter, 60, anbn_string) == 60
    task = make_task("anbn")
    assert len(task.train) == 10 and task.test[-1].steps == 101


def test_reber_misses_tell_the_long_lag_step_from_the_grammar():
    pairs = make_task("embedded-reber", train=4, validation=2, test=6).test
    outputs = [np.nan_to_num(p.targets) for p in pairs]
    assert reber_misses(outputs, pairs) == {"strings": 6, "wrong": 0, "wrong_at_lag": 0, "wrong_elsewhere": 0}
    for k, (pair, out) in enumerate(zip(pairs, outputs, strict=True)):
        text = "".join(REBER_SYMBOLS[i] for i in np.argmax(pair.inputs, axis=1))
        lag_step = len(text) - 3  # the inner E, after which the second symbol must come again
        assert text[lag_step] == "E" and pair.targets[lag_step, REBER_SYMBOLS.index(text[1])] == 1.0
        if k < 3:
            out[lag_step] = 0.5 * np.ones(len(REBER_SYMBOLS))  # undecided between T and P (and wrong on E)
        if k in (2, 3):
            out[1] = 1.0 - out[1]  # the grammar's prediction after the second symbol wrong
    assert reber_misses(outputs, pairs) == {"strings": 6, "wrong": 4, "wrong_at_lag": 3, "wrong_elsewhere": 2}
