"""Fitness: genomes in, errors out. The pure function that every evaluation backend calls.

For each genome: run the LSTM teacher-forced over the training sequences, compute the output weights by least squares
on the states after the washout, then score the network with those weights:

* generative tasks: closed-loop generation of each validation window, starting from the teacher-forced state;
* supervised tasks: prediction of the validation sequences (or of the training sequences when there are none).

Lower is better. NaN and infinite errors become +inf, so overflow never crashes a run.

The forward passes go through the selected kernel (:mod:`evolino.kernels`: the numpy reference or the compiled
one). Teacher-forced runs are cut into segments of at most ``STREAM_STEPS`` steps whose states are folded into the
readout statistics and dropped, so the (n, T, cells) state array is never held in full. Segment boundaries depend
only on T and the washout, never on the population, so a genome's error does not depend on its batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from evolino.kernels import KERNEL_CHOICES, ForwardOps, default_kernel, forward_ops
from evolino.network import LSTMSpec, LSTMState, LSTMWeights, _sources, unpack
from evolino.readout import ReadoutConfig, ReadoutStats
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


STREAM_STEPS = 256  # longest teacher-forced segment whose states are held at once


def _segments(steps: int, washout: int) -> list[tuple[int, int]]:
    """[start, stop) segments of at most STREAM_STEPS steps, one boundary at the washout."""
    bounds = [*range(0, washout, STREAM_STEPS), *range(washout, steps, STREAM_STEPS), steps]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _run_segments(ops: ForwardOps, spec: LSTMSpec, weights, pair: SequencePair, washout: int = 0):
    """Teacher-force ``pair`` from a zero state; yields (start, states (n, stop - start, cells)) for the segments
    after the washout, and finally (steps, final LSTMState)."""
    feedback = previous_targets(pair.targets) if spec.feedback else None
    state = None
    for start, stop in _segments(pair.steps, washout):
        inputs = None if pair.inputs is None else pair.inputs[start:stop]
        fb = None if feedback is None else feedback[start:stop]
        states, state = ops.teacher_forced(spec, weights, stop - start, inputs=inputs, feedback=fb, state=state)
        if start >= washout:
            yield start, states
    yield pair.steps, state


def fit_readout_on(
    spec: LSTMSpec,
    weights: LSTMWeights,
    sequences: Sequence[SequencePair],
    washout: int,
    config: ReadoutConfig,
    kernel: str | None = None,
) -> tuple[np.ndarray, list[LSTMState]]:
    """Teacher-force every sequence from a zero state and solve the readout over all of them.

    ``weights`` may also be already prepared for the kernel (``forward_ops(kernel).prepare(weights)``).

    Returns
    -------
    readout : (n, cells + 1, m)
    final_states : list of LSTMState, one per sequence
    """
    ops = forward_ops(kernel)
    weights = ops.prepare(weights)
    stats = ReadoutStats(_population(weights), spec.cells + 1, spec.n_outputs)
    finals = []
    for pair in sequences:
        if ops.fold_readout is not None:  # compiled: statistics folded in by the kernel, no states stored
            feedback = previous_targets(pair.targets) if spec.feedback else None
            r, qtd = stats.square_factor()
            finals.append(ops.fold_readout(spec, weights, _sources(spec, pair.inputs, feedback, pair.steps),
                                           pair.targets, r, qtd, washout, config.bias))
            stats.set_factor(r, qtd, pair.steps - washout)
            continue
        for start, part in _run_segments(ops, spec, weights, pair, washout):
            if start == pair.steps:
                finals.append(part)
            else:
                stats.add_states(part, pair.targets[start : start + part.shape[1]], config.bias)
    return stats.solve(config), finals


def _population(weights) -> int:
    return weights.bias.shape[0]


def _predict(ops: ForwardOps, spec: LSTMSpec, weights, readout: np.ndarray, pair: SequencePair) -> np.ndarray:
    """Teacher-forced outputs (n, T, m) of every genome, computed segment by segment."""
    outputs = np.empty((_population(weights), pair.steps, readout.shape[2]))
    for start, part in _run_segments(ops, spec, weights, pair):
        if start < pair.steps:
            # The bias row is zero when the readout has no bias, so adding it is always right.
            outputs[:, start : start + part.shape[1]] = np.matmul(part, readout[:, :-1]) + readout[:, -1:]
    return outputs


def _windows_error(ops, metric, spec, weights, readout, finals, history, windows) -> np.ndarray:
    """Mean closed-loop error over windows, each continuing the teacher-forced history with the same index."""
    errors = np.zeros(_population(weights))
    for final, before, window in zip(finals, history, windows, strict=True):
        outputs = ops.closed_loop(spec, weights, readout, final, before.targets[-1], window.steps,
                                  inputs=window.inputs)
        errors += score(metric, window.targets, outputs)
    return errors / len(windows)


def evaluate_genomes(
    genomes: np.ndarray, spec: LSTMSpec, task: Task, readout: ReadoutConfig, kernel: str | None = None
) -> np.ndarray:
    """Fitness of a population: genomes (n, d) -> errors (n,), lower is better, never NaN.

    Uses only the task's train and validation sequences. ``kernel``: "auto", "numpy" or "compiled"
    (None: the ``EVOLINO_KERNEL`` environment variable, default "auto"; see :mod:`evolino.kernels`).
    """
    genomes = np.asarray(genomes, dtype=np.float64)
    ops = forward_ops(kernel)
    weights = ops.prepare(unpack(spec, genomes))
    out, finals = fit_readout_on(spec, weights, task.train, task.washout, readout, kernel=ops.name)
    if task.generative:
        errors = _windows_error(ops, task.metric, spec, weights, out, finals, task.train, task.validation)
    else:
        scored = task.validation or task.train
        errors = np.mean([score(task.metric, p.targets, _predict(ops, spec, weights, out, p)) for p in scored],
                         axis=0)
    bad = ~np.isfinite(genomes).all(axis=1) | ~np.isfinite(errors)
    return np.where(bad, np.inf, errors)


def final_readout(spec: LSTMSpec, genomes: np.ndarray, task: Task, readout: ReadoutConfig,
                  kernel: str | None = "numpy"):
    """Refit the readout on everything evolution was allowed to see (train and validation).

    Runs once per fit, so it defaults to the numpy reference kernel: the same arithmetic as
    :class:`evolino.model.EvolinoModel`, whose ``generate`` then reproduces the reported test outputs exactly.

    Returns (weights, readout (n, cells + 1, m), final states, teacher-forced sequences) for :func:`test_error`;
    the weights are in the layout of the selected kernel.
    """
    ops = forward_ops(kernel)
    weights = ops.prepare(unpack(spec, genomes))
    seen = task.seen_before_test()
    out, finals = fit_readout_on(spec, weights, seen, task.washout, readout, kernel=ops.name)
    return weights, out, finals, seen


def test_error(spec: LSTMSpec, genomes: np.ndarray, task: Task, readout: ReadoutConfig,
               kernel: str | None = "numpy"):
    """Error on the test sequences after refitting the readout on train + validation (numpy kernel by default,
    see :func:`final_readout`).

    Returns
    -------
    errors : (n,)
        +inf for a genome that fails; NaN if the task has no test sequences.
    readout : (n, cells + 1, m)
    outputs : list of (n, T, m) arrays, the network's outputs on each test sequence
    """
    ops = forward_ops(kernel)
    weights, out, finals, seen = final_readout(spec, genomes, task, readout, kernel=ops.name)
    n = _population(weights)
    if not task.test:
        return np.full(n, np.nan), out, []
    outputs, errors = [], np.zeros(n)
    for i, window in enumerate(task.test):
        if task.generative:
            y = ops.closed_loop(spec, weights, out, finals[i], seen[i].targets[-1], window.steps,
                                inputs=window.inputs)
        else:
            y = _predict(ops, spec, weights, out, window)
        outputs.append(y)
        errors += score(task.metric, window.targets, y)
    errors /= len(task.test)
    return np.where(np.isfinite(errors), errors, np.inf), out, outputs


@dataclass(frozen=True)
class EvolinoProblem:
    """Everything a worker needs to score genomes: the network variant, the task and the readout.

    Picklable and immutable, so a Ray actor can hold one copy and call :meth:`evaluate` on chunks. ``kernel``
    ("auto", "numpy" or "compiled") is read from ``EVOLINO_KERNEL`` where the problem is made, so workers use the
    driver's choice.
    """

    spec: LSTMSpec
    task: Task
    readout: ReadoutConfig = field(default_factory=ReadoutConfig)
    kernel: str = field(default_factory=default_kernel)

    def __post_init__(self) -> None:
        if self.kernel not in KERNEL_CHOICES:
            raise ValueError(f"unknown kernel {self.kernel!r}; choose one of {', '.join(KERNEL_CHOICES)}")

    @property
    def dimension(self) -> int:
        return self.spec.dimension

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        """genomes (n, d) -> errors (n,)."""
        return evaluate_genomes(genomes, self.spec, self.task, self.readout, kernel=self.kernel)
