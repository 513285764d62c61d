"""Gradient baseline: the same LSTM (same :class:`~evolino.network.LSTMSpec` and genome layout) trained by
back-propagation through time with Adam.

Hidden weights and the linear output layer are both trained by gradient on the teacher-forced one-step prediction
error (mean squared error after the washout); feedback inputs are the teacher-forced targets, so no gradient flows
into them. The trained network is an :class:`~evolino.model.EvolinoModel`, scored on the task's test windows by the
same code as Evolino's fitted network (:func:`evolino.evaluation.model_error`), so the two are directly comparable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evolino.evaluation import model_error
from evolino.fitness import previous_targets
from evolino.fitted import FittedNetworkMixin
from evolino.model import EvolinoModel
from evolino.network import LSTMSpec, sigmoid
from evolino.params import ParamsMixin
from evolino.tasks.base import SequencePair, Task

__all__ = ["BPTTLSTM", "BPTTResult", "batch_loss_and_gradient", "loss_and_gradient"]


def _units(spec: LSTMSpec) -> list[str]:
    return ["z", "i", "f", "o"] if spec.forget_gate else ["z", "i", "o"]


def _split(spec: LSTMSpec, genome: np.ndarray) -> dict[str, np.ndarray]:
    """Views of one genome: per unit W (C, S) and b (C,), peepholes (C,) per gate."""
    C, S = spec.cells, spec.n_sources
    per_cell = genome.reshape(C, spec.cell_genes)
    parts = {}
    for g, unit in enumerate(_units(spec)):
        block = per_cell[:, g * (S + 1) : (g + 1) * (S + 1)]
        parts["W" + unit], parts["b" + unit] = block[:, :S], block[:, S]
    offset = spec.n_gates * (S + 1)
    for g, unit in enumerate(_units(spec)[1:]):
        parts["p" + unit] = per_cell[:, offset + g] if spec.peepholes else np.zeros(C)
    return parts


def loss_and_gradient(spec: LSTMSpec, genome: np.ndarray, readout: np.ndarray, pair: SequencePair,
                      washout: int) -> tuple[float, np.ndarray, np.ndarray]:
    """Teacher-forced MSE after the washout (over the steps that have a target) and its exact gradient.

    Parameters
    ----------
    genome : (d,)
    readout : (cells + 1, m), bias last
    pair : the sequence (targets (T, m), inputs (T, n_inputs) or None)

    Returns
    -------
    loss : float            0.5 * mean over scored steps and outputs of (y - d)^2
    grad_genome : (d,)
    grad_readout : (cells + 1, m)
    """
    return batch_loss_and_gradient(spec, genome, readout, [pair], washout)


def batch_loss_and_gradient(spec: LSTMSpec, genome: np.ndarray, readout: np.ndarray, pairs: list[SequencePair],
                            washout: int) -> tuple[float, np.ndarray, np.ndarray]:
    """The mean over ``pairs`` of :func:`loss_and_gradient`, all sequences run at once.

    Sequences of different lengths are padded at the end (zero inputs, no targets): the network is causal, so steps
    after a sequence's end change neither its outputs nor its gradient. Each sequence weighs the same, whatever its
    number of scored steps.
    """
    B, T, C = len(pairs), max(p.steps for p in pairs), spec.cells
    weights = _split(spec, genome)
    ext = np.zeros((B, T, spec.n_inputs + spec.n_feedback))
    targets = np.full((B, T, readout.shape[1]), np.nan)
    rows = np.zeros((B, T), dtype=bool)
    for b, pair in enumerate(pairs):
        parts = ([pair.inputs] if spec.n_inputs else []) + \
            ([spec.feedback_scale * previous_targets(pair.targets)] if spec.feedback else [])
        if parts:
            ext[b, : pair.steps] = np.concatenate(parts, axis=1)
        targets[b, : pair.steps] = pair.targets
        rows[b, washout : pair.steps] = pair.scored[washout:]
    tape = _forward(spec, weights, ext)
    hs = np.stack([o * np.tanh(c_new) for (_, _, _, _, o, _, c_new) in tape], axis=1)  # (B, T, C)
    design = np.concatenate([hs, np.ones((B, T, 1))], axis=2)[rows]
    # each sequence's squared errors are averaged over its own scored entries, then the sequences over the batch
    share = (1.0 / (np.maximum(rows.sum(axis=1), 1) * readout.shape[1] * B))[np.nonzero(rows)[0]][:, None]
    error = design @ readout - targets[rows]
    loss = 0.5 * float(np.sum(share * error**2))
    grad_readout = design.T @ (share * error)
    dh_out = np.zeros((B, T, C))
    dh_out[rows] = (share * error) @ readout[:C].T
    grad = _backward(spec, weights, tape, dh_out, ext.shape[2], genome.shape)
    return loss, grad, grad_readout


def _forward(spec: LSTMSpec, w: dict[str, np.ndarray], ext: np.ndarray) -> list[tuple]:
    """Run one genome over a batch of external sources ext (B, T, n_ext); the tape holds each step's
    (x, z, i, f, o, c_prev, c), each (B, .)."""
    B, C = ext.shape[0], spec.cells
    h, c = np.zeros((B, C)), np.zeros((B, C))
    tape = []
    for t in range(ext.shape[1]):
        x = np.concatenate([ext[:, t], h], axis=1)
        z = np.tanh(x @ w["Wz"].T + w["bz"])
        i = sigmoid(x @ w["Wi"].T + w["bi"] + w["pi"] * c)
        f = sigmoid(x @ w["Wf"].T + w["bf"] + w["pf"] * c) if spec.forget_gate else np.ones((B, C))
        c_new = f * c + i * z
        o = sigmoid(x @ w["Wo"].T + w["bo"] + w["po"] * c_new)
        tape.append((x, z, i, f, o, c, c_new))
        h, c = o * np.tanh(c_new), c_new
    return tape


def _backward(spec: LSTMSpec, w: dict[str, np.ndarray], tape: list[tuple], dh_out: np.ndarray, n_ext: int,
              shape: tuple[int, ...]) -> np.ndarray:
    """Back-propagate the loss's gradient with respect to every h(t), dh_out (B, T, C), through the tape -> (d,)."""
    B, C = dh_out.shape[0], spec.cells
    grad = np.zeros(shape)
    g = _split(spec, grad)  # views into grad
    dh_next, dc_next = np.zeros((B, C)), np.zeros((B, C))
    da_i_next = da_f_next = f_next = np.zeros((B, C))
    for t in range(len(tape) - 1, -1, -1):
        x, z, i, f, o, c_prev, c_t = tape[t]
        dh = dh_out[:, t] + dh_next
        tanh_c = np.tanh(c_t)
        da_o = dh * tanh_c * o * (1 - o)
        dc = dh * o * (1 - tanh_c**2) + da_o * w["po"] + dc_next * f_next + da_i_next * w["pi"]
        if spec.forget_gate:
            dc += da_f_next * w["pf"]
        da_i = dc * z * i * (1 - i)
        da_z = dc * i * (1 - z**2)
        da_f = dc * c_prev * f * (1 - f) if spec.forget_gate else np.zeros((B, C))
        deltas = {"z": da_z, "i": da_i, "f": da_f, "o": da_o}
        dx = np.zeros_like(x)
        for unit in _units(spec):
            g["W" + unit][...] += deltas[unit].T @ x
            g["b" + unit][...] += deltas[unit].sum(axis=0)
            dx += deltas[unit] @ w["W" + unit]
        if spec.peepholes:
            g["pi"][...] += (da_i * c_prev).sum(axis=0)
            g["po"][...] += (da_o * c_t).sum(axis=0)
            if spec.forget_gate:
                g["pf"][...] += (da_f * c_prev).sum(axis=0)
        dh_next = dx[:, n_ext:]
        dc_next, f_next, da_i_next, da_f_next = dc, f, da_i, da_f
    return grad


@dataclass
class BPTTResult:
    """A gradient-trained network and its errors (same meaning as Evolino's FitResult fields)."""

    model: EvolinoModel
    train_loss: list[float] = field(default_factory=list)
    validation_error: float = float("nan")
    test_error: float = float("nan")


class BPTTLSTM(FittedNetworkMixin, ParamsMixin):
    """LSTM of Evolino's parameterisation trained by BPTT and Adam (full batch or minibatches, teacher forcing).

    An estimator like :class:`evolino.Evolino`: ``fit(task)`` returns it, with ``result_`` (:class:`BPTTResult`)
    and ``model_``; ``get_params``/``set_params``, ``predict``, ``generate`` and ``score``.

    Parameters
    ----------
    cells, peepholes, forget_gate, feedback_scale : network settings, as for :class:`evolino.Evolino`
    iterations : int
        Adam steps.
    learning_rate : float
    clip : float
        Gradient norm clip (exploding gradients are part of what this baseline shows).
    init_scale : float
        Initial weights N(0, init_scale^2).
    forget_bias : float
        Added to the forget gates' initial biases: a forget gate starting near 0.5 halves the cell state and the
        back-propagated error every step, so long lags need a start near 1 (Gers, Schmidhuber & Cummins, Learning
        to forget, 2000). Ignored without forget gates.
    batch_size : int, optional
        Sequences per step (minibatches, reshuffled every epoch); None: every training sequence at every step.
    random_state : int
        Seed of the initial weights and of the minibatches.
    """

    def __init__(self, cells: int = 10, peepholes: bool = True, forget_gate: bool = True,
                 feedback_scale: float = 1.0, iterations: int = 300, learning_rate: float = 1e-2,
                 clip: float = 1.0, init_scale: float = 0.1, batch_size: int | None = None,
                 random_state: int = 0, forget_bias: float = 0.0) -> None:
        self.cells = cells
        self.peepholes = peepholes
        self.forget_gate = forget_gate
        self.feedback_scale = feedback_scale
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.clip = clip
        self.init_scale = init_scale
        self.batch_size = batch_size
        self.random_state = random_state
        self.forget_bias = forget_bias

    def fit(self, task: Task, refit: bool = False) -> BPTTLSTM:
        """Train on ``task.train``; the errors on the validation and test parts are in ``result_``, the network is
        ``model_``.

        Parameters
        ----------
        task : Task
        refit : bool
            Train on everything before the test part instead (``task.seen_before_test()``: train + validation,
            joined for a continued task), as Evolino's final readout is refitted once a setting was chosen on
            validation; the validation error is then not reported (nan).

        Returns
        -------
        self
        """
        if self.iterations < 1 or self.learning_rate <= 0 or self.clip <= 0:
            raise ValueError("need iterations >= 1, learning_rate > 0 and clip > 0")
        if self.batch_size is not None and not (isinstance(self.batch_size, (int, np.integer)) and self.batch_size > 0):
            raise ValueError(f"batch_size must be a positive integer or None, got {self.batch_size!r}")
        spec = LSTMSpec(n_inputs=task.n_inputs, cells=self.cells, n_outputs=task.n_outputs,
                        peepholes=self.peepholes, forget_gate=self.forget_gate, feedback=task.generative,
                        feedback_scale=self.feedback_scale)
        # the weights' stream is the seed's own (as before minibatches existed); the batches' an independent child
        init_rng = np.random.default_rng(self.random_state)
        batch_rng = np.random.default_rng(np.random.SeedSequence(self.random_state).spawn(1)[0])
        params = [init_rng.normal(0, self.init_scale, spec.dimension), np.zeros((spec.cells + 1, spec.n_outputs))]
        if spec.forget_gate:
            _split(spec, params[0])["bf"][:] += self.forget_bias
        train = task.seen_before_test() if refit else list(task.train)
        losses = self._adam(spec, params, task, train, batch_rng)
        self.model_ = EvolinoModel(spec, params[0], params[1], task.scaler, task.input_names, task.target_names,
                                   task.washout)
        validation = model_error(self.model_, task, "validation") if task.validation and not refit else float("nan")
        test = model_error(self.model_, task, "test") if task.test else float("nan")
        self.result_ = BPTTResult(self.model_, losses, validation, test)
        return self

    def _adam(self, spec: LSTMSpec, params: list[np.ndarray], task: Task, train: list[SequencePair],
              rng: np.random.Generator) -> list[float]:
        """Adam on ``params`` = [genome, readout], in place, over the sequences ``train`` or minibatches of
        ``batch_size`` of them (drawn without replacement within an epoch); the loss of every step's batch."""
        moments = [[np.zeros_like(p), np.zeros_like(p)] for p in params]
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        losses = []
        size = len(train) if self.batch_size is None else min(int(self.batch_size), len(train))
        order: list[int] = []
        for step in range(1, self.iterations + 1):
            if size == len(train):
                batch = train
            else:
                if len(order) < size:
                    order += rng.permutation(len(train)).tolist()
                batch, order = [train[k] for k in order[:size]], order[size:]
            loss, g_genome, g_readout = batch_loss_and_gradient(spec, params[0], params[1], batch, task.washout)
            grads = [g_genome, g_readout]
            losses.append(loss)
            norm = np.sqrt(sum(float(np.sum(gr**2)) for gr in grads))
            if not np.isfinite(norm):
                break
            scale = min(1.0, self.clip / norm) if norm > 0 else 1.0
            for p, gr, (m, v) in zip(params, grads, moments, strict=True):
                gr = gr * scale
                m[...] = beta1 * m + (1 - beta1) * gr
                v[...] = beta2 * v + (1 - beta2) * gr**2
                p -= self.learning_rate * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)
        return losses
