"""The Evolino estimator: evolve an LSTM's hidden weights, compute its readout by least squares.

Style of scikit-learn: every parameter is set in ``__init__``; ``fit(task)`` runs evolution and returns a
:class:`FitResult` (also kept as ``self.result_``; the trained network is ``self.model_``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from evolino.backends import make_evaluator
from evolino.fitness import EvolinoProblem, test_error
from evolino.model import EvolinoModel
from evolino.network import LSTMSpec
from evolino.optimizers import make_optimizer, optimizer_options
from evolino.readout import ReadoutConfig
from evolino.tasks.base import Task

__all__ = ["Evolino", "FitResult", "HISTORY_COLUMNS"]

HISTORY_COLUMNS = ("generation", "evaluations", "best", "mean", "median", "worst", "best_ever", "wall_seconds",
                   "step_size")


@dataclass
class FitResult:
    """What a run produced.

    Attributes
    ----------
    model : EvolinoModel
        The best-ever genome with its readout refitted on train + validation.
    train_error : float
        Best fitness seen during evolution (the error on train / validation data).
    test_error : float
        Error of ``model`` on the test sequences (NaN when the task has none).
    history : list of dict
        One row per generation, keys ``HISTORY_COLUMNS``.
    """

    model: EvolinoModel
    task: str
    optimizer: str
    seed: int
    cells: int
    generations: int
    evaluations: int
    wall_seconds: float
    train_error: float
    test_error: float
    stop_reason: str
    history: list[dict] = field(default_factory=list)
    test_outputs: list[np.ndarray] = field(default_factory=list)

    def summary(self) -> dict:
        """JSON-ready numbers of the run (what ``result.json`` holds)."""
        return {
            "task": self.task,
            "optimizer": self.optimizer,
            "seed": self.seed,
            "cells": self.cells,
            "generations": self.generations,
            "evaluations": self.evaluations,
            "wall_seconds": round(self.wall_seconds, 3),
            "train_error": _json_float(self.train_error),
            "test_error": _json_float(self.test_error),
            "stop_reason": self.stop_reason,
        }


def _json_float(x: float):
    return float(x) if np.isfinite(x) else None


class Evolino:
    """Evolino: evolution of LSTM hidden weights with optimal linear readouts (Schmidhuber et al. 2007).

    Parameters
    ----------
    cells : int
        Memory cells.
    optimizer : str
        Registered optimizer name (``evolino.optimizers.optimizer_names()``), e.g. "cma", "sep-cma".
    population : int
        Genomes per generation.
    generations : int
        Generation budget.
    seed : int
        Seed of every random number in the run.
    peepholes, forget_gate : bool
        LSTM variant.
    feedback : bool or None
        Feed the previous target/output back as an input; None means "if the task is generative".
    feedback_scale : float
        Scale of the fed-back value.
    init_scale : float
        Initial weights are N(0, init_scale^2); also the optimizer's initial step size unless it sets its own.
    rcond, ridge, readout_bias
        Readout options, see :class:`evolino.readout.ReadoutConfig`.
    optimizer_options : dict, optional
        Keyword options of the optimizer (validated).
    backend : str
        "serial" or "ray".
    backend_options : dict, optional
        Options of the backend (e.g. ``address``, ``workers`` for Ray).
    target_error : float, optional
        Stop when the best fitness reaches this value.
    max_evaluations : int, optional
        Stop after this many fitness evaluations.
    max_seconds : float, optional
        Stop after this much wall-clock time (checked after each generation).
    callbacks : sequence of callables
        Each called as ``callback(row: dict)`` after every generation.
    """

    def __init__(
        self,
        cells: int = 10,
        optimizer: str = "cma",
        population: int = 40,
        generations: int = 100,
        seed: int = 0,
        peepholes: bool = True,
        forget_gate: bool = True,
        feedback: bool | None = None,
        feedback_scale: float = 1e-3,
        init_scale: float = 0.3,
        rcond: float = 1e-10,
        ridge: float = 0.0,
        readout_bias: bool = True,
        optimizer_options: dict | None = None,
        backend: str = "serial",
        backend_options: dict | None = None,
        target_error: float | None = None,
        max_evaluations: int | None = None,
        max_seconds: float | None = None,
        callbacks: Sequence[Callable[[dict], None]] = (),
    ) -> None:
        self.cells = cells
        self.optimizer = optimizer
        self.population = population
        self.generations = generations
        self.seed = seed
        self.peepholes = peepholes
        self.forget_gate = forget_gate
        self.feedback = feedback
        self.feedback_scale = feedback_scale
        self.init_scale = init_scale
        self.rcond = rcond
        self.ridge = ridge
        self.readout_bias = readout_bias
        self.optimizer_options = optimizer_options
        self.backend = backend
        self.backend_options = backend_options
        self.target_error = target_error
        self.max_evaluations = max_evaluations
        self.max_seconds = max_seconds
        self.callbacks = callbacks

    def _validate(self) -> None:
        for name in ("cells", "population", "generations"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not (isinstance(self.seed, (int, np.integer)) and self.seed >= 0):
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not (np.isfinite(self.init_scale) and self.init_scale > 0):
            raise ValueError(f"init_scale must be finite and > 0, got {self.init_scale!r}")

    def build_problem(self, task: Task) -> EvolinoProblem:
        """The pure fitness problem for ``task`` with this estimator's network and readout settings."""
        feedback = task.generative if self.feedback is None else bool(self.feedback)
        if task.generative and not feedback:
            raise ValueError("generative tasks need feedback=True")
        spec = LSTMSpec(n_inputs=task.n_inputs, cells=int(self.cells), n_outputs=task.n_outputs,
                        peepholes=bool(self.peepholes), forget_gate=bool(self.forget_gate), feedback=feedback,
                        feedback_scale=float(self.feedback_scale))
        readout = ReadoutConfig(rcond=float(self.rcond), ridge=float(self.ridge), bias=bool(self.readout_bias))
        return EvolinoProblem(spec, task, readout)

    def fit(self, task: Task) -> FitResult:
        """Evolve a network for ``task``; returns the :class:`FitResult` (also ``self.result_``)."""
        self._validate()
        problem = self.build_problem(task)
        spec = problem.spec
        init_rng, optimizer_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(self.seed).spawn(2))
        x0 = init_rng.normal(0.0, self.init_scale, spec.dimension)
        # Optimizers with a step-size option start at init_scale unless told otherwise.
        options = {"sigma0": self.init_scale} if "sigma0" in optimizer_options(self.optimizer) else {}
        options.update(self.optimizer_options or {})
        opt = make_optimizer(self.optimizer, x0, optimizer_rng, int(self.population), spec.cell_slices(), **options)

        history: list[dict] = []
        start = time.perf_counter()
        stop_reason = "generations"
        with make_evaluator(self.backend, problem, **(self.backend_options or {})) as evaluator:
            for generation in range(1, int(self.generations) + 1):
                genomes = opt.ask()
                errors = evaluator.evaluate(genomes)
                opt.tell(genomes, errors)
                row = _history_row(generation, opt, errors, time.perf_counter() - start)
                history.append(row)
                for callback in self.callbacks:
                    callback(row)
                stop_reason = self._should_stop(opt, time.perf_counter() - start)
                if stop_reason:
                    break
            stop_reason = stop_reason or "generations"
        return self._finish(task, problem, opt, history, start, stop_reason)

    def _should_stop(self, opt, elapsed: float) -> str:
        if self.target_error is not None and opt.best_error <= self.target_error:
            return "target_error"
        if self.max_evaluations is not None and opt.evaluations >= self.max_evaluations:
            return "max_evaluations"
        if self.max_seconds is not None and elapsed >= self.max_seconds:
            return "max_seconds"
        return ""

    def _finish(self, task, problem, opt, history, start, stop_reason) -> FitResult:
        best = opt.best_genome[None]
        errors, readout, outputs = test_error(problem.spec, best, task, problem.readout)
        model = EvolinoModel(problem.spec, opt.best_genome, readout[0])
        self.model_ = model
        self.result_ = FitResult(
            model=model, task=task.name, optimizer=self.optimizer, seed=int(self.seed), cells=int(self.cells),
            generations=opt.generation, evaluations=opt.evaluations,
            wall_seconds=time.perf_counter() - start, train_error=float(opt.best_error),
            test_error=float(errors[0]), stop_reason=stop_reason, history=history,
            test_outputs=[o[0] for o in outputs],
        )
        return self.result_


def _history_row(generation: int, opt, errors: np.ndarray, wall: float) -> dict:
    finite = errors[np.isfinite(errors)]
    stats = (np.min(finite), np.mean(finite), np.median(finite), np.max(finite)) if finite.size else (np.inf,) * 4
    step = opt.step_size
    return {
        "generation": generation,
        "evaluations": opt.evaluations,
        "best": float(stats[0]),
        "mean": float(stats[1]),
        "median": float(stats[2]),
        "worst": float(stats[3]),
        "best_ever": float(opt.best_error),
        "wall_seconds": round(wall, 4),
        "step_size": float(step) if step is not None else float("nan"),
    }
