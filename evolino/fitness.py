"""Fitness: genomes in, errors out. The pure function that every evaluation backend calls.

For each genome: run the LSTM teacher-forced over the training data, compute the output weights by least squares on
the states after the washout (steps that have a target only), then score the network with those weights on the
validation data (:mod:`evolino.tasks.base` defines the protocol):

* generative tasks: free runs from teacher-forced states at ``task.validation_windows`` points spread over each
  validation sequence, scored on the validation data; a free run that goes on past the data must stay bounded;
* supervised tasks: teacher-forced prediction of the validation sequences, continuing the training state for
  continued tasks and from a zero state after a washout otherwise; of the training sequences when there are none.

The readout's ridge strength is fixed, chosen per genome by generalized cross-validation on its training fit
(``ridge="auto"``), or chosen per genome by scoring every strength on validation (``ridge="validation"``);
:func:`validation_scores` says which strength each genome kept. Errors pool every scored step
(:mod:`evolino.metrics`) and are in the task's original units. Lower is better; NaN and infinite errors become +inf,
so overflow never crashes a run.

The test, after evolution, is :mod:`evolino.evaluation`: it uses the same passes and scores.

Data layout: every stretch of data that runs from a zero state is a :class:`Line`. For a continued task that is the
training, validation (and, for the final test, test) parts of one index joined end to end; otherwise one sequence.
The cells' sources (inputs and fed-back targets) and the readout's direct features are computed once over a whole
line, so a part that continues another sees the right history. The direct features are a read-only view of the
sources (:func:`evolino.network.lag_view`), so a line holds O(T) floats whatever the readout's lags. A population's
lines depend only on the network's sources and the task (:class:`FitnessLines`): :class:`EvolinoProblem` builds them
once per process, on first use, and every evaluation reads them.

The forward passes go through the selected kernel (:mod:`evolino.kernels`). Teacher-forced runs whose states are
needed are cut into segments of at most ``STREAM_STEPS`` steps, so the (n, T, cells) state array of a long sequence
is never held in full (teacher-forced outputs are read out segment by segment too); the compiled kernel folds the
readout statistics in as it runs and stores no states. Segment boundaries depend only on the data and the washout,
never on the population, so a genome's error does not depend on its batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from evolino.kernels import KERNEL_CHOICES, default_kernel, forward_ops
from evolino.metrics import score
from evolino.network import LSTMSpec, LSTMState, direct_features, pool_features, readout_outputs, unpack
from evolino.readout import ReadoutConfig, ReadoutStats, design_matrix, loo_outputs
from evolino.tasks.base import SequencePair, Task

__all__ = ["EvolinoProblem", "FitnessLines", "ForwardPasses", "Line", "ScorePool", "score", "previous_targets",
           "evaluate_genomes", "validation_scores", "line_of", "fitness_lines", "bounded"]

STREAM_STEPS = 256  # longest teacher-forced segment whose states are held at once


def previous_targets(targets: np.ndarray, before: np.ndarray | None = None) -> np.ndarray:
    """The teacher-forced feedback y(t-1): targets shifted one step, starting with ``before`` (zeros by default).

    targets : (T, m); before : (m,) or None -> (T, m)
    """
    first = np.zeros((1, targets.shape[1])) if before is None else np.asarray(before, dtype=np.float64)[None]
    return np.concatenate([first, targets[:-1]], axis=0)


def _segments(stop: int, washout: int, start: int = 0) -> list[tuple[int, int]]:
    """[a, b) segments of [start, stop), at most STREAM_STEPS steps each, one boundary at the washout."""
    bounds = [*range(start, min(washout, stop), STREAM_STEPS), *range(max(washout, start), stop, STREAM_STEPS), stop]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


@dataclass(frozen=True, eq=False)
class ScoredLine:
    """Data that runs from a zero state: one sequence, or parts that continue each other joined end to end.

    Attributes
    ----------
    targets : (T, m), NaN where there is no target
    inputs : (T, n_inputs) or None
    scored : (T,) bool, the steps that have a target
    """

    targets: np.ndarray
    inputs: np.ndarray | None
    scored: np.ndarray

    @classmethod
    def of(cls, parts: Sequence[SequencePair]) -> ScoredLine:
        """Join sequences that continue each other (inputs None when they have none)."""
        inputs = None if parts[0].inputs is None else np.concatenate([p.inputs for p in parts])
        return ScoredLine(np.concatenate([p.targets for p in parts]), inputs, np.concatenate([p.scored for p in parts]))

    @property
    def steps(self) -> int:
        return self.targets.shape[0]

    def scored_after(self, washout: int) -> np.ndarray:
        """(T,) bool: the steps that have a target, without the first ``washout``."""
        mask = self.scored.copy()
        mask[:washout] = False
        return mask


@dataclass(frozen=True, eq=False)
class Line(ScoredLine):
    """A :class:`ScoredLine` as a network with readout sees it: its sources and direct readout features.

    Attributes
    ----------
    targets, inputs, scored : as :class:`ScoredLine`
    sources : (T, n_external)  inputs and fed-back previous targets, as the cells see them
    direct : (T, n_direct)     what the readout sees directly (:func:`evolino.network.direct_features`): a read-only
                               view of the sources, not contiguous
    bounds : part boundaries [0, end of part 1, ..., T]
    """

    sources: np.ndarray
    direct: np.ndarray
    bounds: tuple[int, ...]

    @cached_property
    def finite_targets(self) -> np.ndarray:
        """(T, m) the targets with 0 for NaN (steps without a target, which a fold skips): made once per line."""
        return np.nan_to_num(self.targets)


def line_of(spec: LSTMSpec, parts: Sequence[SequencePair]) -> Line:
    """Join sequences that continue each other into one :class:`Line` for ``spec``."""
    joined = ScoredLine.of(parts)
    targets, inputs = joined.targets, joined.inputs
    columns = []
    if spec.n_inputs:
        if inputs is None or inputs.shape[1] != spec.n_inputs:
            raise ValueError(f"the network expects {spec.n_inputs} input column(s)")
        columns.append(inputs)
    if spec.n_feedback:
        columns.append(previous_targets(targets))
    sources = np.concatenate(columns, axis=1) if columns else np.zeros((targets.shape[0], 0))
    bounds = tuple(int(b) for b in np.cumsum([0, *(p.steps for p in parts)]))
    return Line(targets, inputs, joined.scored, sources, direct_features(spec, sources), bounds)


@dataclass(frozen=True, eq=False)
class FitnessLines:
    """The lines a population is fitted and scored on, for one task and the sources of one network (see
    :func:`fitness_lines`): what every evaluation of a problem reads and none changes.

    Attributes
    ----------
    fitted : the lines the readout is fitted on, each from a zero state
    stops : the step of each fitted line before which the readout is fitted (the end of its training part)
    scored : the lines scored teacher-forced from a zero state (independent tasks: the validation sequences, or the
        training lines without them); empty for continued tasks with validation data, which are scored on the rest
        of each fitted line
    key : (n_inputs, n_feedback, readout_lags) of the networks the lines are for
    """

    fitted: tuple[Line, ...]
    stops: tuple[int, ...]
    scored: tuple[Line, ...]
    key: tuple[int, int, int]

    def check(self, spec: LSTMSpec) -> None:
        """ValueError unless the lines were built for networks with ``spec``'s sources and readout lags."""
        if self.key != _sources_key(spec):
            raise ValueError(f"these lines are for (n_inputs, n_feedback, readout_lags) = {self.key}, the network "
                             f"has {_sources_key(spec)}")


def _sources_key(spec: LSTMSpec) -> tuple[int, int, int]:
    return spec.n_inputs, spec.n_feedback, spec.readout_lags


def fitness_lines(spec: LSTMSpec, task: Task) -> FitnessLines:
    """The :class:`FitnessLines` of ``task`` for networks with ``spec``'s sources: a continued task's training and
    validation parts joined, else every sequence alone. They depend on the network only through its inputs, its
    feedback and its readout lags (not its cells)."""
    if task.continued and task.validation:
        fitted = tuple(line_of(spec, [tr, va]) for tr, va in zip(task.train, task.validation, strict=True))
        return FitnessLines(fitted, tuple(tr.steps for tr in task.train), (), _sources_key(spec))
    fitted = tuple(line_of(spec, [tr]) for tr in task.train)
    scored = tuple(line_of(spec, [p]) for p in task.validation) if task.validation else fitted
    return FitnessLines(fitted, tuple(line.steps for line in fitted), scored, _sources_key(spec))


class ForwardPasses:
    """One population's teacher-forced and closed-loop passes through one kernel (shared by the fitness, the final
    test and :class:`evolino.model.EvolinoModel`)."""

    def __init__(self, spec: LSTMSpec, genomes: np.ndarray, kernel: str | None) -> None:
        self.spec = spec
        self.ops = forward_ops(kernel)
        self.weights = self.ops.from_genomes(spec, genomes) if self.ops.from_genomes else \
            self.ops.prepare(unpack(spec, genomes))
        self.n = genomes.shape[0]

    def advance(self, line: Line, start: int, stop: int, state: LSTMState | None, record: bool = False,
                fold: tuple[ReadoutStats, np.ndarray, bool] | None = None, washout: int = 0):
        """Teacher-force steps [start, stop) of ``line`` from ``state`` (zeros if None).

        ``fold = (stats, rows (T,) bool, bias)`` folds the readout rows of the marked steps into ``stats``;
        ``record`` returns the cell outputs (n, stop - start, cells), or a pooled readout's features (n, stop - start,
        cell_features): :func:`evolino.network.pool_features`, carried across calls in the state. Returns (states or
        None, final state).
        """
        spec, n_in = self.spec, self.spec.n_inputs
        if fold is not None and self.ops.fold_readout is not None and not record and not spec.pooled:
            stats, rows, bias = fold
            r, qtd = stats.square_factor()
            history = line.sources[max(0, start - spec.readout_lags + 1) : start] if spec.readout_lags > 1 else None
            state = self.ops.fold_readout(spec, self.weights, line.sources[start:stop],
                                          line.finite_targets[start:stop], r, qtd, rows[start:stop], bias,
                                          history, state, stats.rss)
            stats.set_factor(r, qtd, int(rows[start:stop].sum()))
            return None, state
        recorded = []
        for a, b in _segments(stop, washout, start):
            inputs = line.sources[a:b, :n_in] if n_in else None
            feedback = line.sources[a:b, n_in:] if spec.n_feedback else None
            carry = None if state is None else state.pool
            states, state = self.ops.teacher_forced(spec, self.weights, b - a, inputs=inputs, feedback=feedback,
                                                    state=state)
            if spec.pooled:  # what the readout sees: the pools of the sequence so far
                states, state.pool = pool_features(spec, states, carry)
            if fold is not None:
                stats, rows, bias = fold
                keep = rows[a:b]
                if keep.all():
                    stats.add_states(states, line.targets[a:b], bias, line.direct[a:b])
                elif keep.any():
                    stats.add_states(states[:, keep], line.targets[a:b][keep], bias, line.direct[a:b][keep])
            if record:
                recorded.append(states)
        if not record:
            return None, state
        if not recorded:
            return np.zeros((self.n, 0, spec.cell_features)), state
        return (recorded[0] if len(recorded) == 1 else np.concatenate(recorded, axis=1)), state

    def fit(self, lines: Sequence[Line], stops: Sequence[int], washout: int, config: ReadoutConfig):
        """Fit the readout on steps [max(washout, readout_lags - 1), stop) of every line that have a target.

        Returns (solutions, finals, choice): one readout (n, readout_rows, m) per candidate left to score (every
        strength of the grid for ``ridge="validation"``, else one), each line's state at its stop, and the index of
        each genome's strength (None while it is to be chosen on validation).
        """
        stats = ReadoutStats(self.n, self.spec.readout_rows, self.spec.n_outputs)
        first = max(washout, self.spec.readout_lags - 1)
        finals = []
        for line, stop in zip(lines, stops, strict=True):
            rows = line.scored.copy()
            rows[:first] = False
            rows[stop:] = False
            _, state = self.advance(line, 0, stop, None, fold=(stats, rows, config.bias), washout=washout)
            finals.append(state)
        if config.ridge == "validation":
            return stats.solve_candidates(config, shrunk=self.spec.cell_features, svd=self.ops.svd)[0], finals, None
        weights, choice = stats.choose(config, shrunk=self.spec.cell_features, svd=self.ops.svd)
        return [weights], finals, choice

    def teacher_outputs(self, line: Line, start: int, stop: int, state, solutions, washout: int = 0):
        """Teacher-forced outputs of steps [start, stop) for every readout: ([(n, T, m)], final state).

        Read out segment by segment (the segments of :meth:`advance`), so no (n, T, cells) state array is held."""
        outputs = [np.empty((self.n, stop - start, self.spec.n_outputs)) for _ in solutions]
        for a, b in _segments(stop, washout, start):
            states, state = self.advance(line, a, b, state, record=True)
            direct = np.ascontiguousarray(line.direct[a:b])  # the view's rows copied: a BLAS product
            for out, w in zip(outputs, solutions, strict=True):
                out[:, a - start : b - start] = readout_outputs(self.spec, states, w, direct)
        return outputs, state

    def free_run(self, line: Line, start: int, steps: int, state: LSTMState, readout: np.ndarray) -> np.ndarray:
        """Closed-loop outputs (n, steps, m) from the teacher-forced ``state`` before step ``start`` of ``line``."""
        lags = self.spec.readout_lags
        history = line.sources[max(0, start - lags + 1) : start] if lags > 1 else None
        inputs = line.inputs[start : start + steps] if self.spec.n_inputs else None
        return self.ops.closed_loop(self.spec, self.weights, readout, state, line.targets[start - 1], steps,
                                    inputs=inputs, source_history=history)


class ScorePool:
    """Scored stretches of every readout candidate, scored together at the end (pooled over sequences); ``unstable``
    marks (candidate, genome) pairs whose free runs left the divergence bound (their error becomes +inf)."""

    def __init__(self, candidates: int, n: int) -> None:
        self.targets, self.masks = [], []
        self.outputs = [[] for _ in range(candidates)]
        self.unstable = np.zeros((candidates, n), dtype=bool)

    def add(self, targets: np.ndarray, mask: np.ndarray, outputs: Sequence[np.ndarray]) -> None:
        self.targets.append(targets)
        self.masks.append(mask)
        for store, out in zip(self.outputs, outputs, strict=True):
            store.append(out)

    def scores(self, task: Task) -> np.ndarray:
        """(candidates, n) errors."""
        targets, mask = np.concatenate(self.targets), np.concatenate(self.masks)
        scale, offset = task.column_scale
        errors = np.stack([score(task.metric, targets, np.concatenate(outputs, axis=1), mask, scale, offset)
                           for outputs in self.outputs])
        return np.where(self.unstable, np.inf, errors)


def _loo_scores(passes: ForwardPasses, task: Task, config: ReadoutConfig, prepared: FitnessLines) -> np.ndarray:
    """Leave-one-out errors (candidates, n) of the readout over the training sequences, one labelled step each
    (:func:`evolino.readout.loo_outputs`): the validation part is not used."""
    if task.continued:
        raise ValueError('ridge="loo" needs independent sequences, each with one labelled step')
    rows, targets = [], []
    for line in prepared.fitted:
        steps = np.flatnonzero(line.scored_after(task.washout))
        if steps.size != 1:
            raise ValueError(f'ridge="loo" needs one labelled step per training sequence, one has {steps.size}')
        t = int(steps[0])
        states, _ = passes.advance(line, 0, t + 1, None, record=True)
        rows.append(design_matrix(states[:, t : t + 1], config.bias, line.direct[t : t + 1])[:, 0])
        targets.append(line.targets[t])
    if len(rows) < 2:
        raise ValueError('ridge="loo" needs at least two training sequences')
    x, d = np.stack(rows, axis=1), np.stack(targets)
    outputs = loo_outputs(x, d, config.ridge_grid, passes.spec.cell_features)
    scale, offset = task.column_scale
    mask = np.ones(d.shape[0], dtype=bool)
    errors = np.stack([score(task.metric, d, out, mask, scale, offset) for out in outputs])
    return np.where(np.isfinite(errors), errors, np.inf)




def _score_candidates(passes: ForwardPasses, task: Task, config: ReadoutConfig, prepared: FitnessLines):
    """Validation errors (candidates, n) and the GCV choice (or None): see :meth:`ForwardPasses.fit`; for
    ``ridge="loo"`` the leave-one-out errors over the training sequences (:func:`_loo_scores`)."""
    if config.ridge == "loo":
        return _loo_scores(passes, task, config, prepared), None
    washout = task.washout
    if task.continued and task.validation:
        lines, stops = prepared.fitted, prepared.stops
        solutions, finals, choice = passes.fit(lines, stops, washout, config)
        pool = ScorePool(len(solutions), passes.n)
        if task.generative:
            bound = task.divergence_bound
            for line, stop, state in zip(lines, stops, finals, strict=True):
                _free_run_windows(passes, task, line, stop, state, solutions, pool, bound)
        else:
            for line, stop, state in zip(lines, stops, finals, strict=True):
                outputs, _ = passes.teacher_outputs(line, stop, line.steps, state, solutions)
                pool.add(line.targets[stop:], line.scored[stop:], outputs)
    else:
        solutions, _, choice = passes.fit(prepared.fitted, prepared.stops, washout, config)
        pool = ScorePool(len(solutions), passes.n)
        for line in prepared.scored:
            outputs, _ = passes.teacher_outputs(line, 0, line.steps, None, solutions, washout)
            pool.add(line.targets, line.scored_after(washout), outputs)
    return pool.scores(task), choice


def _free_run_windows(passes: ForwardPasses, task: Task, line: Line, stop: int, state: LSTMState, solutions,
                      pool: ScorePool, bound: float) -> None:
    """Free runs from teacher-forced states spread over the validation part [stop, T) of ``line``, then the checked
    free run from its end."""
    available = line.steps - stop
    horizon = task.free_run_length(available)
    position = stop
    for offset in task.validation_starts(available):
        if stop + offset > position:
            _, state = passes.advance(line, position, stop + offset, state)
            position = stop + offset
        inside = min(horizon, line.steps - position)
        steps = inside if task.n_inputs else horizon  # no inputs are known past the data
        scored = []
        for g, w in enumerate(solutions):
            out = passes.free_run(line, position, steps, state, w)
            pool.unstable[g] |= ~bounded(out[:, inside:], bound)
            scored.append(out[:, :inside].copy() if inside < steps else out)  # the unscored rest is dropped
        pool.add(line.targets[position : position + inside], line.scored[position : position + inside], scored)
    check = task.stability_length(available)
    if check:
        _, state = passes.advance(line, position, line.steps, state)
        for g, w in enumerate(solutions):
            pool.unstable[g] |= ~bounded(passes.free_run(line, line.steps, check, state, w), bound)


def bounded(outputs: np.ndarray, bound: float) -> np.ndarray:
    """(n,) True where every output of (n, T, m) is within +-bound (NaN is not)."""
    with np.errstate(invalid="ignore"):
        return (np.abs(outputs) <= bound).all(axis=(1, 2))


def validation_scores(genomes: np.ndarray, spec: LSTMSpec, task: Task, readout: ReadoutConfig,
                      kernel: str | None = None, lines: FitnessLines | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fitness of a population and the ridge strength each genome keeps.

    ``lines``: ``fitness_lines(spec, task)`` made beforehand (built here when None); the results are the same.

    Returns
    -------
    errors : (n,)
        Lower is better, never NaN (+inf for failures).
    choice : (n,) int
        Index into ``readout.candidates`` of each genome's ridge strength.
    """
    genomes = np.asarray(genomes, dtype=np.float64)
    if lines is None:
        lines = fitness_lines(spec, task)
    else:
        lines.check(spec)
    scores, choice = _score_candidates(ForwardPasses(spec, genomes, kernel), task, readout, lines)
    if choice is None:
        choice = np.argmin(scores, axis=0)  # the first (weakest) strength on ties
        errors = scores[choice, np.arange(genomes.shape[0])]
    else:
        errors = scores[0]
    bad = ~np.isfinite(genomes).all(axis=1) | ~np.isfinite(errors)
    return np.where(bad, np.inf, errors), choice


def evaluate_genomes(
    genomes: np.ndarray, spec: LSTMSpec, task: Task, readout: ReadoutConfig, kernel: str | None = None,
    lines: FitnessLines | None = None,
) -> np.ndarray:
    """Fitness of a population: genomes (n, d) -> errors (n,), lower is better, never NaN.

    Uses only the task's train and validation sequences. ``kernel``: "auto", "numpy", "compiled", "compiled-scalar"
    or "jax" (None: the ``EVOLINO_KERNEL`` environment variable, default "auto"; see :mod:`evolino.kernels`).
    ``lines``: ``fitness_lines(spec, task)`` made beforehand, to share between calls (built here when None).
    """
    return validation_scores(genomes, spec, task, readout, kernel, lines)[0]


@dataclass(frozen=True)
class EvolinoProblem:
    """Everything a worker needs to score genomes: the network variant, the task and the readout.

    Picklable and immutable, so a Ray actor can hold one copy and call :meth:`evaluate` on chunks. ``kernel`` (one
    of :data:`evolino.kernels.KERNEL_CHOICES`) is read from ``EVOLINO_KERNEL`` where the problem is made, so workers
    use the driver's choice. The task's test sequences are dropped: evaluation never needs them.

    The task's lines (:attr:`lines`: joined parts, sources, the readout's direct view, masks) are built on the first
    evaluation in each process and kept for the next; they are left out of the pickle (a worker builds its own), so
    a worker receives only the task.
    """

    spec: LSTMSpec
    task: Task
    readout: ReadoutConfig = field(default_factory=ReadoutConfig)
    kernel: str = field(default_factory=default_kernel)

    def __post_init__(self) -> None:
        if self.kernel not in KERNEL_CHOICES:
            raise ValueError(f"unknown kernel {self.kernel!r}; choose one of {', '.join(KERNEL_CHOICES)}")
        if self.task.test:
            object.__setattr__(self, "task", self.task.without_test())

    @property
    def dimension(self) -> int:
        return self.spec.dimension

    @cached_property
    def lines(self) -> FitnessLines:
        """The task's :class:`FitnessLines` for this network, built once per process on first use."""
        return fitness_lines(self.spec, self.task)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("lines", None)  # rebuilt where it is used: a worker is sent the task, not O(T) arrays more
        return state

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        """genomes (n, d) -> errors (n,)."""
        return evaluate_genomes(genomes, self.spec, self.task, self.readout, kernel=self.kernel, lines=self.lines)
