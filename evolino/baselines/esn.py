"""Echo state network baseline (Jaeger 2001): a fixed random tanh reservoir with the same least-squares readout.

The ESN is Evolino without evolution: the recurrent weights are drawn once and only the readout is learned. It uses
the same :class:`~evolino.tasks.Task` protocol (teacher forcing on train + validation, closed-loop generation of the
test window for generative tasks) and the same readout code, so its numbers are directly comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evolino.fitness import previous_targets, score
from evolino.readout import ReadoutConfig, ReadoutStats, design_matrix
from evolino.tasks.base import SequencePair, Task

__all__ = ["EchoStateNetwork", "ESNResult"]


@dataclass
class ESNResult:
    """Errors of a fitted ESN: ``validation_error`` (readout fitted on train) and ``test_error``."""

    validation_error: float
    test_error: float
    test_outputs: list[np.ndarray]


class EchoStateNetwork:
    """A leaky tanh reservoir with output feedback and a least-squares readout.

    Parameters
    ----------
    units : int
        Reservoir size N.
    spectral_radius : float
        Largest absolute eigenvalue of the recurrent matrix.
    input_scale, feedback_scale : float
        Uniform [-scale, scale] weights from the inputs and from the fed-back output.
    leak : float
        Leaking rate in (0, 1]; 1 is the plain ESN update.
    density : float
        Fraction of non-zero recurrent weights.
    readout : ReadoutConfig
        Pseudo-inverse cutoff / ridge / bias, as for Evolino.
    random_state : int
        Seed of the reservoir.
    """

    def __init__(self, units: int = 100, spectral_radius: float = 0.9, input_scale: float = 0.5,
                 feedback_scale: float = 0.5, leak: float = 1.0, density: float = 0.1,
                 readout: ReadoutConfig | None = None, random_state: int = 0) -> None:
        if units < 1 or not 0 < leak <= 1 or not 0 < density <= 1 or spectral_radius < 0:
            raise ValueError("need units >= 1, 0 < leak <= 1, 0 < density <= 1 and spectral_radius >= 0")
        self.units = units
        self.spectral_radius = spectral_radius
        self.input_scale = input_scale
        self.feedback_scale = feedback_scale
        self.leak = leak
        self.density = density
        self.readout = readout or ReadoutConfig(ridge=1e-8)
        self.random_state = random_state

    def _init_weights(self, n_inputs: int, n_outputs: int, generative: bool) -> None:
        rng = np.random.default_rng(self.random_state)
        w = rng.uniform(-1, 1, (self.units, self.units)) * (rng.random((self.units, self.units)) < self.density)
        radius = np.max(np.abs(np.linalg.eigvals(w)))
        self.w_ = w * (self.spectral_radius / radius) if radius > 0 else w
        self.w_in_ = rng.uniform(-self.input_scale, self.input_scale, (self.units, n_inputs))
        feedback = n_outputs if generative else 0
        self.w_fb_ = rng.uniform(-self.feedback_scale, self.feedback_scale, (self.units, feedback))
        self.bias_ = rng.uniform(-0.2, 0.2, self.units)

    def _step(self, x: np.ndarray, u: np.ndarray, y_prev: np.ndarray) -> np.ndarray:
        pre = self.w_ @ x + self.w_in_ @ u + self.w_fb_ @ y_prev + self.bias_
        return (1 - self.leak) * x + self.leak * np.tanh(pre)

    def _teacher_forced(self, pair: SequencePair, generative: bool, x=None, before=None):
        """Reservoir states (T, N) and the final state of a teacher-forced run."""
        x = np.zeros(self.units) if x is None else x
        u = pair.inputs if pair.inputs is not None else np.zeros((pair.steps, 0))
        fb = previous_targets(pair.targets, before) if generative else np.zeros((pair.steps, 0))
        states = np.empty((pair.steps, self.units))
        for t in range(pair.steps):
            x = self._step(x, u[t], fb[t])
            states[t] = x
        return states, x

    def _fit_readout(self, sequences, washout: int, generative: bool):
        stats = ReadoutStats(1, self.units + 1, sequences[0].targets.shape[1])
        finals = []
        for pair in sequences:
            states, x = self._teacher_forced(pair, generative)
            stats.add(design_matrix(states[None, washout:], self.readout.bias), pair.targets[washout:])
            finals.append(x)
        return stats.solve(self.readout)[0], finals

    def _free_run(self, readout: np.ndarray, x: np.ndarray, y: np.ndarray, window: SequencePair) -> np.ndarray:
        u = window.inputs if window.inputs is not None else np.zeros((window.steps, 0))
        outputs = np.empty((window.steps, readout.shape[1]))
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(window.steps):
                x = self._step(x, u[t], y)
                y = np.append(x, 1.0) @ readout
                outputs[t] = y
        return outputs

    def _predict(self, readout: np.ndarray, pair: SequencePair, generative: bool) -> np.ndarray:
        states, _ = self._teacher_forced(pair, generative)
        return design_matrix(states[None], True)[0] @ readout

    def _errors(self, task: Task, readout, finals, history, windows) -> tuple[float, list[np.ndarray]]:
        errors, outputs = [], []
        for i, window in enumerate(windows):
            if task.generative:
                y = self._free_run(readout, finals[i], history[i].targets[-1], window)
            else:
                y = self._predict(readout, window, False)
            outputs.append(y)
            errors.append(score(task.metric, window.targets, y[None])[0])
        return float(np.mean(errors)) if errors else float("nan"), outputs

    def fit(self, task: Task) -> ESNResult:
        """Fit the readout on train (validation error), refit on train + validation, then score the test window."""
        self._init_weights(task.n_inputs, task.n_outputs, task.generative)
        readout, finals = self._fit_readout(task.train, task.washout, task.generative)
        validation_error, _ = self._errors(task, readout, finals, task.train, task.validation)
        seen = task.seen_before_test()
        self.readout_, finals = self._fit_readout(seen, task.washout, task.generative)
        test_error, outputs = self._errors(task, self.readout_, finals, seen, task.test)
        return ESNResult(validation_error, test_error, outputs)
