"""The random-guessing nets: vectorised forward pass against a plain loop (logistic and tanh hidden units), the
layered update, trial counts that do not depend on the batch, hand-built solutions, and argument checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evolino.baselines.guessing_nets import (
    ARCHITECTURES,
    Architecture,
    Sequences,
    accuracy,
    classified_right,
    final_outputs,
    get_architecture,
    guess_until_solved,
    latch_sequences,
    parity_sequences,
    run,
)
from evolino.tasks import make_task

EVERYTHING = Architecture("everything", hidden=3, self_loops=True, lateral=True, output_to_hidden=True,
                          output_self=True, input_to_output=True)
EVERYTHING_TANH = Architecture("everything-tanh", hidden=3, self_loops=True, lateral=True, output_to_hidden=True,
                               output_self=True, input_to_output=True, hidden_activation="tanh")

# Hand-built solutions (genome layout: w_in, W_hh, w_fb, b_h, w_out, w_uy, w_yy, b_y).
# Parity on A1: y(t) holds the parity; h(t) = [u(t) = +1 and y(t-1) = 0]; y(t) = [2h + y(t-1) - u' > 0.5], u' = (u+1)/2.
A1_PARITY = np.array([20.0, 0.0, -40.0, 0.0, 80.0, -20.0, 40.0, -40.0])
# Noisy latch on A1: h marks class 0 (set by a first element -1, self-held, blocked once y is high); y holds class 1
# (set by a first element +1 from the reset state, self-held, forced low while h is high).
A1_LATCH = np.array([-20.0, 100.0, -100.0, 0.0, -50.0, 10.0, 50.0, -5.0])
# Noiseless latch on one self-recurrent unit read by the output.
ONE_UNIT_LATCH = np.array([40.0, 60.0, -20.0, 40.0, -20.0])
# Noisy latch on one tanh unit (w_in, w_hh, b_h, w_out, b_y): the first element sends h to +-1, a self-weight of 50
# against an input weight of 5 holds it there (a flip needs noise beyond 10), the output reads its sign.
ONE_TANH_LATCH = np.array([5.0, 50.0, 0.0, 50.0, 0.0])


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def reference_outputs(arch: Architecture, genome: np.ndarray, inputs: list[float]) -> list[float]:
    """One net on one unpadded sequence, step by step in plain Python, reading the genome in the documented order."""
    H, g = arch.hidden, iter(float(x) for x in genome)
    w_in = [next(g) for _ in range(H)]
    w_hh = [[0.0] * H for _ in range(H)]
    for i in range(H):
        for j in range(H):
            if (i == j and arch.self_loops) or (i != j and arch.lateral):
                w_hh[i][j] = next(g)
    w_fb = [next(g) for _ in range(H)] if arch.output_to_hidden else [0.0] * H
    b_h = [next(g) for _ in range(H)] if arch.bias else [0.0] * H
    w_out = [next(g) for _ in range(H)]
    w_uy = next(g) if arch.input_to_output else 0.0
    w_yy = next(g) if arch.output_self else 0.0
    b_y = next(g) if arch.bias else 0.0
    assert next(g, None) is None
    f = {"logistic": logistic, "tanh": math.tanh}[arch.hidden_activation]
    h, y, out = [0.0] * H, 0.0, []
    for u in inputs:
        h = [f(w_in[i] * u + sum(w_hh[i][j] * h[j] for j in range(H)) + w_fb[i] * y + b_h[i])
             for i in range(H)]
        y = logistic(sum(w_out[i] * h[i] for i in range(H)) + w_uy * u + w_yy * y + b_y)
        out.append(y)
    return out


@pytest.mark.parametrize("arch", [EVERYTHING, EVERYTHING_TANH, *ARCHITECTURES.values()], ids=lambda a: a.name)
def test_vectorised_nets_match_a_plain_loop_on_sequences_of_different_lengths(arch):
    rng = np.random.default_rng(3)
    genomes = rng.uniform(-3.0, 3.0, (4, arch.n_weights))  # small weights: outputs away from 0 and 1
    lengths = np.array([7, 3, 12, 1, 9])
    inputs = rng.normal(size=(5, 12))
    inputs[np.arange(12)[None, :] >= lengths[:, None]] = 0.0
    sequences = Sequences(inputs, lengths, rng.integers(0, 2, 5).astype(bool))
    weights = arch.unpack(genomes)
    every_step = run(weights, inputs)
    last = final_outputs(weights, sequences)
    assert every_step.shape == (4, 5, 12) and last.shape == (4, 5)
    for k in range(4):
        for s in range(5):
            expected = reference_outputs(arch, genomes[k], list(inputs[s, : lengths[s]]))
            np.testing.assert_allclose(every_step[k, s, : lengths[s]], expected, rtol=1e-12, atol=1e-14)
            assert last[k, s] == pytest.approx(expected[-1], rel=1e-12, abs=1e-14)
    right = classified_right(weights, sequences)
    np.testing.assert_array_equal(right, (last > 0.5) == sequences.labels)
    # a net's outputs do not depend on the other nets or sequences of its batch
    np.testing.assert_array_equal(final_outputs(arch.unpack(genomes[2:3]), sequences.subset(slice(2, 3))),
                                  last[2:3, 2:3])


def test_huge_weights_saturate_without_overflow():
    genomes = np.random.default_rng(0).uniform(-100, 100, (50, ARCHITECTURES["a2"].n_weights)) * 1e3
    with np.errstate(all="raise"):
        out = run(ARCHITECTURES["a2"].unpack(genomes), np.ones((2, 5)))
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0


def test_layered_update_output_sees_the_current_hidden_state():
    # h(t) = sigmoid(100 u(t)) (no recurrence), y(t) = sigmoid(100 h(t) - 50): y follows u at the same step;
    # a synchronous update would give y(1) = sigmoid(-50) and lag u by one step.
    genome = np.array([100.0, 0.0, 0.0, 100.0, -50.0])
    u = np.array([[1.0, -1.0, -1.0, 1.0, 1.0, -1.0, 1.0]])
    y = run(ARCHITECTURES["one-unit"].unpack(genome), u)[0, 0]
    np.testing.assert_array_equal(y > 0.5, u[0] > 0)
    assert y[0] > 0.99


def test_unpack_puts_each_weight_in_its_place_and_absent_connections_at_zero():
    arch = ARCHITECTURES["a2-noself"]
    genome = np.arange(1.0, arch.n_weights + 1)
    w = arch.unpack(genome)
    assert w.w_hh.shape == (1, 10, 10) and not w.w_hh.any()  # no hidden-to-hidden weight at all
    np.testing.assert_array_equal(w.w_in[0], genome[:10])
    np.testing.assert_array_equal(w.w_fb[0], genome[10:20])
    np.testing.assert_array_equal(w.b_h[0], genome[20:30])
    np.testing.assert_array_equal(w.w_out[0], genome[30:40])
    assert (w.w_uy[0], w.w_yy[0], w.b_y[0]) == (41.0, 42.0, 43.0)
    a2 = ARCHITECTURES["a2"].unpack(np.arange(1.0, 54.0))
    np.testing.assert_array_equal(a2.w_hh[0], np.diag(np.arange(11.0, 21.0)))
    dense = ARCHITECTURES["a2-dense"]
    assert dense.n_weights == 10 + 100 + 10 + 10 + 1
    assert [get_architecture(n).n_weights for n in ("one-unit", "a1", "a2", "a2-noself")] == [5, 8, 53, 43]
    # one-tanh: one-unit's layout and weights, only the hidden unit's squashing differs
    tanh, logistic_unit = ARCHITECTURES["one-tanh"], ARCHITECTURES["one-unit"]
    assert tanh.n_weights == 5 and tanh.hidden_activation == "tanh" and logistic_unit.hidden_activation == "logistic"
    assert all(a.hidden_activation == "logistic" for name, a in ARCHITECTURES.items()
               if not name.startswith("one-tanh"))
    nobias = ARCHITECTURES["one-tanh-nobias"]
    assert nobias.n_weights == 3 and nobias.hidden_activation == "tanh"
    # without biases the unpacked biases are 0 and the three weights land where one-tanh keeps them
    net = nobias.unpack(np.array([[5.0, 50.0, 50.0]]))
    assert np.all(net.b_h == 0) and np.all(net.b_y == 0)
    w, v = tanh.unpack(np.arange(1.0, 6.0)), logistic_unit.unpack(np.arange(1.0, 6.0))
    for field in ("w_in", "w_hh", "w_fb", "b_h", "w_out", "w_uy", "w_yy", "b_y"):
        np.testing.assert_array_equal(getattr(w, field), getattr(v, field))
    assert w.hidden_activation == "tanh" and w.take(np.array([0])).hidden_activation == "tanh"


def test_tanh_hidden_unit_ranges_over_minus_one_to_one_and_the_output_stays_logistic():
    # h(t) = tanh(100 u(t)); y(t) = sigmoid(h(t)): y(t) = sigmoid(+-1) with a tanh unit, never below 0.5 if logistic
    genome = np.array([100.0, 0.0, 0.0, 1.0, 0.0])
    u = np.array([[1.0, -1.0]])
    y_tanh = run(ARCHITECTURES["one-tanh"].unpack(genome), u)[0, 0]
    y_logistic = run(ARCHITECTURES["one-unit"].unpack(genome), u)[0, 0]
    np.testing.assert_allclose(y_tanh, [1 / (1 + math.exp(-1)), 1 / (1 + math.exp(1))], rtol=1e-12)
    np.testing.assert_allclose(y_logistic, [1 / (1 + math.exp(-1)), 0.5], rtol=1e-12)
    with np.errstate(all="raise"):  # huge weights saturate tanh units without overflow
        genomes = np.random.default_rng(0).uniform(-100, 100, (50, EVERYTHING_TANH.n_weights)) * 1e3
        out = run(EVERYTHING_TANH.unpack(genomes), np.ones((2, 5)))
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0


def test_trials_do_not_depend_on_the_batch_and_are_the_first_solver_in_guessing_order():
    train = parity_sequences(np.random.default_rng(1), 12, low=20, high=30)
    found = {batch: guess_until_solved("a2-noself", train, np.random.default_rng(7), 5000, batch=batch)
             for batch in (1, 7, 64, 1000)}
    trials = {batch: r.trials for batch, r in found.items()}
    assert len(set(trials.values())) == 1 and trials[1] is not None, trials
    for batch, result in found.items():
        np.testing.assert_array_equal(result.genome, found[1].genome)
        assert result.guessed % batch == 0 and result.guessed >= result.trials
    # brute force: the same stream of nets, every one scored on every sequence at once
    arch = ARCHITECTURES["a2-noself"]
    genomes = np.random.default_rng(7).uniform(-100, 100, (trials[1], arch.n_weights))
    solved = classified_right(arch.unpack(genomes), train).all(axis=1)
    assert np.flatnonzero(solved)[0] + 1 == trials[1]


def test_no_success_within_the_cap():
    train = parity_sequences(np.random.default_rng(0), 20, low=10, high=20)
    result = guess_until_solved("one-unit", train, np.random.default_rng(0), 50, batch=32)
    assert result.trials is None and result.genome is None and result.guessed == 64


@pytest.mark.parametrize(("arch", "genome", "task", "noise"), [
    ("a1", A1_LATCH, "latch", 0.2), ("a1", A1_LATCH, "latch", 0.0), ("one-unit", ONE_UNIT_LATCH, "latch", 0.0),
    ("one-tanh", ONE_TANH_LATCH, "latch", 0.2), ("one-tanh", ONE_TANH_LATCH, "latch", 0.0),
    ("a1", A1_PARITY, "parity", None)])
def test_hand_built_nets_classify_every_fresh_sequence_right(arch, genome, task, noise):
    rng = np.random.default_rng(11)
    sequences = latch_sequences(rng, 1000, noise=noise) if task == "latch" else parity_sequences(rng, 1000)
    assert np.abs(genome).max() <= 100.0  # inside the guessing range
    assert accuracy(arch, genome, sequences, chunk=300) == 1.0
    if task == "parity":  # short sequences too, and A1's solution embedded in A2 without self-connections
        assert accuracy(arch, genome, parity_sequences(rng, 500, low=1, high=40)) == 1.0
        embedded = np.zeros(ARCHITECTURES["a2-noself"].n_weights)
        embedded[[0, 10, 20, 30]] = genome[[0, 2, 3, 4]]
        embedded[40:] = genome[5:]
        assert accuracy("a2-noself", embedded, sequences) == 1.0


def test_one_state_unit_cannot_hold_the_noisy_latch():
    rng = np.random.default_rng(5)
    assert accuracy("one-unit", ONE_UNIT_LATCH, latch_sequences(rng, 400, noise=0.2)) < 0.7


@pytest.mark.slow
def test_guessing_one_tanh_unit_solves_the_noisy_latch_and_counts_trials_in_guessing_order():
    train = latch_sequences(np.random.default_rng(4), 30)
    found = {batch: guess_until_solved("one-tanh", train, np.random.default_rng(9), 5000, batch=batch)
             for batch in (1, 100)}
    assert found[1].trials is not None and found[1].trials == found[100].trials
    np.testing.assert_array_equal(found[1].genome, found[100].genome)
    arch = ARCHITECTURES["one-tanh"]
    genomes = np.random.default_rng(9).uniform(-100, 100, (found[1].trials, arch.n_weights))
    solved = classified_right(arch.unpack(genomes), train).all(axis=1)
    assert np.flatnonzero(solved)[0] + 1 == found[1].trials


def test_sequences_from_generators_and_from_tasks():
    rng = np.random.default_rng(2)
    parity = parity_sequences(rng, 50, low=5, high=9)
    assert parity.lengths.min() >= 5 and parity.lengths.max() <= 9
    for s in range(50):
        assert parity.labels[s] == (np.sum(parity.inputs[s, : parity.lengths[s]] > 0) % 2 == 1)
        assert not parity.inputs[s, parity.lengths[s]:].any()
    latch = latch_sequences(rng, 200, low=500, high=600)
    np.testing.assert_array_equal(latch.inputs[:, 0], np.where(latch.labels, 1.0, -1.0))
    assert latch.lengths.min() >= 500 and latch.lengths.max() <= 600 and 0.3 < latch.labels.mean() < 0.7
    noise = np.concatenate([latch.inputs[s, 1: latch.lengths[s]] for s in range(200)])
    assert abs(noise.var() - 0.2) < 0.01
    task = make_task("parity", low=10, high=14, train=6, validation=1, test=1)
    packed = Sequences.from_pairs(task.train)
    np.testing.assert_array_equal(packed.labels, [p.targets[-1, 0] > 0.5 for p in task.train])
    np.testing.assert_array_equal(packed.lengths, [len(p.targets) for p in task.train])
    part = packed.subset(slice(1, 3))
    assert part.inputs.shape == (2, part.lengths.max())


def test_bad_arguments_raise_value_error():
    train = parity_sequences(np.random.default_rng(0), 4, low=5, high=6)
    rng = np.random.default_rng(0)
    for kwargs in ({"max_trials": 0}, {"max_trials": 10, "batch": 0}, {"max_trials": 10, "batch": True},
                   {"max_trials": 2.5}):
        with pytest.raises(ValueError):
            guess_until_solved("a1", train, rng, **kwargs)
    with pytest.raises(ValueError, match="unknown architecture"):
        guess_until_solved("a3", train, rng, 10)
    with pytest.raises(ValueError, match="Sequences"):
        guess_until_solved("a1", np.ones((4, 5)), rng, 10)
    with pytest.raises(ValueError, match="hidden"):
        Architecture("x", hidden=0)
    for activation in ("relu", "Tanh", "", None, ["tanh"]):
        with pytest.raises(ValueError, match="hidden_activation"):
            Architecture("x", hidden=1, hidden_activation=activation)
    with pytest.raises(ValueError, match="shape"):
        ARCHITECTURES["a1"].unpack(np.zeros((2, 7)))
    with pytest.raises(ValueError, match="lengths"):
        Sequences(np.zeros((2, 5)), np.array([5, 6]), np.array([True, False]))
    with pytest.raises(ValueError, match="lengths"):
        Sequences(np.zeros((2, 5)), np.array([5]), np.array([True, False]))
    with pytest.raises(ValueError, match="labels"):
        Sequences(np.zeros((2, 5)), np.array([5, 4]), np.array([1, 0]))
    with pytest.raises(ValueError, match="finite"):
        Sequences(np.full((1, 2), np.nan), np.array([2]), np.array([True]))
    with pytest.raises(ValueError):
        latch_sequences(rng, 0)
    with pytest.raises(ValueError):
        parity_sequences(rng, 3, low=10, high=5)
    with pytest.raises(ValueError, match="noise"):
        latch_sequences(rng, 3, noise=-0.1)
    with pytest.raises(ValueError):
        Sequences.from_pairs([])
    with pytest.raises(ValueError):
        run(ARCHITECTURES["a1"].unpack(A1_PARITY), np.ones(5))
