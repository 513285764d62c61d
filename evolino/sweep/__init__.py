"""Sweeps: many whole evolino runs at once (seeds, grids, hyperparameter search) as Ray Tune trials.

:mod:`evolino.sweep.space` reads sweep files and plans trials, :mod:`evolino.sweep.runner` runs them on Ray Tune
(the ``tune`` extra: ``pip install "evolino[tune]"``), :mod:`evolino.sweep.summary` writes what they found.
``python -m evolino sweep SWEEP.toml --out DIR`` is the command line of :func:`run_sweep`.
"""

from evolino.sweep.space import Dimension, SweepSpec, Trial, load_sweep, plan_trials, sweep_from_dict, trial_config

__all__ = ["Dimension", "SweepSpec", "Trial", "load_sweep", "plan_trials", "run_sweep", "sweep_from_dict",
           "trial_config"]


def run_sweep(*args, **kwargs):
    """:func:`evolino.sweep.runner.run_sweep` (imported on first use: Ray Tune is slow to import)."""
    from evolino.sweep.runner import run_sweep as run

    return run(*args, **kwargs)
