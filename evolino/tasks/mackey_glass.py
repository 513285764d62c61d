"""The Mackey-Glass series and Jaeger's NRMSE84, the Evolino paper's chaotic time series benchmark.

    dx/dt = 0.2 x(t - tau) / (1 + x(t - tau)^10) - 0.1 x(t)

integrated with the classical Runge-Kutta method at step ``dt`` (0.1 by default; the delayed values at the half steps
are the average of the neighbouring stored ones), a constant history x = 1.2 for t <= 0, sampled at unit time, the
first ``transient`` samples dropped. tau = 17 is mildly chaotic; tau = 30 more so.

Protocol of Jaeger (The "echo state" approach to analysing and training recurrent neural networks, GMD Report 148,
2001), which the Evolino paper (Schmidhuber, Wierstra, Gagliolo & Gomez, Neural Computation 2007) reports against:
teacher forcing on the training series, then free-running prediction; NRMSE84 is the error 84 steps after the end of
the teacher-forced history, over ``runs`` independent start points,

    NRMSE84 = sqrt( sum_i (y_i(n + 84) - yhat_i(n + 84))^2 / (runs * var(y)) ),

with var(y) the variance of the series. :func:`nrmse84` computes it for any model's ``generate``.

Task ``mackey-glass`` (generative, noise-free): train (washout 100), validation (free runs of 84 steps from five
points) and, as the task's own test, the 84 steps after the validation part. :func:`task_nrmse84` then measures
NRMSE84 on the series' continuation: ``runs`` start points drawn from the next ``span`` samples, each after at least
``history`` of them, so the start points are never seen in training or validation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from evolino.tasks.base import SequencePair, Task, register_task

__all__ = ["mackey_glass", "nrmse84", "task_nrmse84", "mackey_glass_task", "HORIZON"]

HORIZON = 84


def mackey_glass(samples: int, tau: float = 17.0, dt: float = 0.1, transient: int = 1000, x0: float = 1.2,
                 ) -> np.ndarray:
    """The Mackey-Glass series at unit time: (samples,) after ``transient`` samples, RK4 at step ``dt``."""
    per_unit = int(round(1.0 / dt))
    if per_unit < 1 or not np.isclose(per_unit * dt, 1.0):
        raise ValueError(f"dt must divide 1 (0.1, 0.05, 0.01, ...), got {dt}")
    delay = int(round(tau / dt))
    if delay < 1 or not np.isclose(delay * dt, tau):
        raise ValueError(f"tau must be a multiple of dt, got tau {tau}, dt {dt}")
    steps = (samples + transient) * per_unit
    x = np.empty(steps + delay + 1)
    x[: delay + 1] = x0  # history for t <= 0

    def rate(now: float, past: float) -> float:
        return 0.2 * past / (1.0 + past**10) - 0.1 * now

    for k in range(delay, delay + steps):
        past, past_next = x[k - delay], x[k - delay + 1]
        past_mid = 0.5 * (past + past_next)
        now = x[k]
        k1 = rate(now, past)
        k2 = rate(now + 0.5 * dt * k1, past_mid)
        k3 = rate(now + 0.5 * dt * k2, past_mid)
        k4 = rate(now + dt * k3, past_next)
        x[k + 1] = now + dt * (k1 + 2 * k2 + 2 * k3 + k4) / 6.0
    series = x[delay::per_unit][: samples + transient]
    return series[transient:]


def nrmse84(generate: Callable[[np.ndarray, int], np.ndarray], series: np.ndarray, starts, variance: float,
            horizon: int = HORIZON) -> float:
    """NRMSE of free runs ``horizon`` steps after each start point.

    generate : ``(history (T, 1), steps) -> outputs (steps, 1)``, e.g. ``EvolinoModel.generate``
    series : (N,) the whole series in the model's units; starts : indices where the free runs begin (each run sees
    ``series[:start]`` teacher-forced); variance : var(y) of the series.
    """
    errors = [float(generate(series[:start, None], horizon)[horizon - 1, 0] - series[start + horizon - 1])
              for start in starts]
    return float(np.sqrt(np.sum(np.square(errors)) / (len(errors) * variance)))


@register_task("mackey-glass", "Mackey-Glass series (tau 17), generative; NRMSE84 over 50 start points "
               "(evolino.tasks.mackey_glass.task_nrmse84)")
def mackey_glass_task(tau: float = 17.0, train: int = 3000, validation: int = 500, washout: int = 100,
                      runs: int = 50, span: int = 2000, history: int = 500, dt: float = 0.1, seed: int = 0) -> Task:
    """Train on ``train`` samples, validate on the next ``validation`` (five 84-step free runs), test on the 84 after;
    ``info["nrmse84"]`` describes the NRMSE84 measurement on the following ``span`` samples (see the module
    docstring)."""
    if span < history + HORIZON + runs:
        raise ValueError(f"span ({span}) must hold {history} history steps, {runs} starts and {HORIZON} more")
    y = mackey_glass(train + validation + HORIZON, tau=tau, dt=dt)
    first = train + validation + history
    starts = np.sort(np.random.default_rng(seed).choice(np.arange(first, train + validation + span - HORIZON),
                                                         runs, replace=False))
    return Task(
        name="mackey-glass", train=SequencePair(y[:train]), validation=SequencePair(y[train:train + validation]),
        test=SequencePair(y[train + validation:]), washout=washout, generative=True, validation_windows=5,
        free_run_steps=HORIZON, noise_free=True,
        description=f"Mackey-Glass, tau {tau:g}, {train}/{validation}/{HORIZON} samples; NRMSE84 over {runs} starts",
        info={"tau": tau, "dt": dt, "nrmse84": {"samples": train + validation + span, "starts": starts.tolist()}},
    )


def task_nrmse84(task: Task, generate: Callable[[np.ndarray, int], np.ndarray]) -> float:
    """NRMSE84 of a model's ``generate`` on a ``mackey-glass`` task's continuation.

    ``generate`` works in the series' original units, as :meth:`evolino.model.EvolinoModel.generate` does (a model
    fitted on ``task.standardized()`` carries the scaler); NRMSE does not depend on the units.
    """
    measure = task.info["nrmse84"]
    series = mackey_glass(measure["samples"], tau=task.info["tau"], dt=task.info["dt"])
    return nrmse84(generate, series, measure["starts"], float(np.var(series)))
