"""Filled steps (SequencePair.filled): gaps interpolated in the data are fed back like the series' own values, but
never a target of the readout's fit, never scored (fitness, final test, trivial models) and not part of the
standardisation. The tests change only the filled values and check that nothing that must ignore them moves."""

import json

import numpy as np
import pytest

from evolino.baselines.trivial import trivial_baselines
from evolino.evaluation import test_error as final_test
from evolino.fitness import evaluate_genomes
from evolino.metrics import score
from evolino.network import LSTMSpec
from evolino.readout import ReadoutConfig
from evolino.tasks import SequencePair, Task


def _marks(steps: int, where) -> np.ndarray:
    marks = np.zeros(steps, dtype=bool)
    marks[list(where)] = True
    return marks


def test_a_filled_step_keeps_its_value_but_is_not_scored():
    y = np.arange(10.0)
    pair = SequencePair(y, filled=_marks(10, [3, 4]))
    assert pair.mask is None and np.array_equal(pair.targets[:, 0], y)  # the value stays: it is fed back
    assert pair.scored.tolist() == [not 3 <= t <= 4 for t in range(10)]
    assert "2 filled" in repr(pair)
    assert SequencePair(y, filled=np.zeros(10, dtype=bool)).filled is None
    gappy = y.copy()
    gappy[5] = np.nan
    both = SequencePair(gappy, filled=_marks(10, [2]))
    assert both.scored.sum() == 8 and not both.scored[5] and not both.scored[2]
    with pytest.raises(ValueError, match="has no value"):
        SequencePair(gappy, filled=_marks(10, [5]))
    with pytest.raises(ValueError, match="bool array of shape"):
        SequencePair(y, filled=np.zeros(9, dtype=bool))


def _series_task(filled_values: float | None = None) -> Task:
    """A generative task (a sine) with filled steps in every part; ``filled_values`` overwrites their values."""
    y = np.sin(0.3 * np.arange(200)) + 0.1 * np.cos(1.7 * np.arange(200))
    marks = _marks(200, [20, 21, 22, 130, 151, 152, 175, 176, 190])
    if filled_values is not None:
        y = np.where(marks, filled_values, y)
    cuts = ((0, 140), (140, 170), (170, 200))
    train, validation, test = (SequencePair(y[a:b], filled=marks[a:b]) for a, b in cuts)
    return Task("filled", train=train, validation=validation, test=test, washout=10, generative=True,
                validation_windows=3, free_run_steps=30)


def test_joins_cuts_standardisation_and_storage_keep_the_marks_aligned(tmp_path):
    task = _series_task()
    marks = np.concatenate([p.filled for p in (*task.train, *task.validation, *task.test)])
    (seen,) = task.seen_before_test()
    assert np.array_equal(seen.filled, marks[:170])
    held = task.holdout_split(0.25)
    assert np.array_equal(np.concatenate([held.train[0].filled, held.validation[0].filled]), marks[:140])
    scaled = task.standardized()
    assert np.array_equal(scaled.test[0].filled, marks[170:])
    loaded = Task.load(scaled.save(tmp_path / "task.npz"))
    assert all(np.array_equal(a.filled, b.filled) for a, b in zip(
        (*scaled.train, *scaled.validation, *scaled.test), (*loaded.train, *loaded.validation, *loaded.test),
        strict=True))
    with np.load(tmp_path / "task.npz") as data:
        assert json.loads(str(data["meta"]))["format_version"] == 2  # older readers refuse it instead of scoring
    plain = Task("plain", train=np.sin(np.arange(60.0)), validation=np.sin(np.arange(60.0, 80.0)), washout=5)
    with np.load(plain.save(tmp_path / "plain.npz")) as data:
        assert json.loads(str(data["meta"]))["format_version"] == 1  # as before: readable by older evolino
    assert Task.load(tmp_path / "plain.npz").train[0].filled is None


def test_the_standardisation_ignores_filled_values():
    task, other = _series_task(), _series_task(filled_values=40.0)
    assert task.standardized().scaler == other.standardized().scaler
    measured = task.train[0].targets[task.train[0].scored]
    np.testing.assert_allclose(task.standardized().scaler.target_mean, measured.mean(axis=0))


def _mapping_task(filled_values: float | None = None, mark: bool = True) -> Task:
    """A continued supervised task (targets from inputs, no feedback) with filled targets in every part."""
    rng = np.random.default_rng(3)
    u = rng.normal(size=(240, 2))
    y = np.tanh(u[:, 0] - 0.5 * np.roll(u[:, 1], 1)) + 0.05 * rng.normal(size=240)
    marks = _marks(240, [15, 16, 60, 61, 62, 170, 171, 215, 216, 230])
    if filled_values is not None:
        y = np.where(marks, filled_values, y)
    parts = [SequencePair(y[a:b], u[a:b], filled=marks[a:b] if mark else None)
             for a, b in ((0, 160), (160, 200), (200, 240))]
    return Task("map", train=parts[0], validation=parts[1], test=parts[2], washout=5, continued=True)


def test_filled_targets_are_neither_fitted_nor_scored():
    task, changed = _mapping_task(), _mapping_task(filled_values=25.0)
    spec = LSTMSpec(n_inputs=2, cells=3, n_outputs=1, feedback=False)
    genomes = np.random.default_rng(0).normal(0, 0.5, (4, spec.dimension))
    readout = ReadoutConfig(ridge=1e-6)
    np.testing.assert_array_equal(evaluate_genomes(genomes, spec, task, readout),
                                  evaluate_genomes(genomes, spec, changed, readout))
    first, second = final_test(spec, genomes, task, readout), final_test(spec, genomes, changed, readout)
    np.testing.assert_array_equal(first.readout, second.readout)  # the same fit: filled steps are no targets of it
    np.testing.assert_array_equal(first.errors, second.errors)
    assert not first.masks[0][[15, 16, 30]].any()  # test steps 215, 216, 230
    baselines, moved = trivial_baselines(task).errors, trivial_baselines(changed).errors
    assert baselines == moved
    # the same change scored as measured values moves every one of these numbers: the checks above can fail
    unmarked, unmarked_changed = _mapping_task(mark=False), _mapping_task(filled_values=25.0, mark=False)
    assert not np.allclose(final_test(spec, genomes, unmarked, readout).errors,
                           final_test(spec, genomes, unmarked_changed, readout).errors)
    assert trivial_baselines(unmarked).errors["mean"] != trivial_baselines(unmarked_changed).errors["mean"]


def test_a_forecast_is_scored_on_the_measured_test_steps_only():
    task, changed = _series_task(), _series_task(filled_values=3.0)
    spec = LSTMSpec(n_inputs=0, cells=3, n_outputs=1, feedback=True, readout_lags=2)
    genomes = np.random.default_rng(1).normal(0, 0.3, (3, spec.dimension))
    readout = ReadoutConfig(ridge=1e-4)
    # filled steps before the test are fed back (the readout changes), so only the test part's are changed here
    changed = Task("filled", train=task.train, validation=task.validation, test=changed.test, washout=10,
                   generative=True, validation_windows=3, free_run_steps=30)
    first, second = final_test(spec, genomes, task, readout), final_test(spec, genomes, changed, readout)
    np.testing.assert_array_equal(first.errors, second.errors)  # the free run never reads the test values
    scored = task.test[0].scored
    assert not scored[[5, 6, 20]].any()
    for outcome, current in ((first, task), (second, changed)):
        mask = outcome.masks[0]
        assert np.array_equal(mask, scored)
        expected = score("nrmse", current.test[0].targets, outcome.one_step[0], scored)
        np.testing.assert_allclose(outcome.one_step_errors, expected, rtol=1e-12)
    baselines, moved = trivial_baselines(task).errors, trivial_baselines(changed).errors
    for name in ("ar", "persistence", "mean"):
        assert baselines[name]["test_error"] == moved[name]["test_error"], name
