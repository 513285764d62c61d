"""Pooled readouts (a label per sequence): the pools against a per-step loop, across segments, in every kernel, and
the fitness of a pooled readout against a plain least-squares fit on the pooled features."""

import numpy as np
import pytest

import evolino
from evolino.fitness import STREAM_STEPS, ForwardPasses, line_of, validation_scores
from evolino.network import LSTMSpec, pool_features, teacher_forced, unpack
from evolino.readout import ReadoutConfig
from evolino.tasks.base import SequencePair


def _pools_by_loop(states, pools):
    n, steps, cells = states.shape
    out = []
    for t in range(steps):
        seen = states[:, : t + 1]
        parts = {"last": states[:, t], "mean": seen.mean(axis=1), "max": seen.max(axis=1)}
        out.append(np.concatenate([parts[p] for p in pools], axis=1))
    return np.stack(out, axis=1)


@pytest.mark.parametrize("pool", ["mean", "max", "last+mean", "last+mean+max", "mean+max"])
def test_pool_features_match_a_loop_and_carry_across_pieces(pool):
    spec = LSTMSpec(n_inputs=2, cells=3, n_outputs=2, feedback=False, readout_pool=pool)
    states = np.random.default_rng(0).normal(size=(4, 37, 3))
    whole, _ = pool_features(spec, states, None)
    np.testing.assert_allclose(whole, _pools_by_loop(states, spec.pools), rtol=1e-12)
    first, carry = pool_features(spec, states[:, :10], None)
    second, _ = pool_features(spec, states[:, 10:], carry)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-12)
    assert whole.shape[2] == spec.cell_features and spec.readout_rows == spec.cell_features + 1


def test_pooled_specs_are_checked_and_spelled_one_way():
    assert LSTMSpec(cells=2, feedback=False, readout_pool="max+last").readout_pool == "last+max"
    with pytest.raises(ValueError, match="without feedback"):
        LSTMSpec(cells=2, feedback=True, readout_pool="mean")
    with pytest.raises(ValueError, match="readout_pool must join"):
        LSTMSpec(cells=2, feedback=False, readout_pool="median")
    spec = LSTMSpec(cells=2, feedback=False, readout_pool="mean")
    assert LSTMSpec.from_json(spec.to_json()) == spec


def _sequences(count, steps, rng):
    pairs = []
    for k in range(count):
        label = k % 2
        u = rng.normal(0.4 if label else -0.4, 1.0, (steps, 1))
        y = np.full((steps, 2), np.nan)
        y[-1] = (0.0, 1.0) if label else (1.0, 0.0)
        pairs.append(SequencePair(y, u))
    return pairs


@pytest.mark.parametrize("kernel", ["numpy", "compiled"])
def test_a_pooled_readout_is_fitted_and_scored_on_the_pools_at_the_labelled_steps(kernel):
    rng = np.random.default_rng(1)
    steps = STREAM_STEPS + 40  # longer than a segment: the pools carry across it
    task = evolino.Task("drift", train=_sequences(12, steps, rng), validation=_sequences(6, steps, rng), metric="mse")
    spec = LSTMSpec(n_inputs=1, cells=3, n_outputs=2, feedback=False, readout_pool="last+mean+max")
    genomes = rng.normal(0, 0.5, (3, spec.dimension))
    config = ReadoutConfig(rcond=1e-12, ridge=1e-3)
    errors, _ = validation_scores(genomes, spec, task, config, kernel=kernel)
    # the reference: states by the numpy kernel in one piece, pools by a loop, least squares with the ridge on the
    # cell rows only, the error at the labels
    weights = unpack(spec, genomes)

    def features(pair):
        states, _ = teacher_forced(spec, weights, pair.steps, inputs=pair.inputs)
        return _pools_by_loop(states, spec.pools)[:, -1]  # (n, cell_features) at the label

    x = np.stack([features(p) for p in task.train], axis=1)  # (n, sequences, F)
    y = np.stack([p.targets[-1] for p in task.train])
    for g in range(3):
        design = np.concatenate([x[g], np.ones((len(y), 1))], axis=1)
        penalty = np.diag([1e-3] * spec.cell_features + [0.0])
        w = np.linalg.solve(design.T @ design + penalty, design.T @ y)
        v = np.stack([features(p)[g] for p in task.validation])
        outputs = np.concatenate([v, np.ones((len(v), 1))], axis=1) @ w
        expected = np.mean((outputs - np.stack([p.targets[-1] for p in task.validation])) ** 2)
        assert errors[g] == pytest.approx(expected, rel=1e-8)


def test_a_pooled_genome_scores_the_same_in_any_batch():
    rng = np.random.default_rng(2)
    task = evolino.Task("drift", train=_sequences(10, 30, rng), validation=_sequences(6, 30, rng), metric="mse")
    spec = LSTMSpec(n_inputs=1, cells=2, n_outputs=2, feedback=False, readout_pool="mean")
    genomes = rng.normal(0, 0.5, (5, spec.dimension))
    config = ReadoutConfig(rcond=1e-12, ridge="auto")
    together = validation_scores(genomes, spec, task, config, kernel="compiled")[0]
    alone = np.array([validation_scores(genomes[i : i + 1], spec, task, config, kernel="compiled")[0][0]
                      for i in range(5)])
    np.testing.assert_array_equal(together, alone)
    line = line_of(spec, [task.validation[0]])
    (outputs,), _ = ForwardPasses(spec, genomes, "compiled").teacher_outputs(
        line, 0, line.steps, None, [np.zeros((5, spec.readout_rows, 2))])
    assert outputs.shape == (5, 30, 2)
