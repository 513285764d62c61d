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

from evolino.fitness import ForwardPasses, ScorePool, bounded, line_of
from evolino.model import EvolinoModel
from evolino.network import LSTMSpec
from evolino.readout import ReadoutConfig
from evolino.tasks.base import SequencePair, Task

__all__ = ["FinalRidge", "TestOutcome", "final_ridge", "model_error", "readout_outcome", "test_error"]


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
    bound = task.divergence_bound
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
    seen = task.seen_before_test()
    lines, stops = _split_lines(spec, task, seen, task.test)
    (weights,), finals, choice = passes.fit(lines, stops, task.washout, readout)
    outcome = TestOutcome(np.full(genomes.shape[0], np.nan), weights, choice)
    if task.test:
        _score_after(passes, task, lines, stops, finals, task.test, weights, outcome)
    return outcome


def model_error(model: EvolinoModel, task: Task, split: str = "test") -> float:
    """The error of a fitted network, readout as it is, on the validation or test part of ``task``.

    Scored as :func:`test_error` scores: pooled over the sequences, in the task's original units, the washout steps
    of independent sequences left out; on a continued task the network is teacher-forced through everything before
    the part (train, and validation before the test), then generates it closed-loop (generative tasks) or
    predicts it teacher-forced. ``task`` is in the units the network was fitted in (a standardized task as such).
    For the task a network was fitted on, ``model_error(model, task)`` is the fit's test error.
    """
    if split not in ("validation", "test"):
        raise ValueError(f"split must be 'validation' or 'test', got {split!r}")
    parts = task.test if split == "test" else task.validation
    if not parts:
        raise ValueError(f"task {task.name!r} has no {split} part")
    if model.spec.n_inputs != task.n_inputs or model.spec.n_outputs != task.n_outputs:
        raise ValueError(f"the network has {model.spec.n_inputs} inputs and {model.spec.n_outputs} outputs, task "
                         f"{task.name!r} {task.n_inputs} and {task.n_outputs}")
    return float(readout_outcome(model.spec, model.genome[None], task, model.readout[None], split).errors[0])


def readout_outcome(spec: LSTMSpec, genomes: np.ndarray, task: Task, weights: np.ndarray, split: str = "test",
                    kernel: str | None = "numpy") -> TestOutcome:
    """The outputs and errors on the validation or test part of genomes (n, d) with readouts as they are (n, rows,
    m), no refit: scored as :func:`test_error` scores (see :func:`model_error`)."""
    parts = task.test if split == "test" else task.validation
    before = (task.seen_before_test() if split == "test" else task.train) if task.continued else []
    passes = ForwardPasses(spec, np.asarray(genomes, dtype=np.float64), kernel)
    lines, stops = _split_lines(spec, task, before, parts)
    finals = [passes.advance(line, 0, stop, None)[1] for line, stop in zip(lines, stops, strict=True)] \
        if task.continued else []
    outcome = TestOutcome(np.full(passes.n, np.nan), weights, np.zeros(passes.n, dtype=int))
    _score_after(passes, task, lines, stops, finals, parts, weights, outcome)
    return outcome


def _split_lines(spec: LSTMSpec, task: Task, before: list[SequencePair], after: list[SequencePair]):
    """The lines a readout is fitted (or a state driven) on, and where the scored part starts in each: a continued
    task's ``before[i]`` followed by ``after[i]``, else each sequence of ``before`` alone."""
    if task.continued:
        tails = after or [None] * len(before)
        lines = [line_of(spec, [b] if a is None else [b, a]) for b, a in zip(before, tails, strict=True)]
    else:
        lines = [line_of(spec, [b]) for b in before]
    return lines, [b.steps for b in before]


def _score_after(passes: ForwardPasses, task: Task, lines, stops, finals, parts: list[SequencePair],
                 weights: np.ndarray, outcome: TestOutcome) -> None:
    """Score ``parts`` with the readout ``weights`` (n, rows, m) into ``outcome``: after ``stops`` of the continued
    ``lines`` (from their states ``finals``), else each independent sequence from a zero state."""
    main, one_step = ScorePool(1, weights.shape[0]), ScorePool(1, weights.shape[0])
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
        for pair in parts:
            line = line_of(passes.spec, [pair])
            (outputs,), _ = passes.teacher_outputs(line, 0, line.steps, None, [weights], task.washout)
            mask = line.scored_after(task.washout)
            main.add(line.targets, mask, [outputs])
            outcome.outputs.append(outputs)
            outcome.masks.append(mask)
    outcome.errors = main.scores(task)[0]
    if outcome.one_step:
        outcome.one_step_errors = one_step.scores(task)[0]
