"""Echo state network baseline (Jaeger 2001): a fixed random tanh reservoir with Evolino's least-squares readout.

The ESN is Evolino without evolution: the recurrent weights are drawn once and only the readout is learned. It
follows Evolino's task protocol (:mod:`evolino.fitness`): the readout is fitted on the training part (after the
washout, on the steps that have a target) and scored on the validation part (closed-loop free runs from
``task.validation_starts`` for generative tasks, with the same divergence check; teacher-forced prediction
otherwise); then it is refitted on train + validation and scored once on the test part. Errors pool every scored step
and are in the task's original units, so its numbers are directly comparable with Evolino's.

Reservoir update, with x(t) (N,), the external inputs u(t) and the previous target or output y(t-1) fed back on
generative tasks::

    x(t) = (1 - a) x(t-1) + a tanh(W x(t-1) + W_in u(t) + W_fb y(t-1) + b),     y(t) = W_out^T [x(t), 1]

W is sparse uniform [-1, 1] rescaled to the spectral radius; W_in, W_fb and b are uniform in +-input_scale,
+-feedback_scale and +-bias_scale; a is the leaking rate.

The readout is :class:`~evolino.readout.ReadoutConfig`, solved by the same code as Evolino's: pseudo-inverse with a
cutoff, ridge, "auto" (generalized cross-validation) or "validation" (each strength scored on the validation part).
Evolino's ridge shrinks only the cell weights, never the bias nor the directly seen sources; here every reservoir unit
plays the part of a cell, so the ridge shrinks every row but the bias. The readout sees no lagged sources
(``readout_lags`` of Evolino, 0 on noise-free tasks): with them, AR(p) alone generates MSO exactly.

:class:`ESNSearch` chooses the settings of an ESN on the validation error only and reports the test error of the one
it chose; ``DEFAULT_GRID`` is its default search space.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from evolino.blas import single_threaded_blas
from evolino.errors import NotFittedError
from evolino.fitness import ScoredLine, ScorePool, bounded, previous_targets
from evolino.params import ParamsMixin
from evolino.readout import DEFAULT_RCOND, ReadoutConfig, ReadoutStats
from evolino.tasks.base import Task

__all__ = ["EchoStateNetwork", "ESNResult", "ESNSearch", "DEFAULT_GRID", "DEFAULT_READOUTS", "default_readout"]

DEFAULT_READOUTS = (ReadoutConfig(rcond=1e-14), ReadoutConfig(rcond=1e-10), ReadoutConfig(rcond=1e-6),
                    ReadoutConfig(rcond=1e-10, ridge=1e-8), ReadoutConfig(rcond=1e-10, ridge=1e-4),
                    ReadoutConfig(rcond=1e-10, ridge="auto"))
DEFAULT_GRID = {
    "leak": (1.0, 0.5, 0.3),
    "spectral_radius": (0.1, 0.3, 0.5, 0.8, 0.9, 0.95, 1.0),
    "feedback_scale": (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0),
    "input_scale": (0.1, 0.5, 1.0),
    "density": (0.1, 1.0),
    "readout": DEFAULT_READOUTS,
}


@dataclass
class ESNResult:
    """What :meth:`EchoStateNetwork.fit` measured.

    Attributes
    ----------
    validation_error : float
        Readout fitted on the training part, scored on the validation part (on the training part when a supervised
        task has none); +inf when a free run diverged.
    test_error : float
        Readout refitted on train + validation, scored on the test part (NaN without one).
    test_outputs : list of (T_i, m) arrays
        Outputs on each test sequence (free runs for generative tasks), in model units.
    readout : ReadoutConfig
        The readout settings used (the task's default when none was given).
    ridge : float
        The ridge strength of the final readout (chosen for ``ridge="auto"`` or ``"validation"``).
    """

    validation_error: float
    test_error: float
    test_outputs: list[np.ndarray] = field(default_factory=list)
    readout: ReadoutConfig = field(default_factory=ReadoutConfig)
    ridge: float = 0.0




class EchoStateNetwork(ParamsMixin):
    """A leaky tanh reservoir with output feedback and Evolino's least-squares readout.

    Style of scikit-learn: every parameter is set here (and checked in ``fit``), ``get_params``/``set_params``
    (:class:`evolino.params.ParamsMixin`); ``fit(task)`` draws the reservoir, fits and scores the readout, and
    returns the estimator, whose ``result_`` (:class:`ESNResult`) holds the validation and test errors.

    Parameters
    ----------
    units : int
        Reservoir size N.
    spectral_radius : float
        Largest absolute eigenvalue of the recurrent matrix W.
    input_scale, feedback_scale, bias_scale : float
        Uniform [-scale, scale] weights from the inputs, from the fed-back output, and of the biases.
    leak : float
        Leaking rate a in (0, 1]; 1 is the plain ESN update.
    density : float
        Fraction of non-zero recurrent weights.
    readout : ReadoutConfig, optional
        Pseudo-inverse cutoff / ridge / bias, as for Evolino. None: Evolino's default for the task (the
        pseudo-inverse with cutoff 1e-14 on noise-free tasks, else ridge chosen by GCV).
    random_state : int
        Seed of the reservoir.

    Attributes
    ----------
    w_, w_in_, w_fb_, bias_ : arrays (N, N), (N, n_inputs), (N, n_outputs or 0), (N,)
        The reservoir drawn by ``fit``.
    readout_ : (N + 1, n_outputs)
        Output weights refitted on train + validation; the last row is the bias.
    result_ : ESNResult
        The errors measured by ``fit``.
    """

    def __init__(self, units: int = 100, spectral_radius: float = 0.9, input_scale: float = 0.5,
                 feedback_scale: float = 0.5, leak: float = 1.0, density: float = 0.1, bias_scale: float = 0.2,
                 readout: ReadoutConfig | None = None, random_state: int = 0) -> None:
        self.units = units
        self.spectral_radius = spectral_radius
        self.input_scale = input_scale
        self.feedback_scale = feedback_scale
        self.leak = leak
        self.density = density
        self.bias_scale = bias_scale
        self.readout = readout
        self.random_state = random_state

    def _validate(self) -> None:
        if isinstance(self.units, bool) or not isinstance(self.units, (int, np.integer)) or self.units < 1:
            raise ValueError(f"units must be a positive integer, got {self.units!r}")
        if not 0 < self.leak <= 1:
            raise ValueError(f"leak must be in (0, 1], got {self.leak!r}")
        if not 0 < self.density <= 1:
            raise ValueError(f"density must be in (0, 1], got {self.density!r}")
        for name in ("spectral_radius", "input_scale", "feedback_scale", "bias_scale"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
        if self.readout is not None and not isinstance(self.readout, ReadoutConfig):
            raise ValueError(f"readout must be a ReadoutConfig or None, got {self.readout!r}")

    def _init_weights(self, n_inputs: int, n_outputs: int, generative: bool) -> None:
        rng = np.random.default_rng(self.random_state)
        n = self.units
        w = rng.uniform(-1, 1, (n, n)) * (rng.random((n, n)) < self.density)
        radius = np.max(np.abs(np.linalg.eigvals(w)))
        self.w_ = w * (self.spectral_radius / radius) if radius > 0 else w
        self.w_in_ = rng.uniform(-self.input_scale, self.input_scale, (n, n_inputs))
        self.w_fb_ = rng.uniform(-self.feedback_scale, self.feedback_scale, (n, n_outputs if generative else 0))
        self.bias_ = rng.uniform(-self.bias_scale, self.bias_scale, n)

    # ------------------------------------------------------------------------------------------- forward passes

    def _drive(self, x: np.ndarray, inputs: np.ndarray, fed_back: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Teacher-forced states (T, N) from state ``x`` (N,), inputs (T, k) and fed-back values (T, m or 0)."""
        drive = inputs @ self.w_in_.T + fed_back @ self.w_fb_.T + self.bias_
        states = np.empty((drive.shape[0], self.units))
        keep = 1.0 - self.leak
        for t in range(drive.shape[0]):
            x = keep * x + self.leak * np.tanh(self.w_ @ x + drive[t])
            states[t] = x
        return states, x

    def _teacher(self, line: ScoredLine, start: int, stop: int, x: np.ndarray | None, generative: bool):
        """States over [start, stop) of ``line``, continuing state ``x`` (zeros when None)."""
        x = np.zeros(self.units) if x is None else x
        if generative:
            before = line.targets[start - 1] if start > 0 else None
            fed_back = previous_targets(line.targets[start:stop], before)
        else:
            fed_back = np.zeros((stop - start, 0))
        return self._drive(x, _inputs(line)[start:stop], fed_back)

    def _free_run(self, weights: np.ndarray, x: np.ndarray, y: np.ndarray, inputs: np.ndarray, steps: int,
                  bias: bool) -> np.ndarray:
        """Closed-loop outputs (steps, m) from state ``x`` (N,), with ``y`` (m,) the last known value and
        ``inputs`` (steps, k)."""
        outputs = np.empty((steps, weights.shape[1]))
        w_state, w_bias = weights[:-1], weights[-1] if bias else 0.0
        drive = inputs @ self.w_in_.T + self.bias_
        keep = 1.0 - self.leak
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(steps):
                x = keep * x + self.leak * np.tanh(self.w_ @ x + self.w_fb_ @ y + drive[t])
                y = x @ w_state + w_bias
                outputs[t] = y
        return outputs

    # ------------------------------------------------------------------------------------------------- readout

    def _fit_statistics(self, lines: Sequence[ScoredLine], stops: Sequence[int], washout: int, bias: bool,
                        generative: bool) -> tuple[ReadoutStats, list[np.ndarray]]:
        """Readout statistics over [washout, stop) of every line (scored steps only) and each line's state at stop."""
        stats = ReadoutStats(1, self.units + 1, lines[0].targets.shape[1])
        finals = []
        for line, stop in zip(lines, stops, strict=True):
            states, x = self._teacher(line, 0, stop, None, generative)
            rows = line.scored[:stop].copy()
            rows[:washout] = False
            if rows.any():
                stats.add_states(states[None, rows], line.targets[:stop][rows], bias)
            finals.append(x)
        return stats, finals

    def _solve(self, stats: ReadoutStats, config: ReadoutConfig) -> tuple[np.ndarray, float]:
        """Output weights (N + 1, m) and the ridge strength used; the ridge spares the bias row only (without a bias
        that row's column is zero, and shrinking it keeps its weight at zero instead of dividing by zero)."""
        weights, choice = stats.choose(config, shrunk=self.units if config.bias else None)
        return weights[0], config.candidates[int(choice[0])]

    # ---------------------------------------------------------------------------------------------- protocol

    def _outputs(self, states: np.ndarray, weights: np.ndarray, bias: bool) -> np.ndarray:
        return states @ weights[:-1] + (weights[-1] if bias else 0.0)

    def _validation_lines(self, task: Task) -> tuple[list[ScoredLine], list[int]]:
        """The lines the readout is fitted on for validation, and where their training part stops."""
        if task.continued and task.validation:
            lines = [ScoredLine.of([tr, va]) for tr, va in zip(task.train, task.validation, strict=True)]
            return lines, [tr.steps for tr in task.train]
        lines = [ScoredLine.of([tr]) for tr in task.train]
        return lines, [line.steps for line in lines]

    def _validation_errors(self, task: Task, configs: Sequence[ReadoutConfig]) -> list[tuple[float, float]]:
        """(validation error, ridge used) of each fixed-ridge or "auto" readout, sharing the teacher-forced pass."""
        lines, stops = self._validation_lines(task)
        fitted: dict[bool, tuple[ReadoutStats, list[np.ndarray]]] = {}
        errors = []
        for config in configs:
            if config.bias not in fitted:
                fitted[config.bias] = self._fit_statistics(lines, stops, task.washout, config.bias, task.generative)
            stats, finals = fitted[config.bias]
            weights, ridge = self._solve(stats, config)
            pool = ScorePool(1, 1)
            if task.continued and task.validation:
                for line, stop, x in zip(lines, stops, finals, strict=True):
                    if task.generative:
                        self._score_free_runs(task, line, stop, x, weights, config.bias, pool)
                    else:
                        states, _ = self._teacher(line, stop, line.steps, x, False)
                        out = self._outputs(states, weights, config.bias)
                        pool.add(line.targets[stop:], line.scored[stop:], [out[None]])
            else:
                for line in [ScoredLine.of([p]) for p in task.validation] if task.validation else lines:
                    states, _ = self._teacher(line, 0, line.steps, None, False)
                    out = self._outputs(states, weights, config.bias)
                    pool.add(line.targets, line.scored_after(task.washout), [out[None]])
            errors.append((float(pool.scores(task)[0, 0]), ridge))
        return errors

    def _score_free_runs(self, task: Task, line: ScoredLine, stop: int, x: np.ndarray, weights: np.ndarray, bias: bool,
                         pool: ScorePool) -> None:
        """Evolino's generative validation: free runs from teacher-forced states at ``task.validation_starts`` in
        [stop, T), then the checked free run past the data; a run beyond the data that leaves the bound is unstable."""
        available = line.steps - stop
        horizon = task.free_run_length(available)
        bound = task.divergence_bound
        position = stop
        for offset in task.validation_starts(available):
            if stop + offset > position:
                _, x = self._teacher(line, position, stop + offset, x, True)
                position = stop + offset
            inside = min(horizon, line.steps - position)
            steps = inside if task.n_inputs else horizon  # no inputs are known past the data
            inputs = line.inputs[position : position + steps] if task.n_inputs else np.zeros((steps, 0))
            outputs = self._free_run(weights, x, line.targets[position - 1], inputs, steps, bias)
            pool.add(line.targets[position : position + inside], line.scored[position : position + inside],
                     [outputs[None, :inside]])
            pool.unstable |= ~bounded(outputs[None, inside:], bound)
        check = task.stability_length(available)
        if check:
            _, x = self._teacher(line, position, line.steps, x, True)
            outputs = self._free_run(weights, x, line.targets[-1], np.zeros((check, 0)), check, bias)
            pool.unstable |= ~bounded(outputs[None], bound)

    def _test(self, task: Task, config: ReadoutConfig) -> tuple[float, list[np.ndarray], np.ndarray, float]:
        """Refit on train + validation, then score the test part: (error, outputs, weights, ridge)."""
        seen = task.seen_before_test()
        if task.continued:
            tests = task.test or [None] * len(seen)
            lines = [ScoredLine.of([s] if te is None else [s, te]) for s, te in zip(seen, tests, strict=True)]
        else:
            lines = [ScoredLine.of([s]) for s in seen]
        stops = [s.steps for s in seen]
        stats, finals = self._fit_statistics(lines, stops, task.washout, config.bias, task.generative)
        weights, ridge = self._solve(stats, config)
        if not task.test:
            return float("nan"), [], weights, ridge
        pool, outputs = ScorePool(1, 1), []
        if task.continued:
            for line, stop, x in zip(lines, stops, finals, strict=True):
                if task.generative:
                    out = self._free_run(weights, x, line.targets[stop - 1], _inputs(line)[stop:], line.steps - stop,
                                         config.bias)
                else:
                    out = self._outputs(self._teacher(line, stop, line.steps, x, False)[0], weights, config.bias)
                pool.add(line.targets[stop:], line.scored[stop:], [out[None]])
                outputs.append(out)
        else:
            for line in [ScoredLine.of([p]) for p in task.test]:
                out = self._outputs(self._teacher(line, 0, line.steps, None, False)[0], weights, config.bias)
                pool.add(line.targets, line.scored_after(task.washout), [out[None]])
                outputs.append(out)
        return float(pool.scores(task)[0, 0]), outputs, weights, ridge

    def fit(self, task: Task) -> EchoStateNetwork:
        """Draw the reservoir, fit the readout on the training part and score it on the validation part, refit it
        on train + validation and score the test part; the errors are in ``result_``.

        Returns
        -------
        self
        """
        self._validate()
        with single_threaded_blas():  # BLAS threads on these small matrices only contend (see evolino.blas)
            return self._fit(task)

    def _fit(self, task: Task) -> EchoStateNetwork:
        config = self.readout if self.readout is not None else default_readout(task)
        self._init_weights(task.n_inputs, task.n_outputs, task.generative)
        if config.ridge == "validation":
            fixed = [replace(config, ridge=strength) for strength in config.candidates]
            errors = [error for error, _ in self._validation_errors(task, fixed)]
            best = int(np.argmin(errors))  # the first (weakest) strength on ties
            validation_error, final = errors[best], fixed[best]
        else:
            validation_error, final = self._validation_errors(task, [config])[0][0], config
        test_error, outputs, self.readout_, ridge = self._test(task, final)
        self.result_ = ESNResult(validation_error, test_error, outputs, config, ridge)
        return self

    # ------------------------------------------------------------------------------------ the fitted estimator

    def _fitted(self) -> ReadoutConfig:
        if not hasattr(self, "readout_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(task) first")
        return self.result_.readout

    def predict(self, inputs: np.ndarray | None = None, targets: np.ndarray | None = None) -> np.ndarray:
        """Teacher-forced outputs (T, n_outputs) for one sequence from a zero state, in the task's units.

        ``inputs`` (T, n_inputs) for a task with inputs; ``targets`` (T, n_outputs) for a generative task (the
        previous target is fed back at each step)."""
        config = self._fitted()
        generative = self.w_fb_.shape[1] > 0
        reference = targets if generative else inputs
        if reference is None:
            raise ValueError("predict needs targets (a generative task's network) or inputs")
        steps = np.asarray(reference).shape[0]
        line = ScoredLine(_columns(targets, steps, self.readout_.shape[1]) if generative else
                     np.zeros((steps, self.readout_.shape[1])),
                     _columns(inputs, steps, self.w_in_.shape[1]), np.ones(steps, dtype=bool))
        states, _ = self._teacher(line, 0, steps, None, generative)
        return self._outputs(states, self.readout_, config.bias)

    def generate(self, history: np.ndarray, steps: int) -> np.ndarray:
        """Teacher-force on ``history`` (T, n_outputs), then generate ``steps`` outputs closed-loop: (steps,
        n_outputs), in the task's units (a generative task without inputs)."""
        config = self._fitted()
        if self.w_fb_.shape[1] == 0 or self.w_in_.shape[1] > 0:
            raise ValueError("generate needs a network fitted on a generative task without inputs")
        history = _columns(history, None, self.readout_.shape[1])
        known = history.shape[0]
        line = ScoredLine(history, np.zeros((known, 0)), np.ones(known, dtype=bool))
        _, x = self._teacher(line, 0, known, None, True)
        return self._free_run(self.readout_, x, history[-1], np.zeros((steps, 0)), steps, config.bias)


def _columns(array: np.ndarray | None, steps: int | None, columns: int) -> np.ndarray:
    """``array`` as (T, columns) floats; (steps, 0) when there are no columns."""
    if columns == 0:
        return np.zeros((steps or 0, 0))
    if array is None:
        raise ValueError(f"this network needs an array with {columns} column(s)")
    array = np.asarray(array, dtype=np.float64).reshape(len(array), -1)
    if array.shape[1] != columns or (steps is not None and array.shape[0] != steps):
        raise ValueError(f"expected shape ({steps if steps is not None else 'T'}, {columns}), got {array.shape}")
    return array


def default_readout(task: Task) -> ReadoutConfig:
    """Evolino's default readout for ``task`` (:func:`evolino.trainer.resolve_protocol`): the pseudo-inverse with
    cutoff 1e-14 on noise-free data or without validation data, else a ridge chosen by GCV."""
    choose = bool(task.validation) and not task.noise_free
    return ReadoutConfig(rcond=DEFAULT_RCOND, ridge="auto" if choose else 0.0)




class ESNSearch(ParamsMixin):
    """Grid search of echo state network settings, chosen on the validation error only.

    Every combination of ``grid`` is fitted with ``reservoirs`` reservoirs (seeds ``random_state * reservoirs``
    to ``random_state * reservoirs + reservoirs - 1``); all readouts of ``grid["readout"]`` share one teacher-forced
    pass per reservoir. The setting and reservoir with the lowest validation error (the first on ties) is refitted
    by :meth:`EchoStateNetwork.fit`, which measures its test error: the test part is scored once, for the chosen
    setting only. ``input_scale`` is searched only on tasks with inputs and ``feedback_scale`` only on generative
    tasks (else their first value is used), so ``settings_`` counts only distinct networks.

    Parameters
    ----------
    units : int
        Reservoir size.
    grid : mapping of parameter name to a sequence of values, optional
        Parameters of :class:`EchoStateNetwork` (``readout`` holds ReadoutConfigs, None for the task's default);
        default ``DEFAULT_GRID``.
    reservoirs : int
        Random reservoirs per setting.
    random_state : int
        Seed of the search (its reservoirs' seeds, see above).
    fixed : mapping, optional
        Other :class:`EchoStateNetwork` parameters, the same for every setting (e.g. ``{"density": 1.0}``).

    Attributes
    ----------
    best_estimator_ : EchoStateNetwork
        The chosen network, fitted.
    best_params_ : dict
        Its parameters (``readout`` as a ReadoutConfig, ``random_state`` its reservoir seed).
    result_ : ESNResult
        ``best_estimator_.result_``: its validation and test errors.
    validation_errors_ : list of dict
        Every setting tried with its validation error (no test errors).
    settings_ : int
        How many (setting, reservoir, readout) combinations were scored on validation.
    """

    def __init__(self, units: int = 100, grid: Mapping[str, Sequence] | None = None, reservoirs: int = 4,
                 random_state: int = 0, fixed: Mapping | None = None) -> None:
        self.units = units
        self.grid = grid
        self.reservoirs = reservoirs
        self.random_state = random_state
        self.fixed = fixed

    def _grid(self, task: Task) -> dict[str, tuple]:
        grid = {key: tuple(values) for key, values in (DEFAULT_GRID if self.grid is None else self.grid).items()}
        allowed = set(EchoStateNetwork().get_params()) - {"units", "random_state"}
        unknown = sorted(set(grid) - allowed) + sorted(set(self.fixed or {}) - allowed)
        if unknown:
            raise ValueError(f"unknown ESN parameters {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")
        if any(not values for values in grid.values()):
            raise ValueError("every grid entry needs at least one value")
        if any(c is not None and c.ridge == "validation" for c in grid.get("readout", ())):
            raise ValueError('the search chooses on validation itself: list ridge strengths, not ridge="validation"')
        if not task.n_inputs and "input_scale" in grid:
            grid["input_scale"] = grid["input_scale"][:1]
        if not task.generative and "feedback_scale" in grid:
            grid["feedback_scale"] = grid["feedback_scale"][:1]
        return grid

    def fit(self, task: Task) -> ESNSearch:
        """Score every setting on the validation part, then refit and test the best.

        Returns
        -------
        self
        """
        if isinstance(self.reservoirs, bool) or not isinstance(self.reservoirs, (int, np.integer)) \
                or self.reservoirs < 1:
            raise ValueError(f"reservoirs must be a positive integer, got {self.reservoirs!r}")
        grid = self._grid(task)
        readouts = [c if c is not None else default_readout(task) for c in grid.pop("readout", (None,))]
        fixed = dict(self.fixed or {})
        rows = []
        with single_threaded_blas():
            for values in itertools.product(*grid.values()):
                rows += self._score(task, dict(zip(grid, values, strict=True)), fixed, readouts)
        best = min(rows, key=lambda row: row["validation_error"])
        self.best_params_ = {**fixed, **{k: v for k, v in best.items() if k != "validation_error"}}
        self.best_estimator_ = EchoStateNetwork(units=self.units, **self.best_params_).fit(task)
        self.result_ = self.best_estimator_.result_
        self.validation_errors_ = rows
        self.settings_ = len(rows)
        return self

    def _score(self, task: Task, params: dict, fixed: dict, readouts: list[ReadoutConfig]) -> list[dict]:
        """Validation errors of one setting on each of the search's reservoirs, with every readout."""
        rows = []
        for seed in range(self.random_state * self.reservoirs, (self.random_state + 1) * self.reservoirs):
            esn = EchoStateNetwork(units=self.units, **fixed, **params, random_state=seed)
            esn._init_weights(task.n_inputs, task.n_outputs, task.generative)
            for config, (error, _) in zip(readouts, esn._validation_errors(task, readouts), strict=True):
                rows.append({**params, "readout": config, "random_state": seed, "validation_error": error})
        return rows


def _inputs(line: ScoredLine) -> np.ndarray:
    """(T, k) inputs, k = 0 for a line without any: the reservoir's input weights then have no columns."""
    return line.inputs if line.inputs is not None else np.zeros((line.steps, 0))
