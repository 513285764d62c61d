"""Errors of a population's outputs against targets, on the steps that have a target.

Every metric is an error (lower is better); non-finite errors become +inf, so a diverging network never crashes a
run. Scores are pooled over all scored steps of all sequences (not averaged per sequence), so a task with one label
per sequence is scored over its labels, and NRMSE's variance is that of all scored targets.

Metrics, for targets ``y`` (T, m), outputs ``yhat`` and the scored steps only:

* ``nrmse``  sqrt(mean((y - yhat)^2) / var(y)) per output, averaged over outputs (unit-free; a column that does not
  vary is divided by 1, and :class:`~evolino.tasks.Task` refuses such data for NRMSE);
* ``rmse``, ``mse``, ``mae``  per output in the targets' original units, averaged over outputs;
* ``error_rate``  fraction of scored steps classified wrongly: argmax against argmax for one-hot targets (m > 1,
  one 1 per step), otherwise every output thresholded at 0.5 against targets > 0.5 (binary / multi-label);
* ``accuracy`` (reported, not a fitness) is 1 - error_rate;
* a callable ``metric(targets (T, m), outputs (n, T, m), mask (T,) bool) -> errors (n,)``, called with arrays in
  original units.

Original units: tasks may hold standardised arrays (:class:`evolino.scaling.Standardizer`); ``scale`` and ``offset``
(m,) map them back (``y = z * scale + offset``). NRMSE and the error rate do not depend on them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["METRICS", "REPORTED_METRICS", "Metric", "check_metric", "metric_name", "score", "classification_error",
           "report_scores", "confusion_matrix", "balanced_accuracy", "finite_or_none", "error_or_inf"]

METRICS = ("nrmse", "rmse", "mse", "mae", "error_rate")
REPORTED_METRICS = (*METRICS, "accuracy")

Metric = str | Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def check_metric(metric: Metric) -> Metric:
    """``metric`` if it is a known name or a callable; ValueError otherwise."""
    if callable(metric) or metric in METRICS:
        return metric
    raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)} or pass a callable "
                     "metric(targets, outputs, mask) -> errors")


def metric_name(metric: Metric) -> str:
    return metric if isinstance(metric, str) else getattr(metric, "__name__", "custom")


def classification_error(targets: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Fraction of wrongly classified steps; targets (T, m), outputs (n, T, m) -> (n,)."""
    one_hot = targets.shape[1] > 1 and np.all(np.isin(targets, (0.0, 1.0))) and np.all(targets.sum(axis=1) == 1)
    if one_hot:
        wrong = np.argmax(outputs, axis=2) != np.argmax(targets, axis=1)[None]
    else:
        wrong = np.any((outputs > 0.5) != (targets > 0.5)[None], axis=2)
    return wrong.mean(axis=1)


def score(metric: Metric, targets: np.ndarray, outputs: np.ndarray, mask: np.ndarray | None = None,
          scale: np.ndarray | None = None, offset: np.ndarray | None = None) -> np.ndarray:
    """Error of every genome's outputs on the scored steps.

    Parameters
    ----------
    metric : name (see the module docstring) or callable
    targets : (T, m)
    outputs : (n, T, m)
    mask : (T,) bool or None
        Steps that are scored; None scores every step. Unscored targets may be NaN.
    scale, offset : (m,) or None
        Map the arrays to original units: ``y = z * scale + offset`` (identity by default).

    Returns
    -------
    errors : (n,), +inf where the error is not finite (or where no step is scored).
    """
    targets = np.asarray(targets, dtype=np.float64)
    outputs = np.asarray(outputs, dtype=np.float64)
    if mask is not None and not mask.all():
        targets, outputs = targets[mask], outputs[:, mask]
    n, m = outputs.shape[0], targets.shape[1]
    if targets.shape[0] == 0:
        return np.full(n, np.inf)
    scale = np.ones(m) if scale is None else np.asarray(scale, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        if callable(metric):
            offset = np.zeros(m) if offset is None else np.asarray(offset, dtype=np.float64)
            errors = np.asarray(metric(targets * scale + offset, outputs * scale + offset,
                                       np.ones(targets.shape[0], dtype=bool)), dtype=np.float64).reshape(n)
        elif metric == "error_rate":
            errors = classification_error(targets, outputs)
        else:
            residual = outputs - targets[None]
            if metric == "mae":
                per_output = np.mean(np.abs(residual), axis=1) * scale
            else:
                mse = np.mean(residual**2, axis=1)  # (n, m)
                if metric == "mse":
                    per_output = mse * scale**2
                elif metric == "rmse":
                    per_output = np.sqrt(mse) * scale
                elif metric == "nrmse":
                    variance = np.var(targets, axis=0)
                    per_output = np.sqrt(mse / np.where(variance > 0, variance, 1.0))
                else:
                    raise ValueError(f"unknown metric {metric!r}")
            errors = per_output.mean(axis=1)
    return np.where(np.isfinite(errors), errors, np.inf)


def confusion_matrix(targets: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Counts (m, m) of one-hot targets (S, m) (row: the true class) against the argmax of outputs (S, m) (column:
    the predicted class)."""
    m = targets.shape[1]
    counts = np.zeros((m, m), dtype=int)
    np.add.at(counts, (np.argmax(targets, axis=1), np.argmax(outputs, axis=1)), 1)
    return counts


def balanced_accuracy(confusion: np.ndarray) -> float:
    """The mean over the classes that occur of the fraction of their steps classified right (recall)."""
    occur = confusion.sum(axis=1) > 0
    return float(np.mean(np.diag(confusion)[occur] / confusion.sum(axis=1)[occur])) if occur.any() else float("nan")


def report_scores(names, targets: np.ndarray, outputs: np.ndarray, mask: np.ndarray | None = None,
                  scale: np.ndarray | None = None, offset: np.ndarray | None = None) -> dict[str, float | None]:
    """Several named metrics of one output array (T, m) -> {name: value}; ``accuracy`` = 1 - error rate.

    Non-finite values are None (JSON null)."""
    scores = {}
    for name in names:
        base = "error_rate" if name == "accuracy" else name
        value = float(score(base, targets, outputs[None], mask, scale, offset)[0])
        if name == "accuracy":
            value = 1.0 - value
        scores[name] = finite_or_none(value)
    return scores


def finite_or_none(x) -> float | None:
    """``x`` as a float, or None where it is NaN or infinite: JSON has no infinity, so a diverged error is null."""
    x = float(x)
    return x if np.isfinite(x) else None


def error_or_inf(x) -> float:
    """An error read back from JSON as a float to rank by: None (null) and NaN become +inf, the worst."""
    return float("inf") if x is None or not np.isfinite(float(x)) else float(x)
