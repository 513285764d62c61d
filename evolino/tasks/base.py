"""Tasks: sequences split into train / validation / test, and a registry of named tasks.

A task is data plus protocol. Evolution only ever sees ``train`` and ``validation``; ``test`` is used once, to
report the final error of the trained network.

Generative tasks (``generative=True``) are one continuing signal per sequence: ``validation[i]`` continues
``train[i]``, and ``test[i]`` continues ``validation[i]``. The network is teacher-forced on what comes before a window
and must generate the window closed-loop, feeding its own output back.

Supervised tasks map input sequences to target sequences; the network sees the inputs (and, with feedback, the
previous target), and the readout predicts each step's target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SequencePair", "Task", "register_task", "make_task", "task_names", "task_description"]

METRICS = ("nrmse", "mse", "rmse")


@dataclass(frozen=True)
class SequencePair:
    """One sequence: targets (T, n_outputs) and optional inputs (T, n_inputs)."""

    targets: np.ndarray
    inputs: np.ndarray | None = None

    def __post_init__(self) -> None:
        targets = _as_2d(self.targets, "targets")
        object.__setattr__(self, "targets", targets)
        if self.inputs is not None:
            inputs = _as_2d(self.inputs, "inputs")
            if inputs.shape[0] != targets.shape[0]:
                raise ValueError(f"inputs have {inputs.shape[0]} steps but targets have {targets.shape[0]}")
            object.__setattr__(self, "inputs", inputs)

    @property
    def steps(self) -> int:
        return self.targets.shape[0]


def _as_2d(array: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty (T,) or (T, k) array, got shape {array.shape}")
    if not np.isfinite(array).all():
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


@dataclass(frozen=True)
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
        Steps at the start of each teacher-forced run whose states are not used by the readout.
    generative : bool
        Closed-loop generation (see the module docstring) instead of teacher-forced prediction.
    metric : {"nrmse", "mse", "rmse"}
        NRMSE = sqrt(mean((y - yhat)^2) / var(y)) over the scored window, averaged over outputs.
    description : str
    """

    name: str
    train: Sequence[SequencePair]
    validation: Sequence[SequencePair] = ()
    test: Sequence[SequencePair] = ()
    washout: int = 0
    generative: bool = False
    metric: str = "nrmse"
    description: str = ""
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for split in ("train", "validation", "test"):
            object.__setattr__(self, split, _as_pairs(getattr(self, split)))
        if not self.train:
            raise ValueError("a task needs at least one training sequence")
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; choose one of {', '.join(METRICS)}")
        if self.washout < 0 or any(s.steps <= self.washout for s in self.train):
            raise ValueError(f"washout must be >= 0 and shorter than every training sequence, got {self.washout}")
        all_pairs = [*self.train, *self.validation, *self.test]
        if len({p.targets.shape[1] for p in all_pairs}) != 1:
            raise ValueError("every sequence must have the same number of target columns")
        if len({0 if p.inputs is None else p.inputs.shape[1] for p in all_pairs}) != 1:
            raise ValueError("every sequence must have the same number of input columns (or none)")
        if self.generative:
            if not self.validation:
                raise ValueError("a generative task needs validation windows that continue the training sequences")
            for later in (self.validation, self.test):
                if later and len(later) != len(self.train):
                    raise ValueError("a generative task needs one validation/test window per training sequence")

    def seen_before_test(self) -> list[SequencePair]:
        """What a method may fit on before it is tested: the training and validation sequences. For generative tasks
        each validation window is appended to the training sequence it continues, so that the test window continues
        the result."""
        if not self.generative:
            return [*self.train, *self.validation]
        return [SequencePair(np.concatenate([tr.targets, va.targets]),
                             None if tr.inputs is None else np.concatenate([tr.inputs, va.inputs]))
                for tr, va in zip(self.train, self.validation, strict=True)]

    @property
    def n_outputs(self) -> int:
        return self.train[0].targets.shape[1]

    @property
    def n_inputs(self) -> int:
        first = self.train[0].inputs
        return 0 if first is None else first.shape[1]


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
