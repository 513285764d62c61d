"""Test-time evaluation: the final readout of an evolved network and its errors on the test part, read once.

After evolution, the best genome's readout is refitted on everything evolution was allowed to see (training and
validation data) and scored on the test part with the task's metric, through the same forward passes and pooled
scores as the fitness (:mod:`evolino.fitness`). For generative tasks the test is the free run of each test
sequence from the end of the data before it, and the one-step (teacher-forced) prediction of it.

The ridge of the final readout (:func:`final_ridge`): a fixed strength is kept; ``"validation"`` keeps the strength
chosen on the validation part; ``"auto"`` takes generalized cross-validation's choice on the refit. The forecast the
test will score must then stay within the divergence bound (checked from the test part's length and inputs, never its
targets), or the next stronger strength of the grid is taken.

Runs once per fit, on the numpy reference kernel by default: the arithmetic of :class:`evolino.model.EvolinoModel`,
whose ``generate`` then reproduces the reported test outputs exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evolino.fitness import ForwardPasses, ScorePool, bounded, divergence_bound, line_of
from evolino.network import LSTMSpec
from evolino.readout import ReadoutConfig
from evolino.tasks.base import SequencePair, Task

__all__ = ["FinalRidge", "TestOutcome", "final_ridge", "test_error"]


@dataclass(frozen=True)
class FinalRidge:
    """The ridge strength of the final readout (refitted on train + validation) and how it was reached.

    ``raised``: the chosen strength's forecast diverged and a stronger one of the grid was taken; ``bounded``:
    the forecast of the final strength stays within the divergence bound.
    """

    ridge: float
    raised: bool = False
    bounded: bool = True


def final_ridge(spec: LSTMSpec, genome: np.ndarray, task: Task, readout: ReadoutConfig,
                validation_choice: int = 0, kernel: str | None = "numpy") -> FinalRidge:
    """The ridge strength for the final readout of one genome (d,).

    Fixed strengths are kept; ``"validation"`` keeps the strength chosen on validation; ``"auto"`` takes GCV's
    choice on the refit. For generative tasks the forecast that the test will score (free runs from the end of the
    data seen before the test, as long as the test part or ``task.stability_steps``) must then stay within the
    divergence bound; where it does not and the strength was chosen, the next stronger strength of the grid is
    tried. Only the test part's length and inputs are read, never its targets.
    """
    passes = ForwardPasses(spec, np.asarray(genome, dtype=np.float64)[None], kernel)
    seen = task.seen_before_test()
    lines = [line_of(spec, [s] if not task.test or task.test[i].inputs is None else
                     [s, SequencePair(np.full_like(task.test[i].targets, np.nan), task.test[i].inputs)])
             for i, s in enumerate(seen)] if task.continued else [line_of(spec, [s]) for s in seen]
    stops = [s.steps for s in seen]
    if readout.ridge == "validation":
        first = readout.candidates[int(validation_choice)]
    elif readout.ridge == "auto":
        first = readout.candidates[int(passes.fit(lines, stops, task.washout, readout)[2][0])]
    else:
        return FinalRidge(float(readout.ridge), bounded=_forecast_bounded(passes, task, lines, stops, readout))
    chosen = isinstance(readout.ridge, str)
    strengths = [first] + [r for r in sorted(readout.ridge_grid) if r > first] if chosen else [first]
    for ridge in strengths:
        config = ReadoutConfig(readout.rcond, ridge, readout.bias, readout.ridge_grid)
        if _forecast_bounded(passes, task, lines, stops, config):
            return FinalRidge(float(ridge), raised=ridge != first)
    return FinalRidge(float(strengths[-1]), raised=len(strengths) > 1, bounded=False)


def _forecast_bounded(passes: ForwardPasses, task: Task, lines, stops, readout: ReadoutConfig) -> bool:
    if not task.generative:
        return True
    (weights,), finals, _ = passes.fit(lines, stops, task.washout, readout)
    bound = divergence_bound(task)
    for i, (line, stop, state) in enumerate(zip(lines, stops, finals, strict=True)):
        test_steps = task.test[i].steps if task.test else 0
        steps = test_steps if task.n_inputs else max(test_steps, task.stability_length(task.validation[i].steps))
        if steps and not bounded(passes.free_run(line, stop, steps, state, weights), bound)[0]:
            return False
    return True


@dataclass
class TestOutcome:
    """The test of a population after the readout was refitted on train + validation.

    Attributes
    ----------
    errors : (n,)
        The task's metric on the test sequences (free runs for generative tasks); NaN without test data.
    readout : (n, readout_rows, m)
    ridge_choice : (n,) int
        Index of each genome's ridge strength in the readout's candidates (GCV's choice on the refit for "auto").
    outputs : list of (n, T_i, m)
        Outputs on each test sequence (free runs for generative tasks).
    masks : list of (T_i,) bool
        The scored steps of each test sequence.
    one_step : list of (n, T_i, m)
        Generative tasks: teacher-forced (one-step-ahead) outputs on each test sequence; empty otherwise.
    one_step_errors : (n,) or None
        The metric of ``one_step``.
    """

    errors: np.ndarray
    readout: np.ndarray
    ridge_choice: np.ndarray
    outputs: list[np.ndarray] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)
    one_step: list[np.ndarray] = field(default_factory=list)
    one_step_errors: np.ndarray | None = None


def test_error(spec: LSTMSpec, genomes: np.ndarray, task: Task, readout: ReadoutConfig,
               kernel: str | None = "numpy") -> TestOutcome:
    """Refit the readout on everything evolution was allowed to see (train and validation), then test.

    Runs once per fit, so it defaults to the numpy reference kernel: the same arithmetic as
    :class:`evolino.model.EvolinoModel`, whose ``generate`` then reproduces the reported test outputs exactly.
    ``readout`` must not be ``ridge="validation"`` (pass the strength chosen on validation instead).
    """
    genomes = np.asarray(genomes, dtype=np.float64)
    if readout.ridge == "validation":
        raise ValueError('test_error needs a fixed ridge or "auto", not "validation"')
    passes = ForwardPasses(spec, genomes, kernel)
    n, washout = genomes.shape[0], task.washout
    seen = task.seen_before_test()
    if task.continued:
        tests = task.test or [None] * len(seen)
        lines = [line_of(spec, [s] if te is None else [s, te]) for s, te in zip(seen, tests, strict=True)]
    else:
        lines = [line_of(spec, [s]) for s in seen]
    stops = [s.steps for s in seen]
    (weights,), finals, choice = passes.fit(lines, stops, washout, readout)
    outcome = TestOutcome(np.full(n, np.nan), weights, choice)
    if not task.test:
        return outcome
    main, one_step = ScorePool(1, n), ScorePool(1, n)
    if task.continued:
        for line, stop, state in zip(lines, stops, finals, strict=True):
            (teacher,), _ = passes.teacher_outputs(line, stop, line.steps, state, [weights])
            mask = line.scored[stop:]
            if task.generative:
                outputs = passes.free_run(line, stop, line.steps - stop, state, weights)
                one_step.add(line.targets[stop:], mask, [teacher])
                outcome.one_step.append(teacher)
            else:
                outputs = teacher
            main.add(line.targets[stop:], mask, [outputs])
            outcome.outputs.append(outputs)
            outcome.masks.append(mask)
    else:
        for pair in task.test:
            line = line_of(spec, [pair])
            (outputs,), _ = passes.teacher_outputs(line, 0, line.steps, None, [weights], washout)
            mask = line.scored_after(washout)
            main.add(line.targets, mask, [outputs])
            outcome.outputs.append(outputs)
            outcome.masks.append(mask)
    outcome.errors = main.scores(task)[0]
    if outcome.one_step:
        outcome.one_step_errors = one_step.scores(task)[0]
    return outcome
