"""One series to forecast, in its own units, and the same series under a transform in a network's units.

:class:`Series` is what a forecaster fits and is scored on: the levels (T, m) in the data's units, the inputs known in
advance (T, k), which steps count in an error (``scored``: False where a value was filled in), and the split
(train, validation, test steps) of the task it came from. Only ``levels[:seen]`` (train and validation) may be
looked at by any choice; the test part is read once, to score the final forecast.

:class:`Prepared` is the series under one :class:`~evolino.forecasting.transforms.SeriesTransform`, cut at ``cut``
into the parts a network is evolved on, as an ordinary generative :class:`~evolino.tasks.Task` standardised on its
training part (the transformed steps before ``cut``): the same model units serve the network, its readout and the
linear model. Index bookkeeping: step i of the task's line is step ``i + offset`` of the levels (``offset`` = the
steps the transform loses at the start).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evolino.forecasting.transforms import SeriesTransform
from evolino.tasks.base import SequencePair, Task

__all__ = ["Series", "Prepared", "prepare"]


@dataclass(frozen=True, eq=False)
class Series:
    """A series in the data's units (see the module docstring).

    Attributes
    ----------
    levels : (T, m)
    inputs : (T, k) or None
    scored : (T,) bool
    sizes : (train, validation, test) steps
    name : str
    target_names, input_names : tuple of str
    metric : str
    time : dict or None
        The task's ``info["time"]`` (the date column, its frequency, first and last date), when the data had dates.
    """

    levels: np.ndarray
    inputs: np.ndarray | None
    scored: np.ndarray
    sizes: tuple[int, int, int]
    name: str = "series"
    target_names: tuple[str, ...] = ()
    input_names: tuple[str, ...] = ()
    metric: str = "nrmse"
    time: dict | None = None

    @property
    def seen(self) -> int:
        """Steps before the test part: all that a choice may look at."""
        return self.sizes[0] + self.sizes[1]

    @property
    def horizon(self) -> int:
        """The forecast the test scores: the test part's length (the validation part's without one)."""
        return self.sizes[2] or self.sizes[1]

    @property
    def steps(self) -> int:
        return self.levels.shape[0]

    @classmethod
    def from_task(cls, task: Task) -> Series:
        """The series of a continued, generative one-line task (what ``data_task(kind="generate")`` builds), in
        original units."""
        if not (task.generative and task.continued and len(task.train) == 1):
            raise ValueError("a forecast needs one series: a generative task with one training sequence")
        parts = [task.train[0], *task.validation[:1], *task.test[:1]]
        levels = task.to_original(np.concatenate([p.targets for p in parts]))
        inputs = None
        if task.n_inputs:
            inputs = np.concatenate([p.inputs for p in parts])
            if task.scaler is not None:
                inputs = inputs * task.scaler.input_std + task.scaler.input_mean
        scored = np.concatenate([p.scored for p in parts])
        sizes = tuple(p[0].steps if p else 0 for p in (task.train, task.validation, task.test))
        metric = task.metric if isinstance(task.metric, str) else "nrmse"
        return cls(levels, inputs, scored, sizes, task.name, tuple(task.output_names), tuple(task.input_names),
                   metric, task.info.get("time"))

    def windows(self, origins: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """Targets (O, horizon, m) of the steps after each origin and their scored mask (O, horizon); steps past
        the seen data are not scored (NaN)."""
        targets = np.full((len(origins), horizon, self.levels.shape[1]), np.nan)
        mask = np.zeros((len(origins), horizon), dtype=bool)
        for i, origin in enumerate(origins):
            stop = min(origin + horizon, self.seen)
            targets[i, : stop - origin] = self.levels[origin:stop]
            mask[i, : stop - origin] = self.scored[origin:stop]
        return targets, mask


@dataclass(frozen=True, eq=False)
class Prepared:
    """A series under one transform, as a standardised generative task (see the module docstring).

    Attributes
    ----------
    series : Series
    transform : SeriesTransform
    task : Task
        train = transformed steps [offset, cut), validation = [cut, seen), test = [seen, T); model units.
    z : (T - offset, m)
        The transformed series in model units (NaN where a level was missing), every part joined.
    inputs : (T - offset, k) or None
        The inputs in model units.
    scored : (T - offset,) bool
        Transformed steps whose every ingredient was a real (not filled) value.
    """

    series: Series
    transform: SeriesTransform
    task: Task
    z: np.ndarray
    inputs: np.ndarray | None
    scored: np.ndarray

    @property
    def offset(self) -> int:
        return self.transform.lost

    def to_levels(self, forecast: np.ndarray, origin: int, history: np.ndarray | None = None) -> np.ndarray:
        """Levels (..., H, m) of a model-unit forecast (..., H, m) of the steps from level step ``origin``, after the
        levels before it (``history``: the series' own by default)."""
        changes = self.task.to_original(forecast)
        before = self.series.levels[:origin] if history is None else history
        return self.transform.integrate(changes, before)

    def one_step_levels(self, predicted: np.ndarray, start: int) -> np.ndarray:
        """Levels (..., H, m) of model-unit one-step predictions of level steps [start, start + H)."""
        return self.transform.one_step(self.task.to_original(predicted), self.series.levels, start)


def _pair(targets: np.ndarray, inputs: np.ndarray | None, scored: np.ndarray) -> SequencePair:
    filled = ~scored
    if filled.any():  # stand-in values: fed back, never fitted or scored
        return SequencePair(targets, inputs, filled=filled)
    return SequencePair(targets, inputs)


def prepare(series: Series, transform: SeriesTransform, cut: int, washout: int | None = None,
            validation_windows: int = 5) -> Prepared:
    """The series under ``transform`` as a generative task split at level steps ``cut`` (end of training) and
    ``series.seen`` (end of validation), standardised on its training part.

    ``washout`` defaults to min(50, a tenth of the training part), as for data tasks; the validation free runs are
    as long as the test part (``series.horizon``).
    """
    offset = transform.lost
    if not offset < cut < series.seen:
        raise ValueError(f"the training part must end between step {offset} and {series.seen}, got {cut}")
    z = transform.forward(series.levels)[offset:]
    scored = series.scored.copy()
    for lag in ([1] if transform.difference else []) + ([transform.season] if transform.season else []) + \
            ([transform.season + 1] if transform.season and transform.difference else []):
        scored[lag:] &= series.scored[:-lag]
    scored = scored[offset:]
    inputs = None if series.inputs is None else series.inputs[offset:]
    if not np.isfinite(z[: series.seen - offset]).all():
        raise ValueError(f"the {transform.name} transform of {series.name!r} is not finite before the test part")
    bounds = [0, cut - offset, series.seen - offset, series.steps - offset]
    parts = [_pair(z[a:b], None if inputs is None else inputs[a:b], scored[a:b]) if b > a else None
             for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    train_steps = bounds[1]
    washout = min(50, train_steps // 10) if washout is None else washout
    validation_steps = bounds[2] - bounds[1]
    task = Task(series.name, train=[parts[0]], validation=[parts[1]], test=[parts[2]] if parts[2] else (),
                washout=washout, generative=True, metric=series.metric,
                description=f"{series.name} under transform {transform.name}",
                validation_windows=min(validation_windows, validation_steps),
                free_run_steps=validation_steps if series.inputs is not None else max(series.horizon,
                                                                                     validation_steps),
                input_names=series.input_names, target_names=series.target_names,
                forecast_horizon=1).standardized()
    scaler = task.scaler
    z_model = scaler.targets_to_model(z)
    inputs_model = None if inputs is None else scaler.inputs_to_model(inputs)
    return Prepared(series, transform, task, z_model, inputs_model, scored)
