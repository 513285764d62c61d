"""Fitness: genomes in, errors out. The pure function that every evaluation backend calls.

For each genome: run the LSTM teacher-forced over the training sequences, compute the output weights by least squares
on the states after the washout, then score the network with those weights:

* generative tasks: closed-loop generation of each validation window, starting from the teacher-forced state;
* supervised tasks: prediction of the validation sequences (or of the training sequences when there are none).

Lower is better. NaN and infinite errors become +inf, so overflow never crashes a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from evolino.network import LSTMSpec, LSTMState, LSTMWeights, closed_loop, teacher_forced, unpack
from evolino.readout import ReadoutConfig, ReadoutStats, design_matrix
from evolino.tasks.base import SequencePair, Task

__all__ = ["EvolinoProblem", "score", "previous_targets", "fit_readout_on", "evaluate_genomes", "test_error"]


def score(metric: str, targets: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Error of every genome's outputs.

    targets : (T, m); outputs : (n, T, m) -> (n,), averaged over outputs; non-finite errors become +inf.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        mse = np.mean((outputs - targets[None]) ** 2, axis=1)  # (n, m)
        if metric == "mse":
            per_output = mse
        elif metric == "rmse":
            per_output = np.sqrt(mse)
        elif metric == "nrmse":
            variance = np.var(targets, axis=0)
            per_output = np.sqrt(mse / np.where(variance > 0, variance, 1.0))
        else:
            raise ValueError(f"unknown metric {metric!r}")
        errors = per_output.mean(axis=1)
    return np.where(np.isfinite(errors), errors, np.inf)


def previous_targets(targets: np.ndarray, before: np.ndarray | None = None) -> np.ndarray:
    """The teacher-forced feedback y(t-1): targets shifted one step, starting with ``before`` (zeros by default).

    targets : (T, m); before : (m,) or None -> (T, m)
    """
    first = np.zeros((1, targets.shape[1])) if before is None else np.asarray(before, dtype=np.float64)[None]
    return np.concatenate([first, targets[:-1]], axis=0)


def _run(spec: LSTMSpec, weights: LSTMWeights, pair: SequencePair, state=None, before=None):
    feedback = previous_targets(pair.targets, before) if spec.feedback else None
    return teacher_forced(spec, weights, pair.steps, inputs=pair.inputs, feedback=feedback, state=state)


def _joined(pairs: Sequence[SequencePair]) -> SequencePair:
    inputs = None if pairs[0].inputs is None else np.concatenate([p.inputs for p in pairs])
    return SequencePair(np.concatenate([p.targets for p in pairs]), inputs)


def fit_readout_on(
    spec: LSTMSpec,
    weights: LSTMWeights,
    sequences: Sequence[SequencePair],
    washout: int,
    config: ReadoutConfig,
) -> tuple[np.ndarray, list[LSTMState]]:
    """Teacher-force every sequence from a zero state and solve the readout over all of them.

    Returns
    -------
    readout : (n, cells + 1, m)
    final_states : list of LSTMState, one per sequence
    """
    n = weights.bias.shape[0]
    stats = ReadoutStats(n, spec.cells + 1, spec.n_outputs)
    finals = []
    for pair in sequences:
        states, final = _run(spec, weights, pair)
        stats.add(design_matrix(states[:, washout:], config.bias), pair.targets[washout:])
        finals.append(final)
    return stats.solve(config), finals


def _predict(spec: LSTMSpec, weights: LSTMWeights, readout: np.ndarray, pair: SequencePair) -> np.ndarray:
    states, _ = _run(spec, weights, pair)
    # The bias row is zero when the readout has no bias, so a ones column is always right here.
    return np.matmul(design_matrix(states, bias=True), readout)


def _windows_error(metric, spec, weights, readout, finals, history, windows) -> np.ndarray:
    """Mean closed-loop error over windows, each continuing the teacher-forced history with the same index."""
    errors = np.zeros(weights.bias.shape[0])
    for final, before, window in zip(finals, history, windows, strict=True):
        outputs = closed_loop(spec, weights, readout, final, before.targets[-1], window.steps, inputs=window.inputs)
        errors += score(metric, window.targets, outputs)
    return errors / len(windows)


def evaluate_genomes(genomes: np.ndarray, spec: LSTMSpec, task: Task, readout: ReadoutConfig) -> np.ndarray:
    """Fitness of a population: genomes (n, d) -> errors (n,), lower is better, never NaN.

    Uses only the task's train and validation sequences.
    """
    genomes = np.asarray(genomes, dtype=np.float64)
    weights = unpack(spec, genomes)
    out, finals = fit_readout_on(spec, weights, task.train, task.washout, readout)
    if task.generative:
        errors = _windows_error(task.metric, spec, weights, out, finals, task.train, task.validation)
    else:
        scored = task.validation or task.train
        errors = np.mean([score(task.metric, p.targets, _predict(spec, weights, out, p)) for p in scored], axis=0)
    bad = ~np.isfinite(genomes).all(axis=1) | ~np.isfinite(errors)
    return np.where(bad, np.inf, errors)


def final_readout(spec: LSTMSpec, genomes: np.ndarray, task: Task, readout: ReadoutConfig):
    """Refit the readout on everything evolution was allowed to see (train and validation).

    Returns (weights, readout (n, cells + 1, m), final states, teacher-forced sequences) for :func:`test_error`.
    """
    weights = unpack(spec, genomes)
    if task.generative:
        seen = [_joined([tr, va]) for tr, va in zip(task.train, task.validation, strict=True)]
    else:
        seen = [*task.train, *task.validation]
    out, finals = fit_readout_on(spec, weights, seen, task.washout, readout)
    return weights, out, finals, seen


def test_error(spec: LSTMSpec, genomes: np.ndarray, task: Task, readout: ReadoutConfig):
    """Error on the test sequences after refitting the readout on train + validation.

    Returns
    -------
    errors : (n,)
        +inf for a genome that fails; NaN if the task has no test sequences.
    readout : (n, cells + 1, m)
    outputs : list of (n, T, m) arrays, the network's outputs on each test sequence
    """
    weights, out, finals, seen = final_readout(spec, genomes, task, readout)
    n = weights.bias.shape[0]
    if not task.test:
        return np.full(n, np.nan), out, []
    outputs, errors = [], np.zeros(n)
    for i, window in enumerate(task.test):
        if task.generative:
            y = closed_loop(spec, weights, out, finals[i], seen[i].targets[-1], window.steps, inputs=window.inputs)
        else:
            y = _predict(spec, weights, out, window)
        outputs.append(y)
        errors += score(task.metric, window.targets, y)
    errors /= len(task.test)
    return np.where(np.isfinite(errors), errors, np.inf), out, outputs


@dataclass(frozen=True)
class EvolinoProblem:
    """Everything a worker needs to score genomes: the network variant, the task and the readout.

    Picklable and immutable, so a Ray actor can hold one copy and call :meth:`evaluate` on chunks.
    """

    spec: LSTMSpec
    task: Task
    readout: ReadoutConfig = field(default_factory=ReadoutConfig)

    @property
    def dimension(self) -> int:
        return self.spec.dimension

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        """genomes (n, d) -> errors (n,)."""
        return evaluate_genomes(genomes, self.spec, self.task, self.readout)
