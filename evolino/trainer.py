"""The Evolino estimator: evolve an LSTM's hidden weights, compute its readout by least squares.

Style of scikit-learn: every parameter is set in ``__init__``; ``fit(task)`` runs evolution and returns the
estimator, with the :class:`FitResult` at ``result_`` and the trained network at ``model_``. How a run is carried
out (callbacks, checkpoints, Ctrl-C) is given to ``fit`` (:class:`RunControls`), apart from the parameters.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np

from evolino.backends import make_evaluator
from evolino.baselines.trivial import choose_ar_orders, trivial_baselines
from evolino.blas import single_threaded_blas
from evolino.checkpoint import (
    CheckpointError,
    CheckpointWriter,
    checkpoint_environment,
    checkpoint_files,
    load_latest,
    note,
    task_digest,
)
from evolino.evaluation import FinalRidge, final_ridge, readout_outcome, test_error
from evolino.fitness import EvolinoProblem, validation_scores
from evolino.fitted import FittedNetworkMixin
from evolino.labels import (
    LABEL_CELLS,
    OVERFIT_FACTOR,
    choose_final,
    class_frequencies,
    default_pool,
    is_sequence_labelling,
)
from evolino.metrics import balanced_accuracy, confusion_matrix, finite_or_none, metric_name, report_scores
from evolino.model import EvolinoModel
from evolino.network import DEFAULT_FEEDBACK_SCALE, LSTMSpec
from evolino.optimizers import make_optimizer, optimizer_options
from evolino.params import ParamsMixin
from evolino.readout import DEFAULT_RCOND, DEFAULT_RIDGE_GRID, ReadoutConfig
from evolino.tasks.base import Task

__all__ = ["Evolino", "FitResult", "HISTORY_COLUMNS", "Protocol", "RunControls", "resolve_protocol", "WEIGHT_WARNING"]

# A readout whose weights could move an output by more than this many times the largest training target (with every
# cell output at +-1) is balanced on cancellations; free runs of such networks tend to blow up on new data.
WEIGHT_WARNING = 1e4

# How many of the best genomes a run keeps (``top_genomes_``): the members a forecaster may average.
TOP_GENOMES = 10

HISTORY_COLUMNS = ("generation", "evaluations", "best", "mean", "median", "worst", "best_ever", "wall_seconds",
                   "step_size")


@dataclass
class FitResult:
    """What a run produced.

    Attributes
    ----------
    model : EvolinoModel
        The best-ever genome with its readout refitted on train + validation.
    fitness : float
        The best genome's fitness as evolution saw it (computed by the selected kernel): its error on the held-out
        last part of the training data when ``holdout`` > 0, else on the validation data.
    validation_error : float
        The same genome's error on the validation data (training data when a supervised task has none), with the
        readout fitted on the training data and the final ridge, recomputed with the numpy reference kernel: the
        arithmetic of the test.
    holdout : float
        The fraction of the training part evolution was scored on (0: the fitness is the validation error).
    test_error : float
        Error of ``model`` on the test sequences (free runs for generative tasks; NaN when the task has none).
    test_one_step_error : float
        Generative tasks: the teacher-forced (one-step-ahead) error on the test sequences; NaN otherwise.
    ridge : float
        The readout's ridge strength (chosen on validation with ``ridge="auto"``).
    readout_lags : int
        Steps of inputs and fed-back values the readout sees directly.
    readout_pool : str
        What the readout sees of the cells (``"last"``, or pools over each sequence: :mod:`evolino.labels`).
    labels : dict or None
        Sequence labels only: the final model chosen on validation (``final``: "network", "linear" or "class
        frequencies"), the softmax ``temperature`` of its class probabilities, and every candidate's validation
        error (``candidates``).
    confusion : dict or None
        One-hot classes: the test part's confusion matrix, ``{"classes": [...], "counts": [[...]]}`` (rows: the true
        class, columns: the predicted one).
    test_scores : dict
        Other metrics of the test outputs (nrmse, rmse, mae; error rate and accuracy for 0/1 targets).
    baselines : dict
        Test errors of the trivial models on the same steps and metric (:mod:`evolino.baselines.trivial`).
    warnings : list of str
        What the user should look at (huge readout weights, no win over a trivial model).
    notes : list of str
        What is worth knowing but no fault (a trivial model that is exact on a noise-free task).
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
    validation_error: float
    test_error: float
    stop_reason: str
    fitness: float = float("nan")
    metric: str = "nrmse"
    test_one_step_error: float = float("nan")
    ridge: float = 0.0
    readout_lags: int = 0
    holdout: float = 0.0
    test_scores: dict = field(default_factory=dict)
    baselines: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    test_outputs: list[np.ndarray] = field(default_factory=list)
    test_one_step_outputs: list[np.ndarray] = field(default_factory=list)
    baseline_outputs: dict = field(default_factory=dict)
    readout_pool: str = "last"
    labels: dict | None = None
    confusion: dict | None = None

    @property
    def train_error(self) -> float:
        """Deprecated name of :attr:`validation_error` (it never was an error on the training data)."""
        return self.validation_error

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
            "metric": self.metric,
            "fitness": finite_or_none(self.fitness),
            "validation_error": finite_or_none(self.validation_error),
            "test_error": finite_or_none(self.test_error),
            "test_one_step_error": finite_or_none(self.test_one_step_error),
            "ridge": self.ridge,
            "readout_lags": self.readout_lags,
            "readout_pool": self.readout_pool,
            "holdout": self.holdout,
            "test_scores": self.test_scores,
            "baselines": self.baselines,
            "warnings": self.warnings,
            "notes": self.notes,
            "stop_reason": self.stop_reason,
            **({"labels": self.labels} if self.labels is not None else {}),
            **({"confusion": self.confusion} if self.confusion is not None else {}),
        }




@dataclass(frozen=True)
class Protocol:
    """The settings :func:`resolve_protocol` chose for a task: the readout's ridge (a strength, "auto" or
    "validation"), its lags, the ridge grid, and the fraction of the training part evolution is scored on."""

    ridge: float | str
    lags: int
    grid: tuple[float, ...]
    holdout: float
    pool: str = "last"
    notes: tuple[str, ...] = ()  # what the defaults had to give up on this task (said in the result's warnings)


DEFAULT_HOLDOUT = 0.2
DEFAULT_CELLS = 10


def resolve_protocol(task: Task, ridge: float | str | None, readout_lags: int | str | None, ridge_grid=None,
                     holdout: float | None = None, readout_pool: str | None = None) -> Protocol:
    """The settings of a run on ``task``, with the defaults (``None``) resolved.

    On data known to be noise-free (the papers' benchmarks), or without validation data to choose on: the plain
    readout (ridge 0, no lags) and the papers' protocol (the fitness is the validation error, no holdout).
    Otherwise ``ridge="auto"``, ``readout_lags="auto"`` and ``holdout=0.2``: evolution is scored on the last fifth
    of the training part (the readout fitted on the rest), so that the validation part, which evolution never sees,
    can choose the final readout's ridge without fitting its noise; when the training part is too small to hold a
    fifth out (one training sequence, say), the holdout is 0 and a note says so. "auto" lags are the order of the
    linear model of the last p steps (AR(p) on a forecast) with the best validation error: for generative tasks the
    larger of the orders best at one-step and at free-running prediction.

    A label per sequence (:func:`evolino.labels.is_sequence_labelling`) with validation data: ``ridge="loo"`` (the
    fitness is the readout's leave-one-out error over all training sequences, so none is held out),
    ``readout_lags=0`` (the readout sees the pools of the cells; the linear model of the last inputs stays a
    baseline) and no holdout.
    """
    choose = bool(task.validation) and not task.noise_free
    if choose and is_sequence_labelling(task) and len(task.train) >= 2:  # a label per sequence: see evolino.labels
        ridge = "loo" if ridge is None else ridge
        readout_lags = 0 if readout_lags is None else readout_lags
        holdout = 0.0 if holdout is None and ridge == "loo" else holdout
    ridge = ("auto" if choose else 0.0) if ridge is None else ridge
    lags = ("auto" if choose else 0) if readout_lags is None else readout_lags
    if lags == "auto":  # generative tasks: enough lags for the best one-step and the best free-running model
        lags = 0 if task.generative and not task.validation else \
            max(choose_ar_orders(task, (False, True) if task.generative else (False,)))
    if isinstance(lags, bool) or not isinstance(lags, (int, np.integer)) or lags < 0:
        raise ValueError(f'readout_lags must be an integer >= 0, "auto" or None, got {lags!r}')
    notes = []
    if holdout is None and choose:
        holdout = DEFAULT_HOLDOUT
        try:
            task.holdout_split(holdout)
        except ValueError as exc:  # too little training data to hold any out: the papers' protocol, said so
            holdout = 0.0
            notes.append(f"no holdout: {exc}; evolution is scored on the validation part, which then cannot choose "
                         "the final readout unseen")
    holdout = 0.0 if holdout is None else float(holdout)
    if not 0 <= holdout < 1:
        raise ValueError(f"holdout must be in [0, 1), got {holdout}")
    if holdout and not task.validation:
        raise ValueError("holdout > 0 keeps the validation part for the final choice: the task needs one")
    grid = tuple(DEFAULT_RIDGE_GRID if ridge_grid is None else ridge_grid)
    return Protocol(ridge, int(lags), grid, holdout, default_pool(task) if readout_pool is None else readout_pool,
                    tuple(notes))


@dataclass(frozen=True)
class RunControls:
    """How a run is carried out, never what it computes (the arguments of :meth:`Evolino.fit` besides the task).

    Attributes
    ----------
    callbacks : tuple of callables
        Each called as ``callback(row: dict)`` after every generation. A callback with a ``resumed(history)``
        method is first given the rows a resumed run starts from (e.g. :class:`evolino.reporting.HistoryWriter`).
    checkpoint_dir : str or path, optional
        Run folder for checkpoints (``DIR/checkpoints/``); none are written without it.
    checkpoint_every : int
        Write a checkpoint every this many generations; with ``checkpoint_dir`` one is also written at the end
        (whatever stopped the run). 0 = only at the end.
    keep_checkpoints : int
        How many checkpoints to keep (the newest); older ones are removed once a new one is on disk.
    handle_sigint : bool
        On Ctrl-C (SIGINT) finish the current generation, then stop with ``stop_reason == "interrupted"``; a second
        Ctrl-C raises KeyboardInterrupt at once. Only in the main thread.
    """

    callbacks: tuple = ()
    checkpoint_dir: str | os.PathLike | None = None
    checkpoint_every: int = 0
    keep_checkpoints: int = 2
    handle_sigint: bool = False

    def __post_init__(self) -> None:
        every, keep = self.checkpoint_every, self.keep_checkpoints
        if not isinstance(every, (int, np.integer)) or isinstance(every, bool) or every < 0:
            raise ValueError(f"checkpoint_every must be a non-negative integer, got {every!r}")
        if not isinstance(keep, (int, np.integer)) or isinstance(keep, bool) or keep < 1:
            raise ValueError(f"keep_checkpoints must be a positive integer, got {keep!r}")
        if not all(callable(c) for c in self.callbacks):
            raise ValueError("every callback must be callable as callback(row)")


class Evolino(FittedNetworkMixin, ParamsMixin):
    """Evolino: evolution of LSTM hidden weights with optimal linear readouts (Schmidhuber et al. 2007).

    Parameters
    ----------
    cells : int or None
        Memory cells; None (default): :data:`DEFAULT_CELLS`, or :data:`evolino.labels.LABEL_CELLS` for a label per
        sequence (:func:`evolino.labels.is_sequence_labelling`), whose readout reads pools of the cells.
    optimizer : str
        Registered optimizer name (``evolino.optimizers.optimizer_names()``), e.g. "cma", "sep-cma", or a library
        optimizer ``evosax:NAME`` / ``nevergrad:NAME`` (extras ``evolino[evosax]``, ``evolino[nevergrad]``);
        nevergrad's are told the budget ``generations x population`` (or ``max_evaluations`` when smaller) unless
        ``optimizer_options`` sets ``budget``.
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
    rcond, ridge, readout_bias, ridge_grid
        Readout options, see :class:`evolino.readout.ReadoutConfig`. ``ridge=None`` (default) is the task's
        default (:func:`resolve_protocol`): "auto" unless the task is noise-free.
    readout_lags : int, "auto" or None
        Steps of inputs and fed-back values the readout sees directly (:class:`evolino.network.LSTMSpec`); None is
        the task's default (:func:`resolve_protocol`).
    readout_pool : str or None
        What the readout sees of the cells (:class:`evolino.network.LSTMSpec`): "last" (the papers' readout), or
        pools of the cell outputs over each sequence ("mean", "max", "last+mean", ...). None: "last" (a task whose
        labels end its sequences chooses among the pools on validation at the end, see :mod:`evolino.labels`).
    holdout : float or None
        Fraction of the training part that evolution is scored on (the readout is fitted on the rest); the
        validation part then only chooses the final readout's ridge. 0: the fitness is the validation error (the
        papers' protocol). None is the task's default (:func:`resolve_protocol`): 0.2 unless the task is
        noise-free.
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

    Attributes
    ----------
    model_ : EvolinoModel
        The trained network after ``fit``.
    result_ : FitResult
        What ``fit`` measured: errors, cost, history, trivial baselines, warnings.
    optimizer_ : Optimizer
        The optimizer after the run, e.g. ``optimizer_.trials_to_success`` for ``guess`` or ESP's ``bursts``.
    top_genomes_ : (k, d) array
        The ``TOP_GENOMES`` genomes with the lowest fitness that evolution saw (best first; fewer when it saw fewer),
        with their fitness at ``top_errors_`` (k,): the members of an ensemble.

    The estimator follows scikit-learn's conventions (:class:`evolino.params.ParamsMixin`): the parameters above
    are set here and checked in ``fit``, ``fit`` returns the estimator, ``get_params``/``set_params`` make
    ``sklearn.base.clone`` work, and the fitted estimator has ``predict``, ``generate`` and ``score``. What
    controls a run but not its result (callbacks, checkpoints, Ctrl-C handling) are arguments of ``fit``.

    The defaults (feedback scale 1e-4, initial weights N(0, 0.1^2), pseudo-inverse cutoff 1e-14) are those of
    ``python -m evolino run``; `experiments/mso.py ablation` shows how they were chosen.
    """

    # Parameters that define the search; a checkpoint can only be continued by an estimator that agrees on them.
    _SEARCH_PARAMS = ("cells", "optimizer", "population", "seed", "peepholes", "forget_gate", "feedback",
                      "feedback_scale", "init_scale", "rcond", "ridge", "readout_bias", "optimizer_options",
                      "readout_lags", "ridge_grid", "holdout", "readout_pool")

    def __init__(
        self,
        cells: int | None = None,
        optimizer: str = "sep-cma",
        population: int = 40,
        generations: int = 300,
        seed: int = 0,
        peepholes: bool = True,
        forget_gate: bool = True,
        feedback: bool | None = None,
        feedback_scale: float = DEFAULT_FEEDBACK_SCALE,
        init_scale: float = 0.1,
        rcond: float = DEFAULT_RCOND,
        ridge: float | str | None = None,
        readout_bias: bool = True,
        readout_lags: int | str | None = None,
        readout_pool: str | None = None,
        ridge_grid: Sequence[float] | None = None,
        holdout: float | None = None,
        optimizer_options: dict | None = None,
        backend: str = "serial",
        backend_options: dict | None = None,
        target_error: float | None = None,
        max_evaluations: int | None = None,
        max_seconds: float | None = None,
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
        self.readout_lags = readout_lags
        self.readout_pool = readout_pool
        self.ridge_grid = ridge_grid
        self.holdout = holdout
        self.optimizer_options = optimizer_options
        self.backend = backend
        self.backend_options = backend_options
        self.target_error = target_error
        self.max_evaluations = max_evaluations
        self.max_seconds = max_seconds

    def _validate(self) -> None:
        for name in ("cells", "population", "generations"):
            value = getattr(self, name)
            if name == "cells" and value is None:
                continue
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not (isinstance(self.seed, (int, np.integer)) and self.seed >= 0):
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not (np.isfinite(self.init_scale) and self.init_scale > 0):
            raise ValueError(f"init_scale must be finite and > 0, got {self.init_scale!r}")

    def cells_for(self, task: Task) -> int:
        """The memory cells of a network for ``task``: ``cells``, or its default for the task when None."""
        if self.cells is not None:
            return int(self.cells)
        return LABEL_CELLS if is_sequence_labelling(task) else DEFAULT_CELLS

    def build_problem(self, task: Task) -> EvolinoProblem:
        """The pure fitness problem for ``task`` with this estimator's network and readout settings (its task is
        the holdout split when there is one, see ``holdout``); the resolved settings are kept as ``protocol_``."""
        feedback = task.generative if self.feedback is None else bool(self.feedback)
        if task.generative and not feedback:
            raise ValueError("generative tasks need feedback=True")
        if feedback and task.has_target_gaps:
            raise ValueError("targets with missing steps (NaN or masked) cannot be fed back: use feedback=False")
        protocol = resolve_protocol(task, self.ridge, self.readout_lags, self.ridge_grid, self.holdout,
                                    self.readout_pool)
        pool = protocol.pool if not feedback or self.readout_pool is not None else "last"  # pools need no feedback
        spec = LSTMSpec(n_inputs=task.n_inputs, cells=self.cells_for(task), n_outputs=task.n_outputs,
                        peepholes=bool(self.peepholes), forget_gate=bool(self.forget_gate), feedback=feedback,
                        feedback_scale=float(self.feedback_scale), readout_lags=protocol.lags, readout_pool=pool)
        ridge = protocol.ridge if isinstance(protocol.ridge, str) else float(protocol.ridge)
        readout = ReadoutConfig(rcond=float(self.rcond), ridge=ridge, bias=bool(self.readout_bias),
                                ridge_grid=protocol.grid)
        self.protocol_ = protocol
        fitted_on = task.holdout_split(protocol.holdout) if protocol.holdout else task
        return EvolinoProblem(spec, fitted_on, readout)

    def _new_optimizer(self, spec: LSTMSpec):
        init_rng, optimizer_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(self.seed).spawn(2))
        x0 = init_rng.normal(0.0, self.init_scale, spec.dimension)
        # Optimizers with a step-size option start at init_scale unless told otherwise.
        known = optimizer_options(self.optimizer)
        options = {"sigma0": self.init_scale} if "sigma0" in known else {}
        if "budget" in known:  # nevergrad's optimizers choose their method by the evaluations they will get
            budget = int(self.generations) * int(self.population)
            options["budget"] = budget if self.max_evaluations is None else min(budget, int(self.max_evaluations))
        options.update(self.optimizer_options or {})
        return make_optimizer(self.optimizer, x0, optimizer_rng, int(self.population), spec.cell_slices(), **options)

    def _search_params(self) -> dict:
        return {name: getattr(self, name) for name in self._SEARCH_PARAMS}

    def _environment(self, kernel: str) -> dict:
        """What a checkpoint records of the libraries and the kernel (:func:`evolino.checkpoint.checkpoint_environment`;
        ``kernel`` as requested, resolved here)."""
        from evolino.kernels import resolve_kernel

        return checkpoint_environment(str(self.optimizer), resolve_kernel(kernel))

    def _load_checkpoint(self, folder: str | os.PathLike | None, spec: LSTMSpec, digest: str,
                         kernel: str | None = None):
        """(optimizer, history, elapsed seconds) of the newest good checkpoint in ``folder``, checked against this
        search, task, libraries and kernel; None when the run stopped before its first checkpoint (it then starts
        again, and says so)."""
        if folder is None:
            raise ValueError("resume=True needs checkpoint_dir")
        if not checkpoint_files(folder):
            note(f"no checkpoint in {folder} (the run stopped before its first one): starting it again "
                 "from generation 0")
            return None
        state, path = load_latest(folder, environment=self._environment(kernel))
        if state.get("environment") is None:
            note(f"warning: {path} was written before checkpoints recorded the versions of the libraries and the "
                 "kernel: resuming it unchecked")
        saved = state.get("search_params", {})
        differ = [f"{k}={saved.get(k)!r} (now {v!r})" for k, v in self._search_params().items() if saved.get(k) != v]
        if differ:
            raise CheckpointError(f"{path} was written by a different run: {', '.join(differ)}")
        if state.get("task_sha256", digest) != digest:  # checkpoints written before the digest existed: unchecked
            raise CheckpointError(f"{path} was written for other task data (task SHA-256 {state['task_sha256'][:12]}"
                                  f"..., this task's is {digest[:12]}...)")
        opt = state["optimizer"]
        if opt.dimension != spec.dimension:
            raise CheckpointError(f"{path} holds genomes of size {opt.dimension}, this network needs {spec.dimension}")
        self.resumed_from_ = path
        note(f"resuming from generation {opt.generation} ({path})")
        if not getattr(opt, "resumed_exactly", True):
            note(f"warning: {path} did not replay bit for bit here (another machine's linear algebra?): the run "
                 "goes on, but not exactly as the uninterrupted one would have")
        top = TopGenomes(TOP_GENOMES)
        if "top_genomes" in state:
            top.genomes, top.errors = np.asarray(state["top_genomes"]), np.asarray(state["top_errors"])
        elif np.isfinite(opt.best_error):  # a checkpoint from before the leaders were kept: the best one only
            top.update(opt.best_genome[None], np.array([opt.best_error]))
        return opt, list(state["history"]), float(state["elapsed_seconds"]), top

    def _save_checkpoint(self, writer: CheckpointWriter, run: RunControls, opt, history: list[dict], elapsed: float,
                         digest: str, top: TopGenomes, environment: dict) -> None:
        state = {
            "optimizer": opt,  # pickled with its library internals and Generator (CMA-ES: compact, see cmaes.py)
            "history": history,
            "elapsed_seconds": elapsed,
            "generation": opt.generation,
            "evaluations": opt.evaluations,
            "best_error": opt.best_error,
            "best_genome": opt.best_genome,
            "rng_states": _rng_states(opt),  # also inside the pickled optimizer; kept here for inspection
            "search_params": self._search_params(),
            "task_sha256": digest,
            "top_genomes": top.genomes,
            "top_errors": top.errors,
        }
        writer.write(run.checkpoint_dir, state, opt.generation, keep=int(run.keep_checkpoints),
                     environment=environment)

    def fit(self, task: Task, *, resume: bool = False, callbacks: Sequence[Callable[[dict], None]] = (),
            checkpoint_dir: str | os.PathLike | None = None, checkpoint_every: int = 0, keep_checkpoints: int = 2,
            handle_sigint: bool = False) -> Evolino:
        """Evolve a network for ``task``; the result is at ``result_``, the network at ``model_``.

        Parameters
        ----------
        task : Task
        resume : bool
            Continue from the newest good checkpoint in ``checkpoint_dir`` instead of starting afresh. The continued
            run ends exactly as the uninterrupted run would (same genomes, errors and model); only wall-clock
            times differ. The stopping rules (``generations``, ``target_error``, ...) are this estimator's, so a
            finished run can be extended with a larger ``generations``. The checkpoint must be of the same search
            (the parameters that define it) and the same task (SHA-256 of its data); when the folder has no
            checkpoint at all (the run stopped before its first one) the run starts afresh, saying so on stderr.
        callbacks, checkpoint_dir, checkpoint_every, keep_checkpoints, handle_sigint
            How the run is carried out, never what it computes: see :class:`RunControls`.

        Returns
        -------
        self
        """
        self._validate()
        run = RunControls(tuple(callbacks), checkpoint_dir, checkpoint_every, keep_checkpoints, handle_sigint)
        problem = self.build_problem(task)
        self.resumed_from_ = None
        digest = task_digest(task) if run.checkpoint_dir is not None else ""
        environment = self._environment(problem.kernel) if run.checkpoint_dir is not None else {}
        loaded = self._load_checkpoint(run.checkpoint_dir, problem.spec, digest, problem.kernel) if resume else None
        opt, history, elapsed, top = loaded or (self._new_optimizer(problem.spec), [], 0.0, TopGenomes(TOP_GENOMES))
        for callback in run.callbacks if loaded else ():
            if hasattr(callback, "resumed"):
                callback.resumed(list(history))
        start = time.perf_counter() - elapsed
        saved_generation = opt.generation if loaded else -1
        every = int(run.checkpoint_every)
        with CheckpointWriter() as writer:  # the last file lands while the run finishes
            with make_evaluator(self.backend, problem, **(self.backend_options or {})) as evaluator, \
                    _graceful_interrupt(run.handle_sigint) as interrupted, single_threaded_blas():
                while True:
                    stop_reason = self._should_stop(opt, time.perf_counter() - start)
                    if not stop_reason and interrupted():
                        stop_reason = "interrupted"
                    if stop_reason:
                        break
                    genomes = opt.ask()
                    errors = evaluator.evaluate(genomes)
                    opt.tell(genomes, errors)
                    top.update(genomes, errors)
                    row = _history_row(opt.generation, opt, errors, time.perf_counter() - start)
                    history.append(row)
                    for callback in run.callbacks:
                        callback(row)
                    if run.checkpoint_dir is not None and every and opt.generation % every == 0:
                        self._save_checkpoint(writer, run, opt, history, time.perf_counter() - start, digest, top,
                                              environment)
                        saved_generation = opt.generation
            if run.checkpoint_dir is not None and opt.generation != saved_generation:
                self._save_checkpoint(writer, run, opt, history, time.perf_counter() - start, digest, top,
                                      environment)
            self.optimizer_ = opt
            self.top_genomes_, self.top_errors_ = top.genomes.copy(), top.errors.copy()
            with single_threaded_blas():
                self._finish(task, problem, opt, history, start, stop_reason)
        return self

    def _should_stop(self, opt, elapsed: float) -> str:
        """The first stopping rule that fires, or ""."""
        if self.target_error is not None and opt.best_error <= self.target_error:
            return "target_error"
        if self.max_evaluations is not None and opt.evaluations >= self.max_evaluations:
            return "max_evaluations"
        if self.max_seconds is not None and elapsed >= self.max_seconds:
            return "max_seconds"
        if opt.generation >= self.generations:
            return "generations"
        return ""

    def _finish(self, task, problem, opt, history, start, stop_reason) -> None:
        spec, best = problem.spec, opt.best_genome[None]
        readout = problem.readout
        if self.protocol_.holdout and readout.ridge == "auto":  # the validation part, unseen so far, chooses
            readout = replace(readout, ridge="validation")
        # The validation error and the ridge choice again on the reference kernel, the arithmetic of the test, when a
        # test follows; without one (a forecaster's search, which makes its own final choice) on the run's kernel:
        # the reference kernel's per-step loop takes minutes on a series of a million steps.
        kernel = "numpy" if task.test else problem.kernel
        labels = None
        if is_sequence_labelling(task) and task.validation:  # pools, ridge and class frequencies chosen together
            labels = choose_final(spec, opt.best_genome, task, readout, kernel)
            spec, validation, final = labels.spec, [labels.validation_error], FinalRidge(labels.ridge)
        else:
            validation, choice = validation_scores(best, spec, task, readout, kernel=kernel)
            final = final_ridge(spec, opt.best_genome, task, readout, int(choice[0]), kernel=kernel)
        ridge = final.ridge
        outcome = test_error(spec, best, task, replace(problem.readout, ridge=ridge))
        if labels is not None and labels.final == "class frequencies":  # the bias alone: the labels' frequencies
            weights = np.zeros_like(outcome.readout)
            weights[0, -1] = class_frequencies(task.seen_before_test())
            outcome = readout_outcome(spec, best, task, weights) if task.test else replace(outcome, readout=weights)
        model = EvolinoModel(spec, opt.best_genome, outcome.readout[0], task.scaler, task.input_names,
                             task.target_names, task.washout, temperature=None if labels is None else
                             labels.temperature, classes=task.info.get("classes") or ())
        baselines = trivial_baselines(task)
        outputs = [o[0] for o in outcome.outputs]
        one_step = [o[0] for o in outcome.one_step]
        self.model_ = model
        self.result_ = FitResult(
            model=model, task=task.name, optimizer=self.optimizer, seed=int(self.seed), cells=spec.cells,
            generations=opt.generation, evaluations=opt.evaluations,
            wall_seconds=time.perf_counter() - start, validation_error=float(validation[0]),
            fitness=float(opt.best_error),
            test_error=float(outcome.errors[0]), stop_reason=stop_reason, metric=metric_name(task.metric),
            test_one_step_error=float("nan") if outcome.one_step_errors is None else
            float(outcome.one_step_errors[0]),
            ridge=float(ridge), readout_lags=spec.readout_lags, holdout=self.protocol_.holdout,
            test_scores=_test_scores(task, outcome),
            baselines=baselines.errors, history=history, test_outputs=outputs, test_one_step_outputs=one_step,
            baseline_outputs=baselines.outputs, readout_pool=spec.readout_pool, confusion=_confusion(task, outcome),
            labels=None if labels is None else {"final": labels.final, "temperature": labels.temperature,
                                                 "candidates": labels.candidates},
        )
        self.result_.warnings = [*self.protocol_.notes, *task.info.get("warnings", []),
                                 *_warnings(task, spec, model, self.result_, final)]
        self.result_.notes = _notes(task, self.result_)


def _test_scores(task: Task, outcome) -> dict:
    """Standard metrics of the test outputs (the main ones: free runs for generative tasks)."""
    if not outcome.outputs:
        return {}
    targets = np.concatenate([p.targets for p in task.test])
    outputs = np.concatenate([o[0] for o in outcome.outputs])
    mask = np.concatenate(outcome.masks)
    labels = np.isin(targets[mask], (0.0, 1.0)).all()
    names = ("error_rate", "accuracy", "mse") if labels else ("nrmse", "rmse", "mae")
    scale, offset = task.column_scale
    scores = report_scores(names, targets, outputs, mask, scale, offset)
    if labels and targets.shape[1] > 1 and np.all(targets[mask].sum(axis=1) == 1):  # one-hot classes
        scores["balanced_accuracy"] = balanced_accuracy(confusion_matrix(targets[mask], outputs[mask]))
    return scores


def _confusion(task: Task, outcome) -> dict | None:
    """The test part's confusion matrix of a task with one-hot classes (rows: true, columns: predicted)."""
    if not outcome.outputs or task.n_outputs < 2:
        return None
    targets = np.concatenate([p.targets for p in task.test])
    mask = np.concatenate(outcome.masks)
    if not (np.isin(targets[mask], (0.0, 1.0)).all() and np.all(targets[mask].sum(axis=1) == 1)):
        return None
    outputs = np.concatenate([o[0] for o in outcome.outputs])
    classes = task.info.get("classes") or [str(j) for j in range(task.n_outputs)]
    return {"classes": list(classes), "counts": confusion_matrix(targets[mask], outputs[mask]).tolist()}


def _warnings(task: Task, spec: LSTMSpec, model: EvolinoModel, result: FitResult, final) -> list[str]:
    notes = []
    if result.labels is not None:
        fitness, validation = result.fitness, result.validation_error
        if np.isfinite(fitness) and validation > OVERFIT_FACTOR * fitness:
            notes.append(f"evolution overfitted: the validation error {validation:.3g} is {validation / fitness:.0f} "
                         f"times the fitness {fitness:.3g} (more than {OVERFIT_FACTOR:g}x); few training sequences "
                         "let the search fit their noise (more data, fewer cells or generations help)")
        if result.labels["final"] != "network":
            notes.append(f"the final model is the {result.labels['final']}: no network did better on the validation "
                         "part")
    if final.raised:
        notes.append(f"the forecast of the readout chosen for the refit diverged; its ridge was raised to "
                     f"{final.ridge:g}")
    if not final.bounded:
        notes.append("the forecast leaves the range of the data by more than ten times (the network is unstable "
                     "in free runs)")
    largest = task.largest_train_target
    reach = np.abs(model.readout[: spec.cell_features]).sum(axis=0).max()
    if not task.noise_free and (not np.isfinite(reach) or reach > WEIGHT_WARNING * largest):
        notes.append(f"readout weights are huge: the cells can move an output by {reach:.1e}, {reach / largest:.0e} "
                     "times the largest training target; the fit relies on cancellations between cells and may not "
                     "hold on new data (a larger fixed ridge, e.g. --ridge 1, trades fit for robustness)")
    best = _best_baseline(result)
    if best is not None and np.isclose(result.test_error, best[1], rtol=1e-9, atol=0):
        notes.append(f"test error {result.test_error:.3g} equals the {best[0]} baseline's: the cells add nothing "
                     "that held up on validation, and the readout uses its linear part only")
    elif best is not None and not result.test_error <= best[1] and not _exact_baseline(task, best):
        notes.append(f"test error {result.test_error:.3g} is not better than the {best[0]} baseline's {best[1]:.3g}")
    return notes


EXACT_BASELINE = 1e-6  # a trivial model's test error below this on a noise-free task: it generates the task exactly


def _best_baseline(result: FitResult) -> tuple[str, float] | None:
    return min(((name, b["test_error"]) for name, b in result.baselines.items()
                if b.get("test_error") is not None), key=lambda item: item[1], default=None)


def _exact_baseline(task: Task, best: tuple[str, float]) -> bool:
    return bool(task.noise_free and best[1] < EXACT_BASELINE)


def _notes(task: Task, result: FitResult) -> list[str]:
    """The AR comparison on a noise-free task that a trivial model generates exactly (MSO): a note, not a warning."""
    best = _best_baseline(result)
    if best is None or result.test_error <= best[1] or np.isclose(result.test_error, best[1], rtol=1e-9, atol=0) \
            or not _exact_baseline(task, best):
        return []
    order = result.baselines[best[0]].get("order")
    label = f"AR({order})" if best[0] == "ar" and order else best[0]
    return [f"the {label} baseline is exact on this noise-free task ({best[1]:.1e}, the network {result.test_error:.2e}"
            "): a linear recurrence generates it (MSO is linear at heart), so the task tests whether the network's "
            "dynamics stay exact in closed loop, not skill beyond a linear model"]


class TopGenomes:
    """The ``size`` genomes with the lowest finite errors seen so far, best first (ties: the earlier one first).

    Attributes
    ----------
    genomes : (k, d), k <= size
    errors : (k,)
    """

    def __init__(self, size: int) -> None:
        self.size = int(size)
        self.genomes = np.zeros((0, 0))
        self.errors = np.zeros(0)

    def update(self, genomes: np.ndarray, errors: np.ndarray) -> None:
        """Merge a generation's genomes (n, d) and errors (n,)."""
        finite = np.isfinite(errors)
        if len(self.errors) == self.size:  # full: only a strictly lower error enters (the earlier one wins ties)
            finite &= errors < self.errors[-1]
        if not finite.any():
            return
        pool = genomes[finite] if not self.genomes.size else np.concatenate([self.genomes, genomes[finite]])
        scores = np.concatenate([self.errors, errors[finite]])
        order = np.argsort(scores, kind="stable")[: self.size]
        self.genomes, self.errors = pool[order].copy(), scores[order].copy()


def _history_row(generation: int, opt, errors: np.ndarray, wall: float) -> dict:
    finite = errors[np.isfinite(errors)]
    stats = (np.inf,) * 4
    if finite.size:  # min, median and max from one sort; the median as np.median's, the mean of the middle two
        ordered, half = np.sort(finite), finite.size // 2
        median = ordered[half] if finite.size % 2 else (ordered[half - 1] + ordered[half]) / 2
        stats = (ordered[0], np.mean(finite), median, ordered[-1])
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


def _rng_states(opt) -> dict:
    """Bit-generator states of the Generators an optimizer holds as attributes."""
    return {name: value.bit_generator.state for name, value in vars(opt).items()
            if isinstance(value, np.random.Generator)}


@contextmanager
def _graceful_interrupt(enabled: bool) -> Iterator[Callable[[], bool]]:
    """While active, the first SIGINT only sets a flag (read by calling the yielded function)."""
    flag = threading.Event()
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield flag.is_set
        return

    def handler(signum, frame):
        if flag.is_set():
            raise KeyboardInterrupt
        flag.set()
        print("\nevolino: interrupted; finishing this generation and saving (Ctrl-C again to abort)",
              file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag.is_set
    finally:
        signal.signal(signal.SIGINT, previous)
