"""Gradient baseline without a constant error carousel: a plain (Elman-style) recurrent net trained by BPTT and Adam.

The net against which LSTM was invented. Back-propagated through time, the error at step t reaches step t - q
multiplied by the Jacobian product

    dh(t) / dh(t-q) = prod_{k=0}^{q-1} diag(f'(a(t-k))) W_rec

whose norm shrinks (or grows) roughly like (max|f'| * ||W_rec||)^q: exponentially in the lag q (Hochreiter 1991,
"the vanishing gradient"; max|f'| is 1 for tanh and 1/4 for the logistic function). On tasks whose target depends
on an input many steps back (:mod:`evolino.tasks.long_lag`) this net learns the short lags and fails the long
ones, which the BPTT-trained LSTM of :mod:`evolino.baselines.bptt` and Evolino are to be compared with.

The network, with hidden state h(t) (H,), network input x(t) (k,) and h(0) = 0::

    a(t) = W_in x(t) + W_rec h(t-1) + b
    h(t) = f(a(t))                        f = tanh or the logistic function 1 / (1 + exp(-a))
    y(t) = W_out h(t) + b_out             (linear output, trained by gradient as well)

Flat parameter vector (:attr:`RNNSpec.dimension` = H k + H H + H + m H + m entries), each matrix row-major::

    params = [W_in (H, k) | W_rec (H, H) | b (H,) | W_out (m, H) | b_out (m,)]

Loss (:func:`rnn_loss_and_gradient`), over a batch of B sequences with targets d (B, T, m) and a mask (B, T) of the
scored steps: each sequence's squared errors are averaged over its own scored steps and the m outputs, then the
sequences over the batch, times 0.5 -- the loss of :func:`evolino.baselines.bptt.batch_loss_and_gradient`::

    loss = 0.5 / B * sum_b  [ sum_{t scored in b} ||y_b(t) - d_b(t)||^2 / (m * n_b) ]     (n_b scored steps of b)

A sequence without a scored step adds nothing (but counts in B). Unscored targets may be NaN.

The estimator :class:`BPTTRNN` mirrors :class:`~evolino.baselines.bptt.BPTTLSTM`. Its network input is the task's
external inputs and, on generative tasks, the previous target (teacher forcing) or output (closed loop) times
``feedback_scale``: x(t) = [u(t), s * y(t-1)], so k = n_inputs (+ n_outputs). It trains on ``task.train``: every
sequence from a zero state, the first ``washout`` steps and the steps without a target left out of the loss, exactly
as BPTTLSTM does; sequences of unequal length are padded at the end (zero inputs, no target), which changes nothing,
the net being causal. The validation and test errors follow the protocol of :func:`evolino.evaluation.model_error`
(which reads an LSTM genome and so cannot run this net): a continued task's net is run through everything before
the part and then generates it closed-loop (generative) or predicts it teacher-forced; independent sequences each
from a zero state, washout steps unscored; errors pooled over sequences by the same metric code
(:class:`evolino.fitness.ScorePool`), in the task's original units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from evolino.blas import single_threaded_blas
from evolino.errors import NotFittedError
from evolino.fitness import ScorePool, previous_targets
from evolino.model import check_columns
from evolino.network import sigmoid
from evolino.params import ParamsMixin
from evolino.scaling import Standardizer
from evolino.tasks.base import SequencePair, Task

__all__ = ["ACTIVATIONS", "RNNSpec", "RNNWeights", "BPTTRNN", "BPTTRNNResult", "rnn_forward", "rnn_loss_and_gradient"]

ACTIVATIONS = ("tanh", "logistic")


def _check_activation(activation: object) -> None:
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}, got {activation!r}")


def _check_count(name: str, value: object, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")


class RNNWeights(NamedTuple):
    """Views of a flat parameter vector: w_in (H, k), w_rec (H, H), b (H,), w_out (m, H), b_out (m,)."""

    w_in: np.ndarray
    w_rec: np.ndarray
    b: np.ndarray
    w_out: np.ndarray
    b_out: np.ndarray


@dataclass(frozen=True)
class RNNSpec:
    """Sizes and activation of a plain recurrent net; defines the parameter layout (see the module docstring).

    Parameters
    ----------
    n_inputs : int
        Network inputs per step, k (external inputs and fed-back values together); may be 0.
    units : int
        Hidden units, H.
    n_outputs : int
        Linear outputs, m.
    activation : {"tanh", "logistic"}
        The hidden units' nonlinearity f.
    """

    n_inputs: int = 0
    units: int = 10
    n_outputs: int = 1
    activation: str = "tanh"

    def __post_init__(self) -> None:
        _check_count("units", self.units, 1)
        _check_count("n_inputs", self.n_inputs, 0)
        _check_count("n_outputs", self.n_outputs, 1)
        _check_activation(self.activation)

    @property
    def dimension(self) -> int:
        """Length of the flat parameter vector."""
        k, h, m = self.n_inputs, self.units, self.n_outputs
        return h * k + h * h + h + m * h + m

    def unpack(self, params: np.ndarray) -> RNNWeights:
        """Views (no copies) of ``params`` (dimension,) as :class:`RNNWeights`."""
        params = np.asarray(params)
        if params.shape != (self.dimension,):
            raise ValueError(f"params must have shape ({self.dimension},) for {self}, got {params.shape}")
        k, h, m = self.n_inputs, self.units, self.n_outputs
        ends = np.cumsum([h * k, h * h, h, m * h, m])
        w_in, w_rec, b, w_out, b_out = np.split(params, ends[:-1])
        return RNNWeights(w_in.reshape(h, k), w_rec.reshape(h, h), b, w_out.reshape(m, h), b_out)


def _activate(activation: str, a: np.ndarray) -> np.ndarray:
    return np.tanh(a) if activation == "tanh" else sigmoid(a)


def _slope(activation: str, h: np.ndarray) -> np.ndarray:
    """f'(a) written with h = f(a)."""
    return 1.0 - h**2 if activation == "tanh" else h * (1.0 - h)


def _batched(array: np.ndarray, columns: int, name: str) -> tuple[np.ndarray, bool]:
    """``array`` as (B, T, columns) floats, and whether it came without the batch axis."""
    array = np.asarray(array, dtype=np.float64)
    single = array.ndim == 2
    if single:
        array = array[None]
    if array.ndim != 3 or array.shape[2] != columns:
        raise ValueError(f"{name} must have shape (T, {columns}) or (B, T, {columns}), got {np.shape(array)}")
    return array, single


def _hidden(spec: RNNSpec, w: RNNWeights, inputs: np.ndarray, state: np.ndarray) -> np.ndarray:
    """Hidden states (B, T, H) over inputs (B, T, k) from ``state`` (B, H)."""
    drive = inputs @ w.w_in.T + w.b  # the input part of a(t), all steps at once
    states = np.empty(drive.shape)
    h = state
    for t in range(drive.shape[1]):
        h = _activate(spec.activation, drive[:, t] + h @ w.w_rec.T)
        states[:, t] = h
    return states


def rnn_forward(params: np.ndarray, inputs: np.ndarray, spec: RNNSpec,
                state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run the net over one sequence or a batch of sequences of equal length.

    Parameters
    ----------
    params : (spec.dimension,)
        Flat parameter vector (layout in the module docstring).
    inputs : (T, k) or (B, T, k)
        Network inputs x(t), k = ``spec.n_inputs``.
    spec : RNNSpec
    state : (H,) or (B, H), optional
        h(0); zeros by default.

    Returns
    -------
    outputs : (T, m) or (B, T, m)
        y(t), batched as ``inputs`` is.
    states : (T, H) or (B, T, H)
        h(t) for t = 1..T; the last row is the state to continue from.
    """
    w = spec.unpack(params)
    x, single = _batched(inputs, spec.n_inputs, "inputs")
    h0 = np.zeros((x.shape[0], spec.units)) if state is None else \
        np.broadcast_to(np.asarray(state, dtype=np.float64), (x.shape[0], spec.units))
    with np.errstate(over="ignore", invalid="ignore"):
        states = _hidden(spec, w, x, h0)
        outputs = states @ w.w_out.T + w.b_out
    return (outputs[0], states[0]) if single else (outputs, states)


def rnn_loss_and_gradient(params: np.ndarray, inputs: np.ndarray, targets: np.ndarray, mask: np.ndarray | None,
                          spec: RNNSpec) -> tuple[float, np.ndarray]:
    """The loss of the module docstring on a batch of sequences from h(0) = 0, and its exact gradient (BPTT).

    Parameters
    ----------
    params : (spec.dimension,)
    inputs : (T, k) or (B, T, k)
    targets : (T, m) or (B, T, m)
        May be NaN where ``mask`` is False.
    mask : (T,) or (B, T) bool, optional
        The steps that are scored (a washout and steps without a target are False); None: every step.
    spec : RNNSpec

    Returns
    -------
    loss : float
    grad : (spec.dimension,)
        d loss / d params, in the layout of ``params``.
    """
    w = spec.unpack(params)
    x, single = _batched(inputs, spec.n_inputs, "inputs")
    d, _ = _batched(targets, spec.n_outputs, "targets")
    B, T, m = d.shape
    if x.shape[:2] != (B, T):
        raise ValueError(f"inputs {x.shape[:2]} and targets {(B, T)} differ in batch size or steps")
    if mask is None:
        rows = np.ones((B, T), dtype=bool)
    elif np.shape(mask) == ((T,) if single else (B, T)):
        rows = np.asarray(mask, dtype=bool).reshape(B, T)
    else:
        raise ValueError(f"mask must have shape {(T,) if single else (B, T)}, got {np.shape(mask)}")
    states = _hidden(spec, w, x, np.zeros((B, spec.units)))
    outputs = states @ w.w_out.T + w.b_out
    share = 1.0 / (np.maximum(rows.sum(axis=1), 1) * m * B)  # (B,) each sequence weighs the same
    error = np.where(rows[..., None], outputs - np.where(rows[..., None], d, 0.0), 0.0)
    loss = 0.5 * float(np.sum(share[:, None, None] * error**2))
    dy = share[:, None, None] * error  # d loss / d y (B, T, m)
    grad = np.zeros(spec.dimension)
    g = spec.unpack(grad)  # views into grad
    H = spec.units
    g.w_out[...] = dy.reshape(-1, m).T @ states.reshape(-1, H)
    g.b_out[...] = dy.sum(axis=(0, 1))
    dh_out = dy @ w.w_out  # (B, T, H): the loss's direct dependence on each h(t)
    da = np.zeros((B, T, H))
    scored_steps = np.flatnonzero(rows.any(axis=0))
    da_next = np.zeros((B, H))
    for t in range(scored_steps[-1] if scored_steps.size else -1, -1, -1):  # nothing flows back from later steps
        da_next = (dh_out[:, t] + da_next @ w.w_rec) * _slope(spec.activation, states[:, t])
        da[:, t] = da_next
    previous = np.concatenate([np.zeros((B, 1, H)), states[:, :-1]], axis=1)  # h(t-1)
    flat = da.reshape(-1, H).T
    g.w_in[...] = flat @ x.reshape(-1, spec.n_inputs)
    g.w_rec[...] = flat @ previous.reshape(-1, H)
    g.b[...] = da.sum(axis=(0, 1))
    return loss, grad


@dataclass
class BPTTRNNResult:
    """A gradient-trained plain RNN and its errors (the fields of :class:`~evolino.baselines.bptt.BPTTResult`, plus
    the test outputs and the gradient norms).

    Attributes
    ----------
    spec : RNNSpec
    params : (spec.dimension,)
        The trained parameter vector.
    train_loss : list of float
        The loss of every Adam step's batch (before that step's update).
    gradient_norm : list of float
        The global norm of every step's gradient before clipping (an explosion shows here; the run stops at the
        first non-finite one).
    validation_error, test_error : float
        The task's metric on the validation and test parts (NaN without one), in original units.
    test_outputs : list of (T_i, m) arrays
        Outputs on each test sequence (free runs for generative tasks), in model units, for criteria such as
        :func:`evolino.tasks.long_lag.solved_fraction`.
    """

    spec: RNNSpec
    params: np.ndarray
    train_loss: list[float] = field(default_factory=list)
    gradient_norm: list[float] = field(default_factory=list)
    validation_error: float = float("nan")
    test_error: float = float("nan")
    test_outputs: list[np.ndarray] = field(default_factory=list)

    @property
    def history(self) -> list[float]:
        """The training losses, step by step (``train_loss``)."""
        return self.train_loss


class BPTTRNN(ParamsMixin):
    """A plain recurrent net (tanh or logistic units, linear output) trained by BPTT and Adam, teacher-forced.

    An estimator like :class:`~evolino.baselines.bptt.BPTTLSTM`: ``fit(task)`` returns it, with ``result_``
    (:class:`BPTTRNNResult`); ``get_params``/``set_params`` (so ``sklearn.base.clone`` works), ``predict``,
    ``generate`` and ``score``.

    Parameters
    ----------
    units : int
        Hidden units H.
    activation : {"tanh", "logistic"}
    feedback_scale : float
        Generative tasks: factor s of the fed-back previous target / output.
    iterations : int
        Adam steps.
    learning_rate : float
    clip : float
        Gradient norm clip (global norm over every parameter).
    init_scale : float
        Initial input and recurrent weights and hidden biases N(0, init_scale^2); the output weights start at zero.
    spectral_radius : float, optional
        Rescale the initial W_rec to this spectral radius (roughly: below 1/max|f'| the back-propagated error shrinks
        from the start; well above it, it can grow); None keeps the N(0, init_scale^2) draw.
    batch_size : int, optional
        Sequences per step (minibatches, reshuffled every epoch); None: every training sequence at every step.
    random_state : int
        Seed of the initial weights and of the minibatches.

    Attributes
    ----------
    spec_ : RNNSpec
    params_ : (spec_.dimension,)
    result_ : BPTTRNNResult
    """

    def __init__(self, units: int = 10, activation: str = "tanh", feedback_scale: float = 1.0,
                 iterations: int = 300, learning_rate: float = 1e-2, clip: float = 1.0, init_scale: float = 0.1,
                 spectral_radius: float | None = None, batch_size: int | None = None, random_state: int = 0) -> None:
        self.units = units
        self.activation = activation
        self.feedback_scale = feedback_scale
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.clip = clip
        self.init_scale = init_scale
        self.spectral_radius = spectral_radius
        self.batch_size = batch_size
        self.random_state = random_state

    def _validate(self) -> None:
        _check_count("units", self.units, 1)
        _check_activation(self.activation)
        _check_count("iterations", self.iterations, 1)
        if not self.learning_rate > 0 or not self.clip > 0:
            raise ValueError(f"need learning_rate > 0 and clip > 0, got {self.learning_rate!r} and {self.clip!r}")
        if not (np.isfinite(self.init_scale) and self.init_scale >= 0):
            raise ValueError(f"init_scale must be finite and >= 0, got {self.init_scale!r}")
        if not np.isfinite(self.feedback_scale):
            raise ValueError(f"feedback_scale must be finite, got {self.feedback_scale!r}")
        if self.spectral_radius is not None and not (np.isfinite(self.spectral_radius) and self.spectral_radius > 0):
            raise ValueError(f"spectral_radius must be > 0 or None, got {self.spectral_radius!r}")
        if self.batch_size is not None:
            _check_count("batch_size", self.batch_size, 1)

    def fit(self, task: Task) -> BPTTRNN:
        """Train on ``task.train``; the errors on the validation and test parts are in ``result_``.

        Returns
        -------
        self
        """
        self._validate()
        spec = RNNSpec(n_inputs=task.n_inputs + (task.n_outputs if task.generative else 0), units=int(self.units),
                       n_outputs=task.n_outputs, activation=self.activation)
        # the weights' stream is the seed's own, the batches' an independent child (as in BPTTLSTM)
        init_rng = np.random.default_rng(self.random_state)
        batch_rng = np.random.default_rng(np.random.SeedSequence(self.random_state).spawn(1)[0])
        params = init_rng.normal(0.0, self.init_scale, spec.dimension)
        w = spec.unpack(params)
        w.w_out[...], w.b_out[...] = 0.0, 0.0
        if self.spectral_radius is not None:
            radius = float(np.max(np.abs(np.linalg.eigvals(w.w_rec))))
            if radius > 0:
                w.w_rec[...] *= self.spectral_radius / radius
        self.spec_, self.scaler_ = spec, task.scaler
        self.generative_, self.washout_ = task.generative, task.washout
        with single_threaded_blas():  # BLAS threads on these small matrices only contend (see evolino.blas)
            losses, norms = self._adam(params, task, batch_rng)
            self.params_ = params
            validation = self._error(task, "validation")[0] if task.validation else float("nan")
            test, outputs = self._error(task, "test") if task.test else (float("nan"), [])
        self.result_ = BPTTRNNResult(spec, params, losses, norms, validation, test, outputs)
        return self

    # ------------------------------------------------------------------------------------------------ training

    def _sources(self, pair: SequencePair) -> np.ndarray:
        """Teacher-forced network inputs (T, k) of one sequence from its start: [u(t), s * d(t-1)]."""
        parts = [pair.inputs] if pair.inputs is not None else []
        if self.generative_:
            parts.append(self.feedback_scale * previous_targets(pair.targets))
        return np.concatenate(parts, axis=1) if parts else np.zeros((pair.steps, 0))

    def _adam(self, params: np.ndarray, task: Task, rng: np.random.Generator) -> tuple[list[float], list[float]]:
        """Adam on ``params``, in place, over the whole training set or minibatches of ``batch_size`` sequences
        (drawn without replacement within an epoch); the loss and gradient norm of every step's batch."""
        train = list(task.train)
        lengths = np.array([p.steps for p in train])
        inputs = np.zeros((len(train), lengths.max(), self.spec_.n_inputs))
        targets = np.zeros((len(train), lengths.max(), task.n_outputs))
        rows = np.zeros((len(train), lengths.max()), dtype=bool)
        for b, pair in enumerate(train):
            inputs[b, : pair.steps] = self._sources(pair)
            targets[b, : pair.steps] = pair.filled_targets
            rows[b, task.washout : pair.steps] = pair.scored[task.washout :]
        m, v = np.zeros_like(params), np.zeros_like(params)
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        losses, norms = [], []
        size = len(train) if self.batch_size is None else min(int(self.batch_size), len(train))
        order: list[int] = []
        for step in range(1, self.iterations + 1):
            if size == len(train):
                batch = slice(None)
                steps = lengths.max()
            else:
                if len(order) < size:
                    order += rng.permutation(len(train)).tolist()
                batch, order = np.array(order[:size]), order[size:]
                steps = lengths[batch].max()
            with np.errstate(over="ignore", invalid="ignore"):
                loss, grad = rnn_loss_and_gradient(params, inputs[batch, :steps], targets[batch, :steps],
                                                   rows[batch, :steps], self.spec_)
            norm = float(np.sqrt(np.sum(grad**2)))
            losses.append(loss)
            norms.append(norm)
            if not np.isfinite(norm):
                break
            grad = grad * (min(1.0, self.clip / norm) if norm > 0 else 1.0)
            m[...] = beta1 * m + (1 - beta1) * grad
            v[...] = beta2 * v + (1 - beta2) * grad**2
            params -= self.learning_rate * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)
        return losses, norms

    # ---------------------------------------------------------------------------------------------- protocol

    def _free_run(self, state: np.ndarray, last: np.ndarray, inputs: np.ndarray | None, steps: int) -> np.ndarray:
        """Closed-loop outputs (steps, m) from hidden ``state`` (H,), ``last`` (m,) the last known target fed back
        first, ``inputs`` (steps, n_inputs) or None."""
        spec, w = self.spec_, self.spec_.unpack(self.params_)
        outputs = np.empty((steps, spec.n_outputs))
        h, y = state, last
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(steps):
                x = self.feedback_scale * y if inputs is None else np.concatenate([inputs[t], self.feedback_scale * y])
                h = _activate(spec.activation, w.w_in @ x + w.w_rec @ h + w.b)
                y = w.w_out @ h + w.b_out
                outputs[t] = y
        return outputs

    def _error(self, task: Task, split: str) -> tuple[float, list[np.ndarray]]:
        """The task's metric on ``split`` and the outputs (model units) on each of its sequences, by the protocol
        of :func:`evolino.evaluation.model_error`."""
        parts = list(task.test if split == "test" else task.validation)
        pool, outputs = ScorePool(1, 1), []
        if task.continued:
            before = task.seen_before_test() if split == "test" else list(task.train)
            for known, part in zip(before, parts, strict=True):
                if task.generative:
                    _, states = rnn_forward(self.params_, self._sources(known), self.spec_)
                    out = self._free_run(states[-1], known.targets[-1], part.inputs, part.steps)
                else:
                    joined = SequencePair(np.concatenate([known.targets, part.targets]),
                                          None if known.inputs is None else np.concatenate([known.inputs, part.inputs]))
                    out = rnn_forward(self.params_, self._sources(joined), self.spec_)[0][known.steps :]
                pool.add(part.targets, part.scored, [out[None]])
                outputs.append(out)
        else:
            for part in parts:
                out = rnn_forward(self.params_, self._sources(part), self.spec_)[0]
                mask = part.scored.copy()
                mask[: task.washout] = False
                pool.add(part.targets, mask, [out[None]])
                outputs.append(out)
        return float(pool.scores(task)[0, 0]), outputs

    # ------------------------------------------------------------------------------------ the fitted estimator

    def _fitted(self) -> RNNSpec:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(task) first")
        return self.spec_

    def _to_model(self, inputs: np.ndarray | None, targets: np.ndarray | None):
        scaler: Standardizer | None = self.scaler_
        if scaler is None:
            return inputs, targets
        return scaler.inputs_to_model(inputs), None if targets is None else scaler.targets_to_model(targets)

    def _to_original(self, outputs: np.ndarray) -> np.ndarray:
        return outputs if self.scaler_ is None else self.scaler_.targets_to_original(outputs)

    def _external_inputs(self) -> int:
        return self.spec_.n_inputs - (self.spec_.n_outputs if self.generative_ else 0)

    def predict(self, inputs: np.ndarray | None = None, targets: np.ndarray | None = None) -> np.ndarray:
        """Teacher-forced outputs for one sequence from a zero state, in original units.

        Parameters
        ----------
        inputs : (T, n_inputs), required if the task has inputs
        targets : (T, n_outputs), required for a generative task's net: the previous target is fed back

        Returns
        -------
        outputs : (T, n_outputs); row t predicts the target of step t
        """
        spec = self._fitted()
        reference = inputs if inputs is not None else targets
        if reference is None:
            raise ValueError("predict needs inputs or (for a generative task's network) targets")
        steps = len(reference)
        inputs = check_columns(inputs, self._external_inputs(), "inputs", steps)
        targets = check_columns(targets, spec.n_outputs if self.generative_ else 0, "targets", steps)
        inputs, targets = self._to_model(inputs, targets)
        pair = SequencePair(np.zeros((steps, spec.n_outputs)) if targets is None else targets, inputs)
        return self._to_original(rnn_forward(self.params_, self._sources(pair), spec)[0])

    def generate(self, history: np.ndarray, steps: int, history_inputs: np.ndarray | None = None,
                 future_inputs: np.ndarray | None = None) -> np.ndarray:
        """Teacher-force on ``history``, then generate ``steps`` outputs closed-loop, in original units.

        Parameters
        ----------
        history : (T, n_outputs)
            Known past of the signal.
        steps : int
        history_inputs, future_inputs : (T, n_inputs) and (steps, n_inputs), for a task with inputs.

        Returns
        -------
        outputs : (steps, n_outputs)
        """
        spec = self._fitted()
        if not self.generative_:
            raise ValueError("generate needs a network fitted on a generative task (it feeds its output back)")
        _check_count("steps", steps, 1)
        history = check_columns(history, spec.n_outputs, "history")
        history_inputs = check_columns(history_inputs, self._external_inputs(), "history_inputs", len(history))
        future_inputs = check_columns(future_inputs, self._external_inputs(), "future_inputs", steps)
        history_inputs, history = self._to_model(history_inputs, history)
        future_inputs, _ = self._to_model(future_inputs, None)
        _, states = rnn_forward(self.params_, self._sources(SequencePair(history, history_inputs)), spec)
        return self._to_original(self._free_run(states[-1], history[-1], future_inputs, steps))

    def score(self, task: Task, split: str = "test") -> float:
        """The error of the fitted net on a split of ``task`` (the task's metric: lower is better, unlike
        scikit-learn's ``score``), computed as ``result_.test_error`` is; ``task`` in the units it was fitted in."""
        spec = self._fitted()
        if split not in ("validation", "test"):
            raise ValueError(f"split must be 'validation' or 'test', got {split!r}")
        if not (task.test if split == "test" else task.validation):
            raise ValueError(f"task {task.name!r} has no {split} part")
        if task.generative != self.generative_ or task.n_outputs != spec.n_outputs or \
                task.n_inputs != self._external_inputs():
            raise ValueError(f"the network was fitted on a {'generative' if self.generative_ else 'supervised'} "
                             f"task with {self._external_inputs()} inputs and {spec.n_outputs} outputs, task "
                             f"{task.name!r} differs")
        return self._error(task, split)[0]
