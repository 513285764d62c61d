"""The neural history compressor (evolino.baselines.history_compressor) and its tasks (evolino.tasks.chunking)."""

from __future__ import annotations

import numpy as np
import pytest

from evolino.baselines.history_compressor import (
    DirectRNN,
    HistoryCompressor,
    compress,
    next_symbol_probabilities,
    predictor_loss_and_gradient,
    unexpected_steps,
)
from evolino.baselines.rnn import RNNSpec
from evolino.errors import NotFittedError
from evolino.tasks.chunking import ChunkingTask, make_chunking_task, one_hot


def test_tasks_are_the_published_sequences():
    task = make_chunking_task("chunking-20")
    assert (task.steps, task.n_symbols, task.n_classes) == (21, 22, 2)
    symbols, targets = task.sample(np.random.default_rng(0), 50)
    assert symbols.shape == (50, 21) and set(targets) == {0, 1}
    assert (symbols[:, 0] == targets).all() and (symbols[:, 1:] == np.arange(2, 22)).all()
    recall = make_chunking_task("recall-1000")
    assert (recall.steps, recall.n_symbols) == (1001, 7)
    assert list(recall.filler()[:7]) == [2, 3, 4, 5, 6, 2, 3]


def test_compression_of_a_perfectly_predicted_filler():
    # "x b1 b2 b3": a predictor that predicts every b with certainty leaves the first symbol, at time 0, alone
    symbols = np.array([1, 2, 3, 4])
    probabilities = np.array([np.nan, 1.0, 1.0, 1.0])
    unexpected = unexpected_steps(probabilities, 0.5)
    assert unexpected.tolist() == [True, False, False, False]
    inputs, length = compress(symbols, unexpected, 5, time_scale=3.0)
    assert length == 1
    np.testing.assert_array_equal(inputs, [[0, 1, 0, 0, 0, 0.0]])
    # a missed b2 (probability 0.2 < 0.5) is passed up too, with its time code 2 / 3
    unexpected = unexpected_steps(np.array([np.nan, 1.0, 0.2, 0.9]), 0.5)
    inputs, length = compress(symbols, unexpected, 5, time_scale=3.0)
    assert length == 2
    np.testing.assert_allclose(inputs, [[0, 1, 0, 0, 0, 0.0], [0, 0, 0, 1, 0, 2 / 3]])
    # batched: padded with zero rows after each sequence's own steps
    batch = np.array([[0, 2, 3, 4], [1, 2, 3, 4]])
    mask = np.array([[True, False, False, False], [True, True, False, True]])
    inputs, lengths = compress(batch, mask, 5, time_scale=3.0)
    assert inputs.shape == (2, 3, 6) and lengths.tolist() == [1, 3]
    np.testing.assert_array_equal(inputs[0, 1:], 0.0)
    np.testing.assert_allclose(inputs[1, :, 5], [0.0, 1 / 3, 1.0])


def test_predictor_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    spec = RNNSpec(4, 3, 4, "tanh")
    params = rng.normal(0.0, 0.5, spec.dimension)
    symbols = rng.integers(0, 4, (3, 6))
    loss, grad = predictor_loss_and_gradient(params, symbols, spec)
    eps, numeric = 1e-6, np.empty(spec.dimension)
    for i in range(spec.dimension):
        step = np.zeros(spec.dimension)
        step[i] = eps
        numeric[i] = (predictor_loss_and_gradient(params + step, symbols, spec)[0]
                      - predictor_loss_and_gradient(params - step, symbols, spec)[0]) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)
    # the loss is the mean cross-entropy of the next symbols
    p = next_symbol_probabilities(params, symbols, spec)
    assert loss == pytest.approx(-np.mean(np.log(p[:, 1:])))


def test_compressor_solves_a_short_lag_and_compresses_to_one_step():
    task = make_chunking_task("chunking-5")
    model = HistoryCompressor(random_state=1, max_sequences=3000).fit(task)
    result = model.result_
    assert result.solved and result.sequences_to_success <= 3000 and result.test_accuracy == 1.0
    assert result.test_compressed_steps == 1.0
    symbols, targets = task.sample(np.random.default_rng(7), 20)
    np.testing.assert_array_equal(model.predict(symbols), targets)
    inputs, length = model.compressed(symbols[0])
    assert length == 1 and inputs[0, symbols[0, 0]] == 1.0


def test_same_seed_same_run():
    task = ChunkingTask("chunking-4", lag=4)
    runs = [HistoryCompressor(random_state=5, max_sequences=200).fit(task) for _ in range(2)]
    assert runs[0].result_.train_accuracy == runs[1].result_.train_accuracy
    np.testing.assert_array_equal(runs[0].params_, runs[1].params_)
    np.testing.assert_array_equal(runs[0].predictor_params_, runs[1].predictor_params_)
    direct = [DirectRNN(random_state=np.random.default_rng(2), max_sequences=200).fit(task) for _ in range(2)]
    np.testing.assert_array_equal(direct[0].params_, direct[1].params_)


@pytest.mark.parametrize("kwargs", [{"threshold": 0.0}, {"threshold": 1.5}, {"units": 0}, {"predictor_units": 2.5},
                                    {"batch_size": 0}, {"max_sequences": -1}, {"learning_rate": 0.0},
                                    {"window": True}, {"time_scale": -1.0}, {"activation": "relu"},
                                    {"random_state": "seed"}])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        HistoryCompressor(**kwargs).fit(make_chunking_task("chunking-3"))


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        make_chunking_task("chunking-0")
    with pytest.raises(ValueError):
        make_chunking_task("adding-20")
    with pytest.raises(ValueError):
        ChunkingTask("bad", lag=5, period=0)
    with pytest.raises(ValueError):
        DirectRNN(spectral_radius=-1.0).fit(make_chunking_task("chunking-3"))
    with pytest.raises(ValueError):
        HistoryCompressor().fit("chunking-20")
    with pytest.raises(ValueError):
        unexpected_steps(np.ones(3), 0.0)
    with pytest.raises(ValueError):  # the first input must be unexpected
        compress(np.array([0, 2]), np.array([False, True]), 3, 1.0)
    with pytest.raises(ValueError):
        one_hot(np.array([0, 3]), 3)
    with pytest.raises(NotFittedError):
        HistoryCompressor().predict(np.array([0, 2, 3]))
