"""Tasks: sequences split into train / validation / test, their protocol, and a registry of named tasks.

A task is data plus protocol. Evolution only ever sees ``train`` and ``validation``; ``test`` is used once, to
report the final error of the trained network.

Sequences. Each split is a list of :class:`SequencePair` (targets, optional inputs, optional mask, optional filled
marks). A target step that is NaN (or masked out) has no target: it is left out of the readout regression and of
every error, which is how a label at the last step of a sequence, or a target every tenth step, is written. A
*filled* step holds a value that was not measured (a gap interpolated, :mod:`evolino.tasks.data`): it is fed back
like any other value of the series, but it is not scored, not a target of the readout's fit and not part of the
standardisation; :attr:`SequencePair.scored` leaves out both kinds.

Continued or independent. In a *continued* task, ``validation[i]`` continues ``train[i]`` and ``test[i]`` continues
``validation[i]`` (or ``train[i]``): the network's state runs on from where the preceding data ended, and only the
first ``washout`` steps of ``train[i]`` are skipped. Otherwise every sequence starts from a zero state and its first
``washout`` steps are skipped, in the readout fit and in every score.

Generative or supervised. Generative tasks (always continued) are signals the network must continue closed-loop,
feeding its own output back. During evolution the readout is fitted on the training part and the fitness is the error
of ``validation_windows`` free runs, started from teacher-forced states spread evenly over the validation part, each
``free_run_steps`` long (default: to the end of the validation part), scored on the steps that have validation data.
A free run that goes on past the validation data must stay within ``DIVERGENCE_BOUND`` times the largest training
target, or the network counts as unstable (+inf); so must a free run of ``stability_steps`` from the end of the
validation data, where the test forecast will start (checked, not scored). Supervised tasks are scored by
teacher-forced prediction.

Units. A task may hold standardised arrays together with the :class:`~evolino.scaling.Standardizer` that made them
(``Task.standardized()``); errors are reported in original units (see :mod:`evolino.metrics`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from evolino import atomic
from evolino.metrics import Metric, check_metric, metric_name
from evolino.scaling import Standardizer

__all__ = ["SequencePair", "Task", "register_task", "make_task", "task_names", "task_description",
           "DIVERGENCE_BOUND"]

DIVERGENCE_BOUND = 10.0  # a free run beyond the validation data may not exceed this many times max |train target|
TASK_FORMAT_VERSION = 2  # 2: filled marks; written only by tasks that have them, so others stay readable as 1
TASK_FORMAT_VERSIONS = (1, 2)


@dataclass(frozen=True, eq=False)
class SequencePair:
    """One sequence: targets (T, n_outputs), optional inputs (T, n_inputs), an optional target mask and optional
    marks of filled steps.

    After construction ``mask`` is None when every step has a target, else the (T,) bool array of steps that do;
    ``filled`` is None when no step was filled, else the (T,) bool array of filled steps.

    Parameters
    ----------
    targets : (T,) or (T, m)
        NaN marks a step without a target (all columns of that step).
    inputs : (T,) or (T, k), optional
        Must be finite.
    mask : (T,) bool, optional
        False marks a step without a target (its targets become NaN).
    filled : (T,) bool, optional
        True marks a step whose target value was filled in (interpolated), not measured: it is fed back as the
        series' value but never scored nor fitted (see :attr:`scored`). A filled step must hold a value.
    """

    targets: np.ndarray
    inputs: np.ndarray | None = None
    mask: np.ndarray | None = None
    filled: np.ndarray | None = None

    def __post_init__(self) -> None:
        targets = _as_2d(self.targets, "targets", allow_nan=True)
        if self.mask is not None:
            targets = np.where(_step_flags(self.mask, targets.shape[0], "mask")[:, None], targets, np.nan)
        present = np.isfinite(targets)
        if not (present.all(axis=1) | ~present.any(axis=1)).all():
            raise ValueError("targets of one step must be all present or all missing (NaN)")
        rows = present.all(axis=1)
        filled = None
        if self.filled is not None:
            filled = _step_flags(self.filled, targets.shape[0], "filled")
            if (filled & ~rows).any():
                raise ValueError(f"filled step {int(np.argmax(filled & ~rows))} has no value: a filled step holds the "
                                 "value it was filled with")
        object.__setattr__(self, "targets", targets)
        object.__setattr__(self, "mask", None if rows.all() else rows)
        object.__setattr__(self, "filled", filled if filled is not None and filled.any() else None)
        if self.inputs is not None:
            inputs = _as_2d(self.inputs, "inputs")
            if inputs.shape[0] != targets.shape[0]:
                raise ValueError(f"inputs have {inputs.shape[0]} steps but targets have {targets.shape[0]}")
            object.__setattr__(self, "inputs", inputs)

    def __repr__(self) -> str:
        scored = "every step" if self.mask is None and self.filled is None else f"{int(self.scored.sum())} steps"
        filled = "" if self.filled is None else f" ({int(self.filled.sum())} filled steps not scored)"
        inputs = 0 if self.inputs is None else self.inputs.shape[1]
        return (f"SequencePair({self.steps} steps, {self.targets.shape[1]} targets at {scored}{filled}, "
                f"{inputs} inputs)")

    @property
    def steps(self) -> int:
        return self.targets.shape[0]

    @property
    def scored(self) -> np.ndarray:
        """(T,) bool: the steps that have a measured target (not NaN, not masked, not filled)."""
        scored = np.ones(self.steps, dtype=bool) if self.mask is None else self.mask.copy()
        if self.filled is not None:
            scored &= ~self.filled
        return scored

    @property
    def filled_targets(self) -> np.ndarray:
        """Targets with 0 at the steps without one (for arithmetic that skips them anyway)."""
        return self.targets if self.mask is None else np.where(self.mask[:, None], self.targets, 0.0)

    def part(self, start: int, stop: int) -> SequencePair:
        """Steps [start, stop) with their inputs and marks."""
        return SequencePair(self.targets[start:stop], None if self.inputs is None else self.inputs[start:stop],
                            filled=None if self.filled is None else self.filled[start:stop])


def _step_flags(flags, steps: int, name: str) -> np.ndarray:
    flags = np.asarray(flags)
    if flags.shape != (steps,) or flags.dtype != bool:
        raise ValueError(f"{name} must be a bool array of shape ({steps},), got {flags.dtype} {flags.shape}")
    return flags


def _as_2d(array: np.ndarray, name: str, allow_nan: bool = False) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty (T,) or (T, k) array, got shape {array.shape}")
    if np.isinf(array).any() or (not allow_nan and np.isnan(array).any()):
        raise ValueError(f"{name} contain NaN or infinite values")
    return array


def _as_pairs(value) -> tuple[SequencePair, ...]:
    if value is None:
        return ()
    if isinstance(value, SequencePair):
        return (value,)
    if isinstance(value, np.ndarray):
        return (SequencePair(value),)
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], np.ndarray) \
            and (value[1] is None or isinstance(value[1], np.ndarray)):
        return (SequencePair(*value),)  # one (targets, inputs) pair; several sequences come as a list
    return tuple(v if isinstance(v, SequencePair) else SequencePair(*v) if isinstance(v, tuple)
                 else SequencePair(v) for v in value)


def _join(first: SequencePair, second: SequencePair) -> SequencePair:
    inputs = None if first.inputs is None else np.concatenate([first.inputs, second.inputs])
    filled = None if first.filled is None and second.filled is None else \
        np.concatenate([p.filled if p.filled is not None else np.zeros(p.steps, dtype=bool) for p in (first, second)])
    return SequencePair(np.concatenate([first.targets, second.targets]), inputs, filled=filled)


@dataclass(frozen=True, eq=False)
class Task:
    """A learning problem for Evolino.

    Parameters
    ----------
    name : str
    train, validation, test : sequences
        Each a :class:`SequencePair`, a targets array (T,) or (T, m), one ``(targets, inputs)`` tuple, or a list of
        these (a list always means several sequences). ``validation`` may be empty (supervised tasks then score
        on ``train``).
    washout : int
        Steps at the start of each run from a zero state whose states are neither fitted nor scored.
    generative : bool
        Closed-loop generation (see the module docstring) instead of teacher-forced prediction.
    metric : str or callable
        The error of the fitness and of the reported test error (:mod:`evolino.metrics`).
    description : str
    info : dict
        JSON-ready facts about the task (where the data came from, sizes, ...).
    continued : bool, optional
        Validation and test sequences continue the training sequence of the same index (default: ``generative``;
        generative tasks are always continued).
    forecast_horizon : int, optional
        The targets are the task's own series this many steps ahead (1 for generative tasks). Set, it enables the
        forecasting baselines (persistence, training mean, AR(p)) that every result reports.
    validation_windows : int
        Generative tasks: free runs per validation sequence, started evenly across it.
    free_run_steps : int, optional
        Generative tasks: length of each validation free run (default: to the end of the validation part).
    stability_steps : int, optional
        Generative tasks: length of the checked free run from the end of the validation data (default: the free run
        length; 0: none).
    noise_free : bool
        The data are known to be noise-free (synthetic benchmarks); the default readout is then the plain
        pseudo-inverse instead of a ridge chosen on validation.
    scaler : Standardizer, optional
        The arrays are in model units made by this map (see :meth:`standardized`).
    input_names, target_names : sequence of str
        Column names, for files and plots (default ``input_j`` / ``output_j``).
    """

    name: str
    train: Sequence[SequencePair]
    validation: Sequence[SequencePair] = ()
    test: Sequence[SequencePair] = ()
    washout: int = 0
    generative: bool = False
    metric: Metric = "nrmse"
    description: str = ""
    info: dict = field(default_factory=dict)
    continued: bool | None = None
    forecast_horizon: int | None = None
    validation_windows: int = 1
    free_run_steps: int | None = None
    stability_steps: int | None = None
    noise_free: bool = False
    scaler: Standardizer | None = None
    input_names: Sequence[str] = ()
    target_names: Sequence[str] = ()

    def __post_init__(self) -> None:
        for split in ("train", "validation", "test"):
            object.__setattr__(self, split, _as_pairs(getattr(self, split)))
        if not self.train:
            raise ValueError("a task needs at least one training sequence")
        check_metric(self.metric)
        continued = self.generative if self.continued is None else bool(self.continued)
        if self.generative and not continued:
            raise ValueError("generative tasks are continued: validation and test continue the training sequences")
        object.__setattr__(self, "continued", continued)
        horizon = 1 if self.generative and self.forecast_horizon is None else self.forecast_horizon
        if horizon is not None and (int(horizon) != horizon or horizon < 1 or (self.generative and horizon != 1)):
            raise ValueError(f"forecast_horizon must be an integer >= 1 (1 for generative tasks), got {horizon}")
        object.__setattr__(self, "forecast_horizon", None if horizon is None else int(horizon))
        self._check_sequences()
        self._check_names()

    def _check_sequences(self) -> None:
        washout = self.washout
        if int(washout) != washout or washout < 0 or any(s.steps <= washout for s in self.train):
            raise ValueError(f"washout must be >= 0 and shorter than every training sequence, got {washout}")
        if not self.continued and any(s.steps <= washout for s in (*self.validation, *self.test)):
            raise ValueError(f"every validation and test sequence must be longer than the washout ({washout})")
        all_pairs = [*self.train, *self.validation, *self.test]
        if len({p.targets.shape[1] for p in all_pairs}) != 1:
            raise ValueError("every sequence must have the same number of target columns")
        if len({0 if p.inputs is None else p.inputs.shape[1] for p in all_pairs}) != 1:
            raise ValueError("every sequence must have the same number of input columns (or none)")
        if self.continued:
            for later in (self.validation, self.test):
                if later and len(later) != len(self.train):
                    raise ValueError("a continued task needs one validation/test sequence per training sequence")
        if self.generative:
            if not self.validation:
                raise ValueError("a generative task needs validation windows that continue the training sequences")
            if any(p.mask is not None for p in all_pairs):
                raise ValueError("a generative task needs a target at every step (it feeds them back)")
            shortest = min(p.steps for p in self.validation)
            if not 1 <= self.validation_windows <= shortest:
                raise ValueError(f"validation_windows must be between 1 and the validation length ({shortest}), "
                                 f"got {self.validation_windows}")
            if self.free_run_steps is not None and self.free_run_steps < 1:
                raise ValueError(f"free_run_steps must be >= 1, got {self.free_run_steps}")
            if self.stability_steps is not None and self.stability_steps < 0:
                raise ValueError(f"stability_steps must be >= 0, got {self.stability_steps}")
            if self.free_run_steps is not None and self.n_inputs and self.free_run_steps > shortest:
                raise ValueError("with external inputs a free run cannot go past the validation data "
                                 f"(free_run_steps {self.free_run_steps} > {shortest})")
        if not any(p.scored[self.washout:].any() for p in self.train):
            raise ValueError("the training sequences have no target after the washout")
        if self.metric == "nrmse":
            self._check_variation()

    def _check_variation(self) -> None:
        """NRMSE divides by the targets' variance: every scored part must vary in every column."""
        scored = {"validation": self.validation} if self.validation else {"training": self.train}
        if self.test:
            scored["test"] = self.test
        for part, pairs in scored.items():
            targets = np.concatenate([p.targets[p.scored] for p in pairs])
            flat = [j for j in range(targets.shape[1]) if targets.shape[0] and not np.var(targets[:, j]) > 0]
            if flat:
                name = self.output_names[flat[0]]
                source = (self.info or {}).get("source")
                raise ValueError(f"{f'{source}: ' if source else ''}target {name!r} does not vary on the {part} part, "
                                 "so NRMSE (error / its standard deviation) is undefined there; use metric rmse or mae "
                                 "(--metric rmse, task.metric), or choose a target that varies (--target COL)")

    def _check_names(self) -> None:
        for attribute, count in (("input_names", self.n_inputs), ("target_names", self.n_outputs)):
            names = tuple(str(name) for name in getattr(self, attribute))
            if names and len(names) != count:
                raise ValueError(f"{attribute} has {len(names)} names for {count} columns")
            object.__setattr__(self, attribute, names)

    def __repr__(self) -> str:
        kind = "generative" if self.generative else "continued" if self.continued else "supervised"
        steps = "/".join(str(sum(p.steps for p in getattr(self, s))) for s in ("train", "validation", "test"))
        scaled = ", standardised" if self.scaler is not None else ""
        return (f"Task({self.name!r}, {kind}, {steps} steps train/validation/test in "
                f"{len(self.train)}/{len(self.validation)}/{len(self.test)} sequences, {self.n_inputs} inputs, "
                f"{self.n_outputs} outputs, washout {self.washout}, {metric_name(self.metric)}{scaled})")

    # ------------------------------------------------------------------------------------------------ protocol

    def validation_starts(self, steps: int) -> list[int]:
        """Offsets of the generative validation free runs within a validation sequence of ``steps`` steps."""
        k = self.validation_windows
        return [(i * steps) // k for i in range(k)]

    def free_run_length(self, steps: int) -> int:
        """Steps of each generative validation free run for a validation sequence of ``steps`` steps."""
        return steps if self.free_run_steps is None else int(self.free_run_steps)

    def stability_length(self, steps: int) -> int:
        """Steps of the checked free run from the end of a validation sequence of ``steps`` steps (0: none; always 0
        with external inputs, which are not known past the data)."""
        if self.n_inputs:
            return 0
        return self.free_run_length(steps) if self.stability_steps is None else int(self.stability_steps)

    def seen_before_test(self) -> list[SequencePair]:
        """What a method may fit on before it is tested: the training and validation sequences. For continued tasks
        each validation sequence is appended to the training sequence it continues, so that the test sequence
        continues the result."""
        if not self.continued or not self.validation:
            return [*self.train, *self.validation]
        return [_join(tr, va) for tr, va in zip(self.train, self.validation, strict=True)]

    def without_test(self) -> Task:
        """This task with no test sequences: what an evaluation worker is given."""
        return replace(self, test=())

    def holdout_split(self, fraction: float) -> Task:
        """The task evolution is fitted on when the validation part is kept for the final choice: the training part
        cut in two, its last ``fraction`` (of the steps of each training sequence for a continued task, of the
        training sequences otherwise) becoming the validation part; no test part. ValueError when a part would be
        too short (the first must outlast the washout, the second needs a step)."""
        if not 0 < fraction < 1:
            raise ValueError(f"holdout must be in (0, 1), got {fraction}")
        if self.continued:
            cuts = [p.steps - max(1, round(fraction * p.steps)) for p in self.train]
            if any(cut <= self.washout for cut in cuts):
                raise ValueError(f"the training part is too short to hold out {fraction:g} of it beyond the washout")
            train = [p.part(0, cut) for p, cut in zip(self.train, cuts, strict=True)]
            validation = [p.part(cut, p.steps) for p, cut in zip(self.train, cuts, strict=True)]
        else:
            cut = len(self.train) - max(1, round(fraction * len(self.train)))
            if cut < 1:
                raise ValueError(f"holding out {fraction:g} of {len(self.train)} training sequences leaves none")
            train, validation = list(self.train[:cut]), list(self.train[cut:])
        if not any(p.scored[self.washout:].any() for p in train) or not any(p.scored.any() for p in validation):
            raise ValueError(f"holding out {fraction:g} of the training part leaves a part without targets")
        windows = min(self.validation_windows, min(p.steps for p in validation))
        return replace(self, train=train, validation=validation, test=(), validation_windows=windows,
                       free_run_steps=self.free_run_steps if not self.n_inputs or self.free_run_steps is None
                       else min(self.free_run_steps, min(p.steps for p in validation)))

    @property
    def n_outputs(self) -> int:
        return self.train[0].targets.shape[1]

    @property
    def n_inputs(self) -> int:
        first = self.train[0].inputs
        return 0 if first is None else first.shape[1]

    @property
    def largest_train_target(self) -> float:
        """The largest absolute target of the training part (1 where every target is 0): the data's reach."""
        largest = max(float(np.nanmax(np.abs(p.targets))) for p in self.train)
        return largest if largest > 0 else 1.0

    @property
    def divergence_bound(self) -> float:
        """The largest absolute output a free run may reach: DIVERGENCE_BOUND times :attr:`largest_train_target`."""
        return DIVERGENCE_BOUND * self.largest_train_target

    @property
    def has_target_gaps(self) -> bool:
        return any(p.mask is not None for p in (*self.train, *self.validation, *self.test))

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(self.target_names) or tuple(f"output_{j}" for j in range(self.n_outputs))

    @property
    def column_scale(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(scale, offset) (m,) mapping model-unit targets to original units, or (None, None)."""
        if self.scaler is None:
            return None, None
        return self.scaler.target_std, self.scaler.target_mean

    # ---------------------------------------------------------------------------------------------------- units

    def standardized(self, scale_targets: bool = True) -> Task:
        """A copy whose inputs (and targets, unless ``scale_targets`` is False) are standardised per column with
        means and standard deviations of the training part; the map is kept as ``scaler``."""
        if self.scaler is not None:
            raise ValueError(f"task {self.name!r} is standardised already")
        scaler = Standardizer.fit(self.train, scale_targets, self.input_names, self.target_names)

        def convert(pairs):
            return [SequencePair(scaler.targets_to_model(p.targets), scaler.inputs_to_model(p.inputs), filled=p.filled)
                    for p in pairs]

        return replace(self, train=convert(self.train), validation=convert(self.validation),
                       test=convert(self.test), scaler=scaler)

    def to_original(self, values: np.ndarray) -> np.ndarray:
        """Model-unit targets or outputs (..., m) in original units."""
        return values if self.scaler is None else self.scaler.targets_to_original(values)

    # ------------------------------------------------------------------------------------------------- storage

    def save(self, path: str | os.PathLike) -> Path:
        """Write the task (every sequence and the protocol) to one NPZ file, atomically; no pickle."""
        if callable(self.metric):
            raise ValueError("a task with a callable metric cannot be saved; use a metric name")
        pairs = [*self.train, *self.validation, *self.test]
        version = TASK_FORMAT_VERSION if any(p.filled is not None for p in pairs) else 1
        meta = {"format_version": version, "name": self.name, "washout": int(self.washout),
                "generative": self.generative, "metric": self.metric, "description": self.description,
                "info": self.info, "continued": self.continued, "forecast_horizon": self.forecast_horizon,
                "validation_windows": self.validation_windows, "free_run_steps": self.free_run_steps,
                "stability_steps": self.stability_steps,
                "noise_free": self.noise_free, "scaler": None if self.scaler is None else self.scaler.to_dict(),
                "input_names": list(self.input_names), "target_names": list(self.target_names),
                "counts": {s: len(getattr(self, s)) for s in ("train", "validation", "test")}}
        arrays = {"meta": np.array(json.dumps(meta))}
        for split in ("train", "validation", "test"):
            for i, pair in enumerate(getattr(self, split)):
                arrays[f"{split}_{i}_targets"] = pair.targets
                if pair.inputs is not None:
                    arrays[f"{split}_{i}_inputs"] = pair.inputs
                if pair.filled is not None:
                    arrays[f"{split}_{i}_filled"] = pair.filled
        path = Path(path)
        with atomic.atomic_file(path, "wb") as handle:
            np.savez(handle, **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Task:
        """Read a task written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.pop("format_version") not in TASK_FORMAT_VERSIONS:
                raise ValueError(f"{path}: unsupported task format (written by a newer evolino?)")
            counts = meta.pop("counts")
            splits = {split: [SequencePair(data[f"{split}_{i}_targets"], data.get(f"{split}_{i}_inputs"),
                                           filled=data.get(f"{split}_{i}_filled"))
                              for i in range(counts[split])] for split in ("train", "validation", "test")}
        scaler = meta.pop("scaler")
        return cls(**meta, **splits, scaler=None if scaler is None else Standardizer.from_dict(scaler))

    def describe(self) -> dict:
        """JSON-ready description: protocol, sizes and units (what ``task.json`` of a run folder holds)."""
        return {"name": self.name, "description": self.description, "generative": self.generative,
                "continued": self.continued, "forecast_horizon": self.forecast_horizon, "washout": int(self.washout),
                "metric": metric_name(self.metric), "noise_free": self.noise_free,
                "validation_windows": self.validation_windows, "free_run_steps": self.free_run_steps,
                "stability_steps": self.stability_steps, "inputs": list(self.input_names) or self.n_inputs,
                "targets": list(self.output_names),
                "steps": {s: [p.steps for p in getattr(self, s)] for s in ("train", "validation", "test")},
                "scaler": None if self.scaler is None else self.scaler.to_dict(), "info": self.info}


_REGISTRY: dict[str, tuple[Callable[..., Task], str]] = {}


def register_task(name: str, description: str) -> Callable[[Callable[..., Task]], Callable[..., Task]]:
    """Decorator: make a task factory available by name (CLI ``--task NAME``)."""

    def decorate(factory: Callable[..., Task]) -> Callable[..., Task]:
        _REGISTRY[name] = (factory, description)
        return factory

    return decorate


def task_names() -> list[str]:
    return sorted(_REGISTRY)


def task_description(name: str) -> str:
    return _REGISTRY[name][1]


def make_task(name: str, **options) -> Task:
    """Build a registered task by name; raises ``ValueError`` for unknown names."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(task_names())}")
    return _REGISTRY[name][0](**options)
