"""The fitness protocols of the task model against hand-built references on the plain reference LSTM: targets at
chosen steps, continued validation, free-run windows with the divergence check, the readout's view of past steps."""

import dataclasses

import numpy as np
import pytest

import evolino
from evolino import evaluation, fitness
from evolino.network import LSTMSpec
from evolino.readout import ReadoutConfig
from evolino.tasks import SequencePair, Task
from tests import reference_lstm as ref


def _labelled(rng, n, steps=12):
    """Sequences whose one-hot class (the sign of the input sum) is the target at the last step only."""
    pairs = []
    for _ in range(n):
        u = rng.normal(size=(steps, 1))
        y = np.full((steps, 2), np.nan)
        y[-1] = (1.0, 0.0) if u.sum() > 0 else (0.0, 1.0)
        pairs.append(SequencePair(y, u))
    return pairs


def test_targets_only_at_the_last_step_fit_exactly_those_rows():
    rng = np.random.default_rng(0)
    train, validation = _labelled(rng, 30), _labelled(rng, 10)
    task = Task("last", train=train, validation=validation, metric="mse")
    spec = LSTMSpec(n_inputs=1, cells=3, n_outputs=2, feedback=False)
    genomes = rng.normal(0, 0.5, (2, spec.dimension))
    config = ReadoutConfig(rcond=1e-12)
    errors = fitness.evaluate_genomes(genomes, spec, task, config, kernel="numpy")
    compiled = fitness.evaluate_genomes(genomes, spec, task, config, kernel="compiled")
    np.testing.assert_allclose(compiled, errors, rtol=1e-9)
    for k, genome in enumerate(genomes):
        last = np.array([np.append(ref.run(spec, genome, p.steps, inputs=p.inputs)[0][-1], 1.0) for p in train])
        readout = np.linalg.lstsq(last, np.array([p.targets[-1] for p in train]), rcond=None)[0]  # 30 rows, no more
        val_last = np.array([np.append(ref.run(spec, genome, p.steps, inputs=p.inputs)[0][-1], 1.0)
                             for p in validation])
        expected = np.mean((val_last @ readout - np.array([p.targets[-1] for p in validation])) ** 2)
        assert errors[k] == pytest.approx(expected, rel=1e-8)
        passes = fitness.ForwardPasses(spec, genomes[k : k + 1], "numpy")
        (weights,), _, _ = passes.fit([fitness.line_of(spec, [p]) for p in train], [p.steps for p in train], 0,
                                      config)
        np.testing.assert_allclose(weights[0], readout, rtol=1e-8, atol=1e-10)


def test_a_run_on_labelled_sequences_reports_accuracy_and_the_trivial_classifiers():
    rng = np.random.default_rng(1)
    pairs = _labelled(rng, 120)
    task = Task("last", train=pairs[:80], validation=pairs[80:100], test=pairs[100:], metric="mse")
    result = evolino.Evolino(cells=3, population=8, generations=3, seed=0).fit(task).result_
    assert set(result.test_scores) == {"error_rate", "accuracy", "mse", "balanced_accuracy"}  # one-hot classes
    assert result.test_scores["accuracy"] == pytest.approx(1 - result.test_scores["error_rate"])
    assert 0 <= result.test_scores["balanced_accuracy"] <= 1
    assert result.test_scores["mse"] == pytest.approx(result.test_error)
    assert {"mean", "linear"} <= set(result.baselines)
    assert not result.model.spec.feedback  # targets with gaps are never fed back
    with pytest.raises(ValueError, match="cannot be fed back"):
        evolino.Evolino(feedback=True).build_problem(task)


def test_continued_validation_starts_where_the_training_data_ended():
    rng = np.random.default_rng(2)
    u = rng.normal(size=(90, 1))
    y = np.tanh(np.convolve(u[:, 0], [0.5, 0.3, 0.2])[:90])[:, None]
    task = Task("series", train=(y[:60], u[:60]), validation=(y[60:], u[60:]), washout=5, continued=True)
    spec = LSTMSpec(n_inputs=1, cells=3, feedback=False)
    genome = rng.normal(0, 0.5, spec.dimension)
    error = fitness.evaluate_genomes(genome[None], spec, task, ReadoutConfig(rcond=1e-12), kernel="numpy")[0]
    states, _, _ = ref.run(spec, genome, 90, inputs=u)  # one run: the validation part carries the state on
    design = np.hstack([states, np.ones((90, 1))])
    readout = np.linalg.lstsq(design[5:60], y[5:60], rcond=None)[0]
    prediction = design[60:] @ readout  # every validation step is scored: no second washout
    assert error == pytest.approx(np.sqrt(np.mean((prediction - y[60:]) ** 2) / np.var(y[60:])), rel=1e-8)


def test_generative_validation_pools_free_runs_from_windows_across_the_validation_part():
    t = np.arange(120)
    signal = np.sin(0.3 * t) + 0.5 * np.sin(0.11 * t)
    task = Task("windows", train=signal[:80], validation=signal[80:110], test=signal[110:], washout=10,
                generative=True, validation_windows=3, free_run_steps=12, stability_steps=0)
    assert task.validation_starts(30) == [0, 10, 20]
    spec = LSTMSpec(cells=3, feedback_scale=0.1)
    genome = np.random.default_rng(3).normal(0, 0.5, spec.dimension)
    error = fitness.evaluate_genomes(genome[None], spec, task, ReadoutConfig(rcond=1e-12), kernel="numpy")[0]
    y = signal[:, None]
    feedback = np.vstack([[0.0], y[:-1]])
    states, _, _ = ref.run(spec, genome, 80, feedback=feedback)
    readout = np.linalg.lstsq(np.hstack([states[10:], np.ones((70, 1))]), y[10:80], rcond=None)[0]
    targets, outputs = [], []
    for start in (80, 90, 100):
        _, h, c = ref.run(spec, genome, start, feedback=feedback)  # teacher-forced up to the window
        run = ref.free_run(spec, genome, h, c, y[start - 1], readout, 12)
        inside = min(12, 110 - start)  # the last window runs past the validation data: its tail is not scored
        targets.append(y[start : start + inside])
        outputs.append(run[:inside])
    targets, outputs = np.concatenate(targets), np.concatenate(outputs)
    expected = np.sqrt(np.mean((outputs - targets) ** 2) / np.var(targets))
    assert error == pytest.approx(expected, rel=1e-8)


def _growing_task(stability_steps):
    y = 1.05 ** np.arange(100.0)  # an exactly exponential series: the fitted AR(1) readout grows without bound
    return Task("growth", train=y[:60], validation=y[60:80], test=y[80:], washout=5, generative=True,
                stability_steps=stability_steps)


def test_a_free_run_that_diverges_after_the_validation_data_scores_inf():
    spec = LSTMSpec(cells=2, feedback_scale=1e-4, readout_lags=1)
    genome = np.random.default_rng(4).normal(0, 0.1, (1, spec.dimension))
    config = ReadoutConfig(rcond=1e-12)
    unchecked = fitness.evaluate_genomes(genome, spec, _growing_task(0), config)
    assert np.isfinite(unchecked).all() and unchecked[0] < 1e-3  # the validation part itself is predicted well
    checked = fitness.evaluate_genomes(genome, spec, _growing_task(100), config)
    assert checked[0] == np.inf  # 1.05^180 > 10 x max|training target| = 10 x 1.05^59


def test_final_ridge_walks_up_the_grid_until_the_forecast_stays_bounded(monkeypatch):
    tried = []

    def bounded(passes, task, lines, stops, readout):
        tried.append(readout.ridge)
        return readout.ridge >= 1.0

    monkeypatch.setattr(evaluation, "_forecast_bounded", bounded)
    task = _growing_task(10)
    spec = LSTMSpec(cells=2, readout_lags=1)
    genome = np.zeros(spec.dimension)
    config = ReadoutConfig(ridge="validation", ridge_grid=(0.0, 0.01, 1.0, 100.0))
    final = evaluation.final_ridge(spec, genome, task, config, validation_choice=1)
    assert tried == [0.01, 1.0] and final == evaluation.FinalRidge(1.0, raised=True, bounded=True)
    fixed = evaluation.final_ridge(spec, genome, task, ReadoutConfig(ridge=0.0))
    assert fixed == evaluation.FinalRidge(0.0, raised=False, bounded=False)  # a fixed ridge is kept, and flagged


@pytest.mark.parametrize("n_inputs", [0, 1])
def test_the_readout_sees_past_sources_the_same_way_in_every_pass(n_inputs):
    """Teacher-forced design rows, the least-squares fit and closed-loop generation with readout_lags = 3, against
    the reference loop, in both kernels."""
    rng = np.random.default_rng(5)
    spec = LSTMSpec(n_inputs=n_inputs, cells=3, feedback_scale=0.2, readout_lags=3)
    genome = rng.normal(0, 0.5, spec.dimension)
    steps = 70
    u = rng.normal(size=(steps, n_inputs)) if n_inputs else None
    y = np.sin(0.25 * np.arange(steps))[:, None] + 0.1 * rng.normal(size=(steps, 1))
    feedback = np.vstack([[0.0], y[:-1]])
    states, h, c = ref.run(spec, genome, 50, inputs=u, feedback=feedback)
    sources = np.hstack([u, feedback]) if n_inputs else feedback
    lagged = [np.vstack([np.zeros((k, sources.shape[1])), sources[: 50 - k]]) for k in range(3)]
    design = np.hstack([states, *lagged, np.ones((50, 1))])
    readout = np.linalg.lstsq(design[8:], y[8:50], rcond=None)[0]
    expected = ref.free_run(spec, genome, h, c, y[49], readout, 20, inputs=None if u is None else u[50:],
                            past_sources=list(sources[48:50]))
    pair = SequencePair(y, u)
    for kernel in ("numpy", "compiled", "compiled-scalar"):
        passes = fitness.ForwardPasses(spec, genome[None], kernel)
        line = fitness.line_of(spec, [pair])
        (weights,), (state,), _ = passes.fit([line], [50], 8, ReadoutConfig(rcond=1e-12))
        np.testing.assert_allclose(weights[0], readout, rtol=1e-7, atol=1e-9)
        generated = passes.free_run(line, 50, 20, state, readout[None])
        np.testing.assert_allclose(generated[0], expected, rtol=1e-9, atol=1e-11)


def test_the_workers_problem_carries_no_test_data():
    task = evolino.make_task("mso2")
    problem = evolino.Evolino().build_problem(task)
    assert problem.task.test == () and task.test
    assert problem.task.train[0] is task.train[0]


def test_saved_tasks_read_back_identically(tmp_path):
    rng = np.random.default_rng(6)
    pairs = _labelled(rng, 6)
    task = Task("saved", train=pairs[:4], validation=pairs[4:5], test=pairs[5:], metric="error_rate",
                info={"kind": "test"}, input_names=["u"], target_names=["a", "b"]).standardized(scale_targets=False)
    loaded = Task.load(task.save(tmp_path / "task.npz"))
    for split in ("train", "validation", "test"):
        for a, b in zip(getattr(task, split), getattr(loaded, split), strict=True):
            np.testing.assert_array_equal(a.targets, b.targets)
            np.testing.assert_array_equal(a.inputs, b.inputs)
            np.testing.assert_array_equal(a.scored, b.scored)
    assert loaded.describe() == task.describe() and loaded.scaler == task.scaler
    with pytest.raises(ValueError, match="callable metric"):
        dataclasses.replace(task, metric=lambda t, o, m: np.zeros(o.shape[0])).save(tmp_path / "x.npz")
