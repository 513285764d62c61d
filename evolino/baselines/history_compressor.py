"""The neural history compressor: a predictor RNN passes only its unexpected inputs up to a second RNN.

Schmidhuber, "Learning complex, extended sequences using the principle of history compression", Neural Computation
4(2), 1992; "Neural sequence chunkers", TR FKI-148-91, TU Munich, 1991. The principle: whatever a net can predict
carries no information beyond what it has seen; a sequence is therefore fully described by its unpredicted inputs and
the times at which they came. A low-level net that learns to predict its next input thus compresses the history for a
higher-level net, which sees a far shorter sequence, with far shorter time lags, and learns the target from it.

Two plain recurrent nets, both :mod:`evolino.baselines.rnn` nets (its flat parameter vector, :func:`rnn_forward` and
:func:`rnn_loss_and_gradient`), both trained by BPTT with Adam on the same stream of training sequences, in batches
of ``batch_size``. With s(t) the one-hot symbol (n,) at step t = 0 .. T-1:

**Predictor** (``predictor_units`` hidden units, n inputs, n outputs) reads s(t) and outputs logits y(t) for the
next symbol; p(t) = softmax(y(t)). Loss: cross-entropy of the actual next symbol, averaged over the T - 1 predicted
steps of each sequence, then over the batch (:func:`predictor_loss_and_gradient`)::

    L_P = -1/B sum_b 1/(T-1) sum_{t=0}^{T-2} log p_b(t)[s_b(t+1)]

**Compression** (:func:`unexpected_steps`, :func:`compress`). Input t >= 1 is *unexpected* when the probability the
predictor gave it one step earlier is below ``threshold``: p(t-1)[s(t)] < threshold (default 0.5: then the actual
symbol was not the predictor's clear favourite). The first input is always unexpected (nothing predicted it). The
K unexpected steps t_1 < ... < t_K become the high level's inputs::

    z(k) = [s(t_k), t_k / time_scale]              (n + 1,)   k = 1 .. K      (time_scale: T - 1 by default)

**High level** (``units`` hidden units, n + 1 inputs, C linear outputs, C = 2 classes) reads z(1) .. z(K) and is
trained by :func:`rnn_loss_and_gradient` (squared error to the one-hot class) at its last step K only. Run online,
the high level's state changes only when an unexpected input arrives, so its output at the end of the sequence is
its output after z(K): the class is the argmax of y_H(K). A predictor that has learnt the filler of
:mod:`evolino.tasks.chunking` leaves K = 1 (z(1) = [a or x, 0]): a time lag of 20 or 1,000 steps becomes none.

While the predictor still errs, K is up to T and the high level faces the long lag; as it learns, the compressed
sequences shrink. Each batch is compressed by the predictor *before* the batch's updates, then both nets take one
Adam step (gradient clipped to global norm ``clip``).

**Single RNN** (:class:`DirectRNN`, the conventional net the paper compares with): the same high-level net, same
units, initialisation, optimiser, batches and inputs [s(t), t / time_scale], fed every step t = 0 .. T-1 (no
predictor): the lag is bridged by back-propagation alone.

**Success** (both learners): the outputs on the last ``window`` (100) training sequences, each computed before the
update on its batch, were all the right class; it is checked after every batch, so "sequences to success" is a
multiple of ``batch_size``. Training stops at success or after ``max_sequences``. Then the frozen system classifies
``test_sequences`` fresh sequences (drawn after training from the same generator): the fresh-test accuracy.

Shapes: symbols (B, T) int; predictor inputs and logits (B, T, n); compressed inputs (B, K_max, n + 1), zero-padded
at the end (the net is causal, padding changes nothing before it); high-level outputs (B, K_max, C).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from evolino.baselines.rnn import RNNSpec, rnn_forward, rnn_loss_and_gradient
from evolino.blas import single_threaded_blas
from evolino.errors import NotFittedError
from evolino.tasks.chunking import ChunkingTask, one_hot

__all__ = ["HistoryCompressor", "DirectRNN", "CompressorResult", "softmax", "predictor_loss_and_gradient",
           "next_symbol_probabilities", "unexpected_steps", "compress"]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (shifted by the maximum, so large logits never overflow)."""
    z = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _batched_symbols(symbols: np.ndarray) -> tuple[np.ndarray, bool]:
    symbols = np.asarray(symbols)
    single = symbols.ndim == 1
    symbols = symbols[None] if single else symbols
    if symbols.ndim != 2 or symbols.shape[1] < 1 or not np.issubdtype(symbols.dtype, np.integer):
        raise ValueError(f"symbols must be integers of shape (T,) or (B, T) with T >= 1, got {symbols.dtype} "
                         f"{np.shape(symbols)}")
    return symbols, single


def predictor_loss_and_gradient(params: np.ndarray, symbols: np.ndarray, spec: RNNSpec) -> tuple[float, np.ndarray]:
    """The predictor's cross-entropy L_P (module docstring) and its exact gradient.

    The gradient of softmax cross-entropy with respect to the logits y is p - d (d the one-hot actual symbol); that
    is the error of the squared loss of :func:`rnn_loss_and_gradient` at the surrogate target y - m (p - d) (m = n
    outputs, undoing that loss's 1/m), so the BPTT of rnn.py, given that target, returns the exact cross-entropy
    gradient.

    Parameters
    ----------
    params : (spec.dimension,)
        The predictor's flat parameter vector (spec.n_inputs = spec.n_outputs = n).
    symbols : (T,) or (B, T) int
        Symbol sequences (T >= 2); step t's input is one_hot(s(t)), its target s(t+1).
    spec : RNNSpec

    Returns
    -------
    loss : float
    grad : (spec.dimension,)
    """
    symbols, _ = _batched_symbols(symbols)
    n = spec.n_outputs
    if spec.n_inputs != n:
        raise ValueError(f"a predictor has as many inputs as outputs (symbols), got {spec.n_inputs} and {n}")
    if symbols.shape[1] < 2:
        raise ValueError("the predictor needs sequences of at least 2 steps")
    inputs = one_hot(symbols, n)
    logits, _ = rnn_forward(params, inputs, spec)
    p = softmax(logits)
    B, T = symbols.shape
    rows = np.zeros((B, T), dtype=bool)
    rows[:, :-1] = True  # the last step has no next symbol
    nexts = np.zeros((B, T), dtype=np.int64)
    nexts[:, :-1] = symbols[:, 1:]
    actual = np.take_along_axis(p, nexts[..., None], axis=-1)[..., 0]
    with np.errstate(divide="ignore"):
        loss = float(-np.sum(np.log(actual[:, :-1])) / ((T - 1) * B))
    surrogate = logits - n * (p - one_hot(nexts, n))
    _, grad = rnn_loss_and_gradient(params, inputs, surrogate, rows, spec)
    return loss, grad


def next_symbol_probabilities(params: np.ndarray, symbols: np.ndarray, spec: RNNSpec) -> np.ndarray:
    """The probability the predictor gave each actual input one step before it came.

    Parameters
    ----------
    params : (spec.dimension,)
    symbols : (T,) or (B, T) int
    spec : RNNSpec

    Returns
    -------
    probabilities : (T,) or (B, T)
        Entry t >= 1 is p(t-1)[s(t)]; entry 0 is NaN (nothing predicts the first input).
    """
    batch, single = _batched_symbols(symbols)
    p = softmax(rnn_forward(params, one_hot(batch, spec.n_outputs), spec)[0])
    out = np.full(batch.shape, np.nan)
    out[:, 1:] = np.take_along_axis(p[:, :-1], batch[:, 1:, None], axis=-1)[..., 0]
    return out[0] if single else out


def unexpected_steps(probabilities: np.ndarray, threshold: float) -> np.ndarray:
    """Which inputs are unexpected: step 0 always, step t >= 1 when ``probabilities[..., t] < threshold``.

    Parameters
    ----------
    probabilities : (T,) or (B, T)
        From :func:`next_symbol_probabilities` (entry 0 is ignored).
    threshold : float
        In (0, 1].

    Returns
    -------
    unexpected : bool, shaped as ``probabilities``
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must lie in (0, 1], got {threshold!r}")
    probabilities = np.asarray(probabilities, dtype=np.float64)
    unexpected = ~(probabilities >= threshold)  # NaN counts as unexpected
    unexpected[..., 0] = True
    return unexpected


def compress(symbols: np.ndarray, unexpected: np.ndarray, n_symbols: int,
             time_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The high level's input sequences: the unexpected inputs and their times.

    Parameters
    ----------
    symbols : (T,) or (B, T) int
    unexpected : bool, shaped as ``symbols``
        Step 0 must be True (:func:`unexpected_steps`).
    n_symbols : int
    time_scale : float
        The time code of step t is t / time_scale (> 0).

    Returns
    -------
    inputs : (K, n_symbols + 1) or (B, K_max, n_symbols + 1)
        z(k) = [one_hot(s(t_k)), t_k / time_scale], zero rows after a sequence's K_b steps.
    lengths : int or (B,) int
        K_b, the unexpected steps of each sequence (>= 1).
    """
    batch, single = _batched_symbols(symbols)
    if np.shape(unexpected) != np.shape(symbols):
        raise ValueError(f"unexpected must have the shape of symbols {np.shape(symbols)}, got {np.shape(unexpected)}")
    mask = np.asarray(unexpected, dtype=bool).reshape(batch.shape)
    if not mask[:, 0].all():
        raise ValueError("the first input of every sequence must be unexpected")
    if not time_scale > 0:
        raise ValueError(f"time_scale must be > 0, got {time_scale!r}")
    lengths = mask.sum(axis=1)
    B, K = batch.shape[0], int(lengths.max())
    inputs = np.zeros((B, K, n_symbols + 1))
    b, t = np.nonzero(mask)  # row-major: each sequence's steps in order
    k = np.arange(len(b)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    inputs[b, k, :n_symbols] = one_hot(batch[b, t], n_symbols)
    inputs[b, k, n_symbols] = t / time_scale
    return (inputs[0], int(lengths[0])) if single else (inputs, lengths)


class _Adam:
    """Adam on a flat parameter vector, in place, with global-norm gradient clipping."""

    def __init__(self, params: np.ndarray, learning_rate: float, clip: float) -> None:
        self.params, self.learning_rate, self.clip = params, learning_rate, clip
        self.m, self.v, self.step_count = np.zeros_like(params), np.zeros_like(params), 0

    def step(self, grad: np.ndarray) -> float:
        norm = float(np.sqrt(np.sum(grad**2)))
        if not np.isfinite(norm):
            return norm
        grad = grad * (min(1.0, self.clip / norm) if norm > 0 else 1.0)
        self.step_count += 1
        beta1, beta2 = 0.9, 0.999
        self.m[...] = beta1 * self.m + (1 - beta1) * grad
        self.v[...] = beta2 * self.v + (1 - beta2) * grad**2
        m_hat, v_hat = self.m / (1 - beta1**self.step_count), self.v / (1 - beta2**self.step_count)
        self.params -= self.learning_rate * m_hat / (np.sqrt(v_hat) + 1e-8)
        return norm


@dataclass
class CompressorResult:
    """How a learner of this module did on a :class:`~evolino.tasks.chunking.ChunkingTask`.

    Attributes
    ----------
    solved : bool
        Success (the last ``window`` training sequences all right) within the budget.
    sequences : int
        Training sequences seen: at success, or the whole budget.
    sequences_to_success : int or None
        ``sequences`` when solved, else None.
    test_accuracy : float
        Fraction of the fresh test sequences classified right by the frozen system.
    test_compressed_steps : float
        Mean steps the high level saw per test sequence (K; T for :class:`DirectRNN`).
    compressed_steps : list of float
        Mean K over every training batch (before its updates).
    train_accuracy : list of float
        Fraction right in every training batch (before its updates).
    seconds : float
        Wall time of training and testing.
    """

    solved: bool
    sequences: int
    sequences_to_success: int | None
    test_accuracy: float
    test_compressed_steps: float
    compressed_steps: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    seconds: float = 0.0


def _check_int(name: str, value: object, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")


def _check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or \
            not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


class _OnlineLearner:
    """The training loop, the success test and the fresh test shared by both learners."""

    def __init__(self, units: int, learning_rate: float, clip: float, init_scale: float, batch_size: int,
                 max_sequences: int, window: int, test_sequences: int, time_scale: float | None,
                 activation: str, random_state: int | np.random.Generator) -> None:
        self.units = units
        self.learning_rate = learning_rate
        self.clip = clip
        self.init_scale = init_scale
        self.batch_size = batch_size
        self.max_sequences = max_sequences
        self.window = window
        self.test_sequences = test_sequences
        self.time_scale = time_scale
        self.activation = activation
        self.random_state = random_state

    def _validate(self) -> None:
        _check_int("units", self.units, 1)
        _check_positive("learning_rate", self.learning_rate)
        _check_positive("clip", self.clip)
        if isinstance(self.init_scale, bool) or not (np.isfinite(self.init_scale) and self.init_scale >= 0):
            raise ValueError(f"init_scale must be finite and >= 0, got {self.init_scale!r}")
        _check_int("batch_size", self.batch_size, 1)
        _check_int("max_sequences", self.max_sequences, 1)
        _check_int("window", self.window, 1)
        _check_int("test_sequences", self.test_sequences, 1)
        if self.time_scale is not None:
            _check_positive("time_scale", self.time_scale)
        if self.activation not in ("tanh", "logistic"):
            raise ValueError(f"activation must be 'tanh' or 'logistic', got {self.activation!r}")
        if not isinstance(self.random_state, (int, np.integer, np.random.Generator)) or \
                isinstance(self.random_state, bool):
            raise ValueError(f"random_state must be an int or a numpy.random.Generator, got {self.random_state!r}")

    def _init_params(self, spec: RNNSpec, rng: np.random.Generator) -> np.ndarray:
        """Input and recurrent weights and hidden biases N(0, init_scale^2), output weights zero (as BPTTRNN)."""
        params = rng.normal(0.0, self.init_scale, spec.dimension)
        w = spec.unpack(params)
        w.w_out[...], w.b_out[...] = 0.0, 0.0
        return params

    def fit(self, task: ChunkingTask):
        """Train on sequences drawn from ``task`` until success or ``max_sequences``; then test on fresh ones.

        Parameters
        ----------
        task : ChunkingTask

        Returns
        -------
        self
            With ``result_`` (:class:`CompressorResult`).
        """
        self._validate()
        if not isinstance(task, ChunkingTask):
            raise ValueError(f"task must be a ChunkingTask, got {type(task).__name__}")
        rng = np.random.default_rng(self.random_state)
        self.n_symbols_, self.n_classes_ = task.n_symbols, task.n_classes
        self.time_scale_ = float(self.time_scale if self.time_scale is not None else max(task.steps - 1, 1))
        started = time.perf_counter()
        recent: deque[bool] = deque(maxlen=int(self.window))
        seen, solved, steps_log, accuracy_log = 0, False, [], []
        with single_threaded_blas():
            self._initialise(rng)
            while seen < self.max_sequences and not solved:
                count = min(int(self.batch_size), int(self.max_sequences) - seen)
                symbols, targets = task.sample(rng, count)
                correct, steps = self._train_batch(symbols, targets)
                seen += count
                recent.extend(correct.tolist())
                steps_log.append(float(np.mean(steps)))
                accuracy_log.append(float(np.mean(correct)))
                solved = len(recent) == recent.maxlen and all(recent)
            symbols, targets = task.sample(rng, int(self.test_sequences))
            predicted, steps = self._classify(symbols)
        self.result_ = CompressorResult(solved, seen, seen if solved else None,
                                        float(np.mean(predicted == targets)), float(np.mean(steps)), steps_log,
                                        accuracy_log, time.perf_counter() - started)
        return self

    def _fitted(self) -> None:
        if not hasattr(self, "result_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(task) first")

    def predict(self, symbols: np.ndarray) -> np.ndarray:
        """The class (0 for ``a``, 1 for ``x``) the fitted system outputs at the end of each sequence.

        Parameters
        ----------
        symbols : (T,) or (B, T) int

        Returns
        -------
        classes : int or (B,) int
        """
        self._fitted()
        batch, single = _batched_symbols(symbols)
        classes, _ = self._classify(batch)
        return int(classes[0]) if single else classes

    def _high_level(self, inputs: np.ndarray, lengths: np.ndarray, targets: np.ndarray | None):
        """Outputs at each sequence's last step (B, C) and, with targets, one Adam step of the high level."""
        B = len(lengths)
        outputs, _ = rnn_forward(self.params_, inputs, self.spec_)
        final = outputs[np.arange(B), lengths - 1]
        if targets is not None:
            rows = np.zeros(inputs.shape[:2], dtype=bool)
            rows[np.arange(B), lengths - 1] = True
            wanted = np.zeros(outputs.shape)
            wanted[np.arange(B), lengths - 1] = one_hot(targets, self.n_classes_)
            with np.errstate(over="ignore", invalid="ignore"):
                _, grad = rnn_loss_and_gradient(self.params_, inputs, wanted, rows, self.spec_)
            self._adam.step(grad)
        return final


class HistoryCompressor(_OnlineLearner):
    """Schmidhuber's two-level history compressor (module docstring) on a
    :class:`~evolino.tasks.chunking.ChunkingTask`.

    Parameters
    ----------
    predictor_units : int
        Hidden units of the low-level predictor.
    units : int
        Hidden units of the high-level net.
    threshold : float
        An input t >= 1 is unexpected when the predictor gave it a probability below this, in (0, 1].
    learning_rate : float
        Adam's step size, both nets.
    clip : float
        Global gradient-norm clip, each net.
    init_scale : float
        Initial input and recurrent weights and hidden biases N(0, init_scale^2); output weights start at zero.
    batch_size : int
        Training sequences per Adam step.
    max_sequences : int
        Budget of training sequences.
    window : int
        Success: the last ``window`` training sequences all classified right (before their updates).
    test_sequences : int
        Fresh sequences classified after training.
    time_scale : float, optional
        Time code t / time_scale; None: T - 1 of the task.
    activation : {"tanh", "logistic"}
    random_state : int or numpy.random.Generator
        The only source of randomness: initial weights, then the training sequences, then the test sequences, drawn
        in that order from one Generator (a Generator passed in is used, and advanced, as is).

    Attributes
    ----------
    predictor_spec_, predictor_params_ : RNNSpec, (predictor_spec_.dimension,)
    spec_, params_ : RNNSpec, (spec_.dimension,)
        The high level.
    result_ : CompressorResult
    """

    def __init__(self, predictor_units: int = 16, units: int = 10, threshold: float = 0.5,
                 learning_rate: float = 1e-2, clip: float = 1.0, init_scale: float = 0.1, batch_size: int = 10,
                 max_sequences: int = 10_000, window: int = 100, test_sequences: int = 100,
                 time_scale: float | None = None, activation: str = "tanh",
                 random_state: int | np.random.Generator = 0) -> None:
        super().__init__(units, learning_rate, clip, init_scale, batch_size, max_sequences, window, test_sequences,
                         time_scale, activation, random_state)
        self.predictor_units = predictor_units
        self.threshold = threshold

    def _validate(self) -> None:
        super()._validate()
        _check_int("predictor_units", self.predictor_units, 1)
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float, np.floating)) or \
                not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must lie in (0, 1], got {self.threshold!r}")

    def _initialise(self, rng: np.random.Generator) -> None:
        n = self.n_symbols_
        self.predictor_spec_ = RNNSpec(n, int(self.predictor_units), n, self.activation)
        self.spec_ = RNNSpec(n + 1, int(self.units), self.n_classes_, self.activation)
        self.predictor_params_ = self._init_params(self.predictor_spec_, rng)
        self.params_ = self._init_params(self.spec_, rng)
        self._predictor_adam = _Adam(self.predictor_params_, self.learning_rate, self.clip)
        self._adam = _Adam(self.params_, self.learning_rate, self.clip)

    def compressed(self, symbols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The high level's inputs for ``symbols`` (T,) or (B, T) under the current predictor: see :func:`compress`."""
        batch, single = _batched_symbols(symbols)
        with np.errstate(over="ignore", invalid="ignore"):
            probabilities = next_symbol_probabilities(self.predictor_params_, batch, self.predictor_spec_)
        inputs, lengths = compress(batch, unexpected_steps(probabilities, self.threshold), self.n_symbols_,
                                   self.time_scale_)
        return (inputs[0, : lengths[0]], int(lengths[0])) if single else (inputs, lengths)

    def _train_batch(self, symbols: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inputs, lengths = self.compressed(symbols)
        final = self._high_level(inputs, lengths, targets)
        if symbols.shape[1] >= 2:
            with np.errstate(over="ignore", invalid="ignore"):
                _, grad = predictor_loss_and_gradient(self.predictor_params_, symbols, self.predictor_spec_)
            self._predictor_adam.step(grad)
        return np.argmax(final, axis=1) == targets, lengths

    def _classify(self, symbols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inputs, lengths = self.compressed(symbols)
        return np.argmax(self._high_level(inputs, lengths, None), axis=1), lengths


class DirectRNN(_OnlineLearner):
    """The conventional single RNN: the high level of :class:`HistoryCompressor` fed every step, no predictor.

    Inputs z(t) = [one_hot(s(t)), t / time_scale] for t = 0 .. T-1, the class read at step T-1; the parameters are
    those of :class:`HistoryCompressor` without ``predictor_units`` and ``threshold``, plus:

    Parameters
    ----------
    spectral_radius : float, optional
        Rescale the initial W_rec to this spectral radius (a stronger baseline near 1: the back-propagated error then
        shrinks less per step); None keeps the N(0, init_scale^2) draw, as the high level has it.
    """

    def __init__(self, units: int = 10, learning_rate: float = 1e-2, clip: float = 1.0, init_scale: float = 0.1,
                 batch_size: int = 10, max_sequences: int = 100_000, window: int = 100, test_sequences: int = 100,
                 time_scale: float | None = None, activation: str = "tanh", spectral_radius: float | None = None,
                 random_state: int | np.random.Generator = 0) -> None:
        super().__init__(units, learning_rate, clip, init_scale, batch_size, max_sequences, window, test_sequences,
                         time_scale, activation, random_state)
        self.spectral_radius = spectral_radius

    def _validate(self) -> None:
        super()._validate()
        if self.spectral_radius is not None:
            _check_positive("spectral_radius", self.spectral_radius)

    def _initialise(self, rng: np.random.Generator) -> None:
        self.spec_ = RNNSpec(self.n_symbols_ + 1, int(self.units), self.n_classes_, self.activation)
        self.params_ = self._init_params(self.spec_, rng)
        if self.spectral_radius is not None:
            w_rec = self.spec_.unpack(self.params_).w_rec
            radius = float(np.max(np.abs(np.linalg.eigvals(w_rec))))
            if radius > 0:
                w_rec[...] *= self.spectral_radius / radius
        self._adam = _Adam(self.params_, self.learning_rate, self.clip)

    def _inputs(self, symbols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return compress(symbols, np.ones(symbols.shape, dtype=bool), self.n_symbols_, self.time_scale_)

    def _train_batch(self, symbols: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inputs, lengths = self._inputs(symbols)
        return np.argmax(self._high_level(inputs, lengths, targets), axis=1) == targets, lengths

    def _classify(self, symbols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inputs, lengths = self._inputs(symbols)
        return np.argmax(self._high_level(inputs, lengths, None), axis=1), lengths
