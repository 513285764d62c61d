"""The trivial models every result is shown beside: persistence, the training mean and a linear model of the last p
steps (an autoregression AR(p) on forecasting tasks).

They follow Evolino's protocol exactly (:mod:`evolino.fitness`): fitted on the training part, their one setting
chosen on the validation part (with the same free-run windows for generative tasks), refitted on train + validation,
tested once on the same steps with the same metric, in original units.

* **linear(p)**, reported as ``ar``: the target at step t regressed by least squares (with a bias) on the external
  sources of the last p steps, ``x_e(t), ..., x_e(t-p+1)`` with ``x_e(t) = [u(t), y(t-1)]``. On a generative task
  that is AR(p) on the series (with the current inputs as exogenous regressors), and its free runs feed its own
  output back; on a k-step forecast from inputs it is the direct k-step AR model; on other supervised tasks a linear
  filter of the inputs. It equals the readout of an Evolino network with ``readout_lags = p`` and no cells.
  p in 1..``max_order`` is chosen on validation, separately for the one-step and the free-run report; without
  validation data p = 1.
* **persistence** (forecasting tasks): the target ``forecast_horizon`` steps earlier; in a free run, the last known
  value held.
* **mean**: the mean target of the data seen before the test (the majority-class rate for one-hot targets).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evolino.fitness import line_of
from evolino.metrics import score
from evolino.network import LSTMSpec
from evolino.tasks.base import Task

__all__ = ["BaselineReport", "trivial_baselines", "choose_ar_order", "choose_ar_orders", "MAX_ORDER"]

MAX_ORDER = 30


@dataclass
class BaselineReport:
    """Test errors of the trivial models and their test outputs.

    Attributes
    ----------
    errors : dict
        JSON-ready, e.g. ``{"ar": {"test_error": ..., "test_one_step_error": ..., "order": 9,
        "order_one_step": 9}, "persistence": {...}, "mean": {...}}``; ``test_error`` is the free run on
        generative tasks, like Evolino's.
    outputs : dict of name -> list of (T_i, m)
        Test outputs in model units: free runs on generative tasks, where ``ar_one_step`` and
        ``persistence_one_step`` hold the one-step predictions.
    """

    errors: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)


def _spec(task: Task, order: int) -> LSTMSpec:
    return LSTMSpec(n_inputs=task.n_inputs, cells=1, n_outputs=task.n_outputs, feedback=task.generative,
                    readout_lags=order)


class _Linear:
    """linear(p) on the lines of one task."""

    def __init__(self, task: Task, order: int) -> None:
        self.task, self.order, self.spec = task, order, _spec(task, order)

    def lines(self, parts_per_line):
        return [line_of(self.spec, parts) for parts in parts_per_line]

    def fit(self, lines, stops, start: int) -> np.ndarray:
        """Least squares on steps [max(start, p - 1), stop) that have a target -> weights (n_direct + 1, m)."""
        rows_x, rows_y = [], []
        for line, stop in zip(lines, stops, strict=True):
            rows = line.scored.copy()
            rows[: max(start, self.order - 1)] = False
            rows[stop:] = False
            rows_x.append(line.direct[rows])
            rows_y.append(line.targets[rows])
        x = np.concatenate(rows_x)
        x = np.concatenate([x, np.ones((x.shape[0], 1))], axis=1)
        return np.linalg.lstsq(x, np.concatenate(rows_y), rcond=None)[0]

    @staticmethod
    def predict(line, weights, start: int, stop: int) -> np.ndarray:
        return line.direct[start:stop] @ weights[:-1] + weights[-1]

    def free_run(self, line, weights, start: int, steps: int) -> np.ndarray:
        """Closed loop from step ``start``: the output is fed back as the next y(t-1)."""
        n_in, m, p = self.task.n_inputs, self.task.n_outputs, self.order
        width = n_in + m
        window = line.direct[start - 1].copy() if start > 0 else np.zeros(p * width)  # x_e(start-1), ...
        y = line.targets[start - 1].copy()
        outputs = np.empty((steps, m))
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(steps):
                window[width:] = window[:-width]
                window[:n_in] = line.inputs[start + t] if n_in else 0.0
                window[n_in:width] = y
                y = window @ weights[:-1] + weights[-1]
                outputs[t] = y
        return outputs


def _pooled(task: Task, pieces) -> float:
    """The task's metric over (targets, outputs, mask) pieces pooled."""
    if not pieces:
        return float("nan")
    targets = np.concatenate([t for t, _, _ in pieces])
    outputs = np.concatenate([o for _, o, _ in pieces])[None]
    mask = np.concatenate([k for _, _, k in pieces])
    scale, offset = task.column_scale
    return float(score(task.metric, targets, outputs, mask, scale, offset)[0])


def _after(mask: np.ndarray, washout: int) -> np.ndarray:
    mask = mask.copy()
    mask[:washout] = False
    return mask


def _validation_errors(task: Task, order: int, modes: tuple[bool, ...]) -> list[float]:
    """linear(order) fitted on train (once), scored on validation for each mode: one step (False) or the free-run
    windows of the fitness (True)."""
    model = _Linear(task, order)
    if not task.continued:
        lines = model.lines([[p] for p in task.train])
        weights = model.fit(lines, [line.steps for line in lines], task.washout)
        pieces = [(line.targets, model.predict(line, weights, 0, line.steps), _after(line.scored, task.washout))
                  for line in model.lines([[p] for p in task.validation])]
        return [_pooled(task, pieces)] * len(modes)
    lines = model.lines([[tr, va] for tr, va in zip(task.train, task.validation, strict=True)])
    stops = [tr.steps for tr in task.train]
    weights = model.fit(lines, stops, task.washout)
    return [_continued_error(task, model, lines, stops, weights, free_run) for free_run in modes]


def _continued_error(task: Task, model: _Linear, lines, stops, weights: np.ndarray, free_run: bool) -> float:
    pieces = []
    bound = task.divergence_bound
    for line, stop in zip(lines, stops, strict=True):
        available = line.steps - stop
        if not free_run:
            pieces.append((line.targets[stop:], model.predict(line, weights, stop, line.steps), line.scored[stop:]))
            continue
        horizon = task.free_run_length(available)
        for offset in task.validation_starts(available):
            start = stop + offset
            inside = min(horizon, line.steps - start)
            outputs = model.free_run(line, weights, start, inside if task.n_inputs else horizon)
            if not (np.abs(outputs[inside:]) <= bound).all():
                return float("inf")
            pieces.append((line.targets[start : start + inside], outputs[:inside], line.scored[start : start + inside]))
    return _pooled(task, pieces)


def _max_order(task: Task, max_order: int) -> int:
    shortest = min(p.steps for p in task.train) - task.washout
    return int(max(1, min(max_order, shortest // 5)))


def choose_ar_orders(task: Task, modes: tuple[bool, ...] = (False,), max_order: int = MAX_ORDER) -> list[int]:
    """For each mode (False: one step, True: free run), the order p of linear(p) with the best validation error (1
    without validation data; smallest on ties); each order is fitted once for all modes."""
    if not task.validation:
        return [1] * len(modes)
    errors = np.array([_validation_errors(task, p, modes) for p in range(1, _max_order(task, max_order) + 1)])
    errors = np.where(np.isfinite(errors), errors, np.inf)
    return [int(order) + 1 for order in np.argmin(errors, axis=0)]


def choose_ar_order(task: Task, free_run: bool = False, max_order: int = MAX_ORDER) -> int:
    """The order p of linear(p) with the best validation error (1 without validation data; smallest on ties)."""
    return choose_ar_orders(task, (free_run,), max_order)[0]


def _test_pieces(task: Task, model: _Linear):
    """Lines to fit on (seen data) with their stops, and the test stretches: (line, first test step, scored mask)."""
    seen = task.seen_before_test()
    stops = [s.steps for s in seen]
    if task.continued:
        lines = model.lines([[s, te] for s, te in zip(seen, task.test, strict=True)])
        return lines, stops, [(line, stop, line.scored[stop:]) for line, stop in zip(lines, stops, strict=True)]
    tests = [(line, 0, _after(line.scored, task.washout)) for line in model.lines([[p] for p in task.test])]
    return model.lines([[s] for s in seen]), stops, tests


def trivial_baselines(task: Task, max_order: int = MAX_ORDER) -> BaselineReport:
    """Test errors and outputs of the trivial models on ``task`` (an empty report without test data)."""
    report = BaselineReport()
    if not task.test:
        return report
    forecasting = task.forecast_horizon is not None and task.continued
    main_mode = "free_run" if task.generative else "one_step"
    modes = ("free_run", "one_step") if task.generative else ("one_step",)
    name = "ar" if forecasting else "linear"
    report.errors[name] = {}
    orders = choose_ar_orders(task, tuple(mode == "free_run" for mode in modes), max_order)
    for mode, order in zip(modes, orders, strict=True):
        model = _Linear(task, order)
        fit_lines, stops, tests = _test_pieces(task, model)
        weights = model.fit(fit_lines, stops, task.washout)
        outputs = [model.free_run(line, weights, start, line.steps - start) if mode == "free_run"
                   else model.predict(line, weights, start, line.steps) for line, start, _ in tests]
        main = mode == main_mode
        report.errors[name]["test_error" if main else "test_one_step_error"] = _pooled(task, _pieces(tests, outputs))
        report.errors[name]["order" if main else "order_one_step"] = order
        report.outputs[name if main else f"{name}_one_step"] = outputs

    _, _, tests = _test_pieces(task, _Linear(task, 1))
    seen = [p.targets[p.scored if task.continued else _after(p.scored, task.washout)]
            for p in task.seen_before_test()]
    mean = np.concatenate(seen).mean(axis=0)
    report.outputs["mean"] = [np.broadcast_to(mean, (line.steps - start, task.n_outputs)).copy()
                              for line, start, _ in tests]
    report.errors["mean"] = {"test_error": _pooled(task, _pieces(tests, report.outputs["mean"]))}
    if forecasting:
        k = task.forecast_horizon
        held = [line.targets[start - k : line.steps - k] for line, start, _ in tests]
        persistence = {"test_one_step_error" if task.generative else "test_error": _pooled(task, _pieces(tests, held))}
        if task.generative:
            report.outputs["persistence_one_step"] = held
            held = [np.broadcast_to(line.targets[start - 1], (line.steps - start, task.n_outputs)).copy()
                    for line, start, _ in tests]
            persistence["test_error"] = _pooled(task, _pieces(tests, held))
        report.errors["persistence"] = persistence
        report.outputs["persistence"] = held
    return report


def _pieces(tests, outputs):
    return [(line.targets[start:], out, mask) for (line, start, mask), out in zip(tests, outputs, strict=True)]
