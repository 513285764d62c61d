"""Random weight guessing on small sigmoid recurrent nets: the study of Schmidhuber & Hochreiter (1996).

Schmidhuber & Hochreiter, *Guessing can outperform many long time lag algorithms*, Technical note IDSIA-19-96
(1996); Hochreiter & Schmidhuber, *Long short-term memory*, Neural Computation 9(8), 1997, section 3. Idea: draw
every weight of a small recurrent net iid from U[-100, 100], keep drawing until one net classifies every training
sequence right, and count the nets tried ("trials"). Long time-lag benchmarks that guessing solves in a few thousand
trials say little about a learning algorithm. :class:`evolino.optimizers.RandomGuessing` draws the weights and
counts the trials; this module holds the nets it is run on, their data, and the search loop.

Network. One input ``u(t)`` (+1/-1 for parity; the latch's first element +1/-1, then noise), H hidden units ``h``
and one logistic output unit ``y``, both reset to 0 at the start of every sequence. Layered update: at step t the
hidden units read the input at t and the state at t-1, then the output reads the *new* hidden state::

    h(t) = f(w_in u(t) + W_hh h(t-1) + w_fb y(t-1) + b_h)                (H,)
    y(t) = sigmoid(w_out . h(t) + w_uy u(t) + w_yy y(t-1) + b_y)          scalar

with ``sigmoid(x) = 1 / (1 + exp(-x))`` (:func:`evolino.network.sigmoid`) and ``f`` the hidden units' squashing
function, :attr:`Architecture.hidden_activation`: the logistic ``sigmoid`` (the default, range (0, 1)) or ``tanh``
(range (-1, 1); only ``one-tanh`` below). The output is logistic in every architecture. An :class:`Architecture`
says which of these connections exist; an absent one is a weight fixed at 0 and not drawn. Every unit has a bias (a
weight from a unit that is always 1), drawn like every other weight. A sequence of length L is classified by the
output at its own last step: class 1 (parity odd; latch first element +1) when ``y(L) > 0.5``, else class 0.

Architectures (:data:`ARCHITECTURES`; weights drawn per net, biases included):

``a1`` (8)
    One hidden unit, fully connected: the hidden unit sees the input, itself and the output (at t-1); the output
    sees the hidden unit (at t), the input and itself.
``a2`` (53)
    Ten hidden units, each seeing only the input, itself and the output; the output sees every hidden unit, the
    input and itself. The paper calls A2 sparsely connected; our reading is that the hidden units do not see each
    other (the output is the only path between them).
``a2-noself`` (43)
    A2 with the hidden self-weights fixed at 0: each hidden unit sees only the input and the output.
``one-unit`` (5)
    One self-recurrent hidden unit and a non-recurrent output that sees only it (the layered net of the 1997
    paper's experiment 2): the literal reading of "1 input, 1 self-recurrent hidden unit, 1 output". It cannot solve
    parity nor the noisy latch (below); kept to show it.
``one-tanh`` (5)
    ``one-unit`` with a tanh hidden unit: one self-recurrent tanh unit with a bias, and a non-recurrent logistic
    output that sees only that unit's current value (plus its bias). The paper's "latch II" net, one tanh unit
    (Schmidhuber & Hochreiter 1996). It can hold the noisy latch (below); like ``one-unit`` it cannot solve parity.
``one-tanh-nobias`` (3)
    ``one-tanh`` without biases: the three weights input -> unit, unit -> itself, unit -> output. Whether the
    paper's latch net had biases is not stated where we looked; both readings are run.
``a2-dense`` (131)
    Ten fully recurrent hidden units (every one sees every one) and a non-recurrent output that sees only them:
    the other reading of A2. Guessing found no solution of parity in 5 x 20,000 trials (A2: a median of 1,733).

Why these readings. (1) With a synchronous update (the output reading the hidden state of t-1) parity is
unsolvable: for a fixed state the output at t is monotone in u(t), but must rise with u(t) after an even prefix and
fall after an odd one. (2) With one hidden unit and a non-recurrent output, parity is unsolvable too: for a fixed
input the map h(t-1) -> h(t) is monotone with the sign of the self-weight, the same for u = +1 and u = -1, yet u = -1
must keep the class (readable from h by a threshold) and u = +1 must swap it; so A1's output must be a second state
unit. (3) The noisy latch is unsolvable with one state unit (``one-unit``): its reset value 0 is the bottom of the
logistic range, at or below any later state, so a later noise value beyond the first element's magnitude (about 7
per sequence of 550 steps at variance 0.2) pushes a sequence at least as far as the first element did (the update
is monotone in state and input). Two state units (A1) can latch: one marks class 0 and blocks the other, which
holds class 1 (the test suite builds such a net). (4) One *tanh* state unit (``one-tanh``) can latch: its reset
value 0 is the middle of its range, so the first element sends it towards +1 or -1 according to its sign, and a
self-weight large against the input weight makes both ends stable fixed points (near h = +-1 the self-input
``w_hh h`` outweighs ``w_in`` times any likely noise value: with self-weight 50 and input weight 5 it would take a
noise value beyond 10, 22 standard deviations), so the unit holds the sign through the noise and the output reads
it off with a threshold (the test suite builds such a net: self-weight 50, input weight 5, output weight 50). The
argument of (3) fails because a class-0 sequence's state sits near -1, below the reset value. With these readings
guessing takes trials of the published order on parity (A1 about 2.4 times as many; see docs/random-guessing.md).
On the noisy latch A1 takes about 12,000 trials; the published 22 ("latch II") is for one tanh unit
(``one-tanh``), and A1 matches it only without the noise.

Genome layout (one row of the (n, n_weights) array :meth:`Architecture.unpack` reads), the present connections
only, in this order: ``w_in (H), W_hh (row-major, present entries only), w_fb (H), b_h (H), w_out (H), w_uy, w_yy,
b_y``. The hidden activation does not change it: ``one-unit`` and ``one-tanh`` both read ``w_in, w_hh, b_h, w_out,
b_y``.

Shapes. :class:`NetWeights` holds n nets (leading axis n); a :class:`Sequences` batch holds S sequences zero-padded
to T, the longest (inputs (S, T), lengths (S,), labels (S,)); :func:`run` gives the (n, S, T) outputs at every step,
:func:`final_outputs` the (n, S) outputs at each sequence's own last step, :func:`classified_right` (n, S) bools. A
net's output on a sequence never depends on which other nets or sequences share its batch (element-wise arithmetic
in a fixed order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evolino.network import sigmoid
from evolino.optimizers.guessing import RandomGuessing
from evolino.tasks.base import SequencePair
from evolino.tasks.long_lag import parity_sequence

__all__ = ["Architecture", "ARCHITECTURES", "NetWeights", "Sequences", "GuessResult", "get_architecture",
           "latch_sequences", "parity_sequences", "run", "final_outputs", "classified_right", "accuracy",
           "guess_until_solved", "HALF_WIDTH", "HIDDEN_ACTIVATIONS"]

HALF_WIDTH = 100.0  # the papers' weight range: U[-100, 100]
HIDDEN_ACTIVATIONS = {"logistic": sigmoid, "tanh": np.tanh}  # the hidden units' squashing; the output is logistic


@dataclass(frozen=True)
class Architecture:
    """Which connections of the net in the module docstring exist.

    The hidden units always see the input at t; the output always sees every hidden unit at t; every unit has a bias
    when ``bias``.

    Parameters
    ----------
    name : str
        Label used in results.
    hidden : int
        H, hidden units.
    self_loops : bool
        Each hidden unit sees itself at t-1 (the diagonal of W_hh).
    lateral : bool
        Each hidden unit sees the other hidden units at t-1 (the off-diagonal of W_hh).
    output_to_hidden : bool
        The hidden units see the output at t-1 (w_fb).
    output_self : bool
        The output sees itself at t-1 (w_yy).
    input_to_output : bool
        The output sees the input at t (w_uy).
    bias : bool
        Every hidden unit and the output have a bias.
    hidden_activation : str
        The hidden units' squashing function, a key of :data:`HIDDEN_ACTIVATIONS`: ``"logistic"`` (range (0, 1))
        or ``"tanh"`` (range (-1, 1)). The output unit is logistic either way.
    """

    name: str
    hidden: int
    self_loops: bool = True
    lateral: bool = False
    output_to_hidden: bool = False
    output_self: bool = False
    input_to_output: bool = False
    bias: bool = True
    hidden_activation: str = "logistic"

    def __post_init__(self) -> None:
        if isinstance(self.hidden, bool) or not isinstance(self.hidden, int | np.integer) or self.hidden < 1:
            raise ValueError(f"hidden must be an integer >= 1, got {self.hidden!r}")
        if not isinstance(self.hidden_activation, str) or self.hidden_activation not in HIDDEN_ACTIVATIONS:
            raise ValueError(f"unknown hidden_activation {self.hidden_activation!r}; choose from "
                             f"{sorted(HIDDEN_ACTIVATIONS)}")

    @property
    def recurrent_mask(self) -> np.ndarray:
        """(H, H) bool: the present entries of W_hh (row i: the weights into hidden unit i)."""
        eye = np.eye(self.hidden, dtype=bool)
        return (eye & self.self_loops) | (~eye & self.lateral)

    @property
    def n_weights(self) -> int:
        """Weights drawn per net (the genome length), biases included."""
        h = self.hidden
        return (h + int(self.recurrent_mask.sum()) + h * self.output_to_hidden + h * self.bias + h
                + self.input_to_output + self.output_self + self.bias)

    def unpack(self, genomes: np.ndarray) -> NetWeights:
        """Genomes (n, n_weights) in the module's layout -> :class:`NetWeights` with absent weights 0."""
        genomes = np.asarray(genomes, dtype=np.float64)
        if genomes.ndim == 1:
            genomes = genomes[None, :]
        if genomes.ndim != 2 or genomes.shape[1] != self.n_weights:
            raise ValueError(f"genomes must have shape (n, {self.n_weights}) for {self.name}, got {genomes.shape}")
        n, h = genomes.shape[0], self.hidden
        columns = iter(np.split(genomes, np.cumsum(self._block_sizes())[:-1], axis=1))
        zeros = np.zeros((n, h))
        w_in = next(columns)
        w_hh = np.zeros((n, h, h))
        w_hh[:, self.recurrent_mask] = next(columns)
        w_fb = next(columns) if self.output_to_hidden else zeros
        b_h = next(columns) if self.bias else zeros
        w_out = next(columns)
        w_uy = next(columns)[:, 0] if self.input_to_output else np.zeros(n)
        w_yy = next(columns)[:, 0] if self.output_self else np.zeros(n)
        b_y = next(columns)[:, 0] if self.bias else np.zeros(n)
        return NetWeights(w_in=np.ascontiguousarray(w_in), w_hh=w_hh, w_fb=np.ascontiguousarray(w_fb),
                          b_h=np.ascontiguousarray(b_h), w_out=np.ascontiguousarray(w_out), w_uy=w_uy, w_yy=w_yy,
                          b_y=b_y, hidden_activation=self.hidden_activation)

    def _block_sizes(self) -> list[int]:
        h = self.hidden
        sizes = [h, int(self.recurrent_mask.sum())]
        sizes += [h] * self.output_to_hidden + [h] * self.bias + [h]
        sizes += [1] * self.input_to_output + [1] * self.output_self + [1] * self.bias
        return sizes


ARCHITECTURES: dict[str, Architecture] = {
    "one-unit": Architecture("one-unit", hidden=1),
    "one-tanh": Architecture("one-tanh", hidden=1, hidden_activation="tanh"),
    "one-tanh-nobias": Architecture("one-tanh-nobias", hidden=1, hidden_activation="tanh", bias=False),
    "a1": Architecture("a1", hidden=1, output_to_hidden=True, output_self=True, input_to_output=True),
    "a2": Architecture("a2", hidden=10, output_to_hidden=True, output_self=True, input_to_output=True),
    "a2-noself": Architecture("a2-noself", hidden=10, self_loops=False, output_to_hidden=True, output_self=True,
                              input_to_output=True),
    "a2-dense": Architecture("a2-dense", hidden=10, lateral=True),
}


def get_architecture(spec: Architecture | str) -> Architecture:
    """An :class:`Architecture`, or the one of :data:`ARCHITECTURES` with that name (ValueError if unknown)."""
    if isinstance(spec, Architecture):
        return spec
    if not isinstance(spec, str) or spec not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {spec!r}; choose from {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[spec]


@dataclass(frozen=True)
class NetWeights:
    """The weights of n nets, absent connections 0.

    Attributes
    ----------
    w_in : (n, H)       input -> hidden
    w_hh : (n, H, H)    hidden(t-1) -> hidden; ``w_hh[k, i, j]`` is the weight from unit j into unit i
    w_fb : (n, H)       output(t-1) -> hidden
    b_h : (n, H)        hidden biases
    w_out : (n, H)      hidden(t) -> output
    w_uy : (n,)         input(t) -> output
    w_yy : (n,)         output(t-1) -> output
    b_y : (n,)          output bias
    hidden_activation : str
        The hidden units' squashing function (a key of :data:`HIDDEN_ACTIVATIONS`), the same for all n nets.
    """

    w_in: np.ndarray
    w_hh: np.ndarray
    w_fb: np.ndarray
    b_h: np.ndarray
    w_out: np.ndarray
    w_uy: np.ndarray
    w_yy: np.ndarray
    b_y: np.ndarray
    hidden_activation: str = "logistic"

    def __post_init__(self) -> None:
        if not isinstance(self.hidden_activation, str) or self.hidden_activation not in HIDDEN_ACTIVATIONS:
            raise ValueError(f"unknown hidden_activation {self.hidden_activation!r}; choose from "
                             f"{sorted(HIDDEN_ACTIVATIONS)}")

    @property
    def n(self) -> int:
        return self.w_in.shape[0]

    @property
    def hidden(self) -> int:
        return self.w_in.shape[1]

    def take(self, index: np.ndarray) -> NetWeights:
        """The nets at ``index`` (an integer array or a slice)."""
        arrays = {f: getattr(self, f)[index] for f in self.__dataclass_fields__ if f != "hidden_activation"}
        return NetWeights(**arrays, hidden_activation=self.hidden_activation)


@dataclass(frozen=True, eq=False)
class Sequences:
    """S input sequences of possibly different lengths, zero-padded, with their classes.

    Parameters
    ----------
    inputs : (S, T) float
        ``inputs[s, :lengths[s]]`` is sequence s; what follows is padding (never read into an output that counts).
    lengths : (S,) int
        Each in [1, T].
    labels : (S,) bool
        True for class 1 (parity odd; latch first element +1).
    """

    inputs: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        inputs = np.asarray(self.inputs, dtype=np.float64)
        lengths = np.asarray(self.lengths)
        labels = np.asarray(self.labels)
        if inputs.ndim != 2 or inputs.shape[0] < 1 or inputs.shape[1] < 1:
            raise ValueError(f"inputs must be (S, T) with S, T >= 1, got {inputs.shape}")
        if not np.isfinite(inputs).all():
            raise ValueError("inputs must be finite")
        if lengths.shape != (inputs.shape[0],) or not np.issubdtype(lengths.dtype, np.integer):
            raise ValueError(f"lengths must be an integer array of shape ({inputs.shape[0]},), got {lengths.dtype} "
                             f"{lengths.shape}")
        if lengths.min() < 1 or lengths.max() > inputs.shape[1]:
            raise ValueError(f"lengths must lie in [1, {inputs.shape[1]}], got {lengths.min()}..{lengths.max()}")
        if labels.shape != (inputs.shape[0],) or labels.dtype != bool:
            raise ValueError(f"labels must be a bool array of shape ({inputs.shape[0]},), got {labels.dtype} "
                             f"{labels.shape}")
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(self, "lengths", lengths.astype(np.int64))

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def subset(self, index: slice | np.ndarray) -> Sequences:
        """The sequences at ``index``, padded only to their own longest."""
        lengths = self.lengths[index]
        return Sequences(self.inputs[index, : lengths.max()], lengths, self.labels[index])

    @classmethod
    def from_pairs(cls, pairs: list[SequencePair], threshold: float = 0.5) -> Sequences:
        """Pack evolino sequences with one input and a target at the last step (e.g. ``make_task("parity").test``);
        class 1 where that target exceeds ``threshold`` (0.5 for parity's 1/0, 0 for the latch task's +1/-1)."""
        if not pairs:
            raise ValueError("need at least one sequence")
        lengths = np.array([len(p.targets) for p in pairs])
        inputs = np.zeros((len(pairs), lengths.max()))
        labels = np.zeros(len(pairs), dtype=bool)
        for s, pair in enumerate(pairs):
            if pair.inputs is None or pair.inputs.shape[1] != 1:
                raise ValueError("every sequence needs exactly one input")
            if not np.isfinite(pair.targets[-1, 0]):
                raise ValueError("every sequence needs a target at its last step")
            inputs[s, : lengths[s]] = pair.inputs[:, 0]
            labels[s] = pair.targets[-1, 0] > threshold
        return cls(inputs, lengths, labels)


def _check_lengths(n: int, low: int, high: int) -> None:
    if n < 1 or low < 1 or high < low:
        raise ValueError(f"need n >= 1 and 1 <= low <= high, got n={n}, low={low}, high={high}")


def latch_sequences(rng: np.random.Generator, n: int, low: int = 500, high: int = 600,
                    noise: float = 0.2) -> Sequences:
    """n latch sequences: the first element +1 (class 1) or -1 (class 0), each with probability 1/2, then Gaussian
    noise of variance ``noise``; lengths uniform in [low, high].

    As evolino's ``latch`` task (:func:`evolino.tasks.long_lag.two_sequence` with one informative element and no
    noise on it), except that the lengths are drawn from [low, high] directly (the task draws T..T + T/10).
    """
    _check_lengths(n, low, high)
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite variance >= 0, got {noise}")
    lengths = rng.integers(low, high + 1, n)
    labels = rng.integers(0, 2, n).astype(bool)
    inputs = rng.normal(0.0, np.sqrt(noise), (n, high))
    inputs[:, 0] = np.where(labels, 1.0, -1.0)
    inputs[np.arange(high)[None, :] >= lengths[:, None]] = 0.0
    return Sequences(inputs, lengths, labels)


def parity_sequences(rng: np.random.Generator, n: int, low: int = 500, high: int = 600) -> Sequences:
    """n parity sequences of evolino's ``parity`` task (:func:`evolino.tasks.long_lag.parity_sequence`): inputs
    +1 or -1, lengths uniform in [low, high], class 1 when the number of +1 is odd."""
    _check_lengths(n, low, high)
    return Sequences.from_pairs([parity_sequence(rng, low, high) for _ in range(n)])


def _step(weights: NetWeights, u: np.ndarray, h: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One layered step for every net and sequence: u (S,), h (n, S, H), y (n, S) -> new h, y."""
    w = weights
    a = u[None, :, None] * w.w_in[:, None, :] + y[:, :, None] * w.w_fb[:, None, :] + w.b_h[:, None, :]
    for j in range(w.hidden):  # a fixed summation order: a net's result never depends on its batch
        a = a + h[:, :, j, None] * w.w_hh[:, None, :, j]
    h = HIDDEN_ACTIVATIONS[w.hidden_activation](a)
    z = w.b_y[:, None] + u[None, :] * w.w_uy[:, None] + y * w.w_yy[:, None]
    for j in range(w.hidden):
        z = z + h[:, :, j] * w.w_out[:, j, None]
    return h, sigmoid(z)


def run(weights: NetWeights, inputs: np.ndarray) -> np.ndarray:
    """Outputs of n nets on S sequences at every step, from a zero state.

    Parameters
    ----------
    weights : NetWeights
        n nets.
    inputs : (S, T)
        One input per step (padding included: a sequence's outputs past its end are meaningless).

    Returns
    -------
    (n, S, T) outputs y(t).
    """
    inputs = np.asarray(inputs, dtype=np.float64)
    if inputs.ndim != 2:
        raise ValueError(f"inputs must be (S, T), got {inputs.shape}")
    n, (S, T) = weights.n, inputs.shape
    h, y = np.zeros((n, S, weights.hidden)), np.zeros((n, S))
    out = np.empty((n, S, T))
    for t in range(T):
        h, y = _step(weights, inputs[:, t], h, y)
        out[:, :, t] = y
    return out


def final_outputs(weights: NetWeights, sequences: Sequences) -> np.ndarray:
    """(n, S) outputs of n nets at each sequence's own last step ``lengths[s] - 1``."""
    n, S = weights.n, len(sequences)
    h, y = np.zeros((n, S, weights.hidden)), np.zeros((n, S))
    last = np.zeros((n, S))
    ends = sequences.lengths - 1
    for t in range(int(sequences.lengths.max())):
        h, y = _step(weights, sequences.inputs[:, t], h, y)
        ending = ends == t
        if ending.any():
            last[:, ending] = y[:, ending]
    return last


def classified_right(weights: NetWeights, sequences: Sequences) -> np.ndarray:
    """(n, S) bool: output > 0.5 at the last step exactly for the class-1 sequences."""
    return (final_outputs(weights, sequences) > 0.5) == sequences.labels[None, :]


def accuracy(architecture: Architecture | str, genome: np.ndarray, sequences: Sequences, chunk: int = 1000) -> float:
    """Fraction of ``sequences`` one net (genome (n_weights,)) classifies right, evaluated ``chunk`` at a time."""
    weights = get_architecture(architecture).unpack(np.asarray(genome, dtype=np.float64).reshape(1, -1))
    right = [classified_right(weights, sequences.subset(slice(k, k + chunk)))[0]
             for k in range(0, len(sequences), chunk)]
    return float(np.mean(np.concatenate(right)))


@dataclass(frozen=True)
class GuessResult:
    """What :func:`guess_until_solved` found.

    Attributes
    ----------
    trials : int or None
        1-based position, in guessing order, of the first net that classifies every training sequence right; None
        when none of the first ``max_trials`` does.
    genome : (n_weights,) array or None
        That net's weights (the module's layout).
    guessed : int
        Nets drawn, a whole number of batches (>= trials: the rest of the last batch was drawn and scored too).
    """

    trials: int | None
    genome: np.ndarray | None
    guessed: int


def _stages(n: int, first: int = 4, growth: int = 4) -> list[slice]:
    """Sequence chunks for early rejection: [0, 4), [4, 16), [16, 64), ... up to n."""
    bounds, edge = [0], first
    while bounds[-1] < n:
        bounds.append(min(edge, n))
        edge *= growth
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def guess_until_solved(architecture: Architecture | str, train_sequences: Sequences, rng: np.random.Generator,
                       max_trials: int, batch: int = 1000, half_width: float = HALF_WIDTH) -> GuessResult:
    """Random weight guessing: draw nets (every weight iid U[-half_width, half_width]) until one classifies every
    training sequence right, at most ``max_trials``.

    The weights come from :class:`evolino.optimizers.RandomGuessing` (``batch`` nets per ``ask``), which counts the
    trials; the error told to it is 0 for a net that classifies every training sequence right, else 1. The k-th net
    drawn is the same whatever ``batch`` is (a Generator's stream is sequential), and whether it succeeds depends on
    it alone, so ``trials`` does not depend on ``batch``. A batch is scored on the first 4 training sequences, its
    survivors on the next 12, then 48, ... (each stage needs every earlier one right), which only saves time.

    Parameters
    ----------
    architecture : Architecture or str
        The net: an :class:`Architecture` or a name of :data:`ARCHITECTURES`.
    train_sequences : Sequences
        S training sequences.
    rng : numpy.random.Generator
        The only source of randomness (the weights).
    max_trials : int
        Give up after this many nets (a success later in the last batch is ignored).
    batch : int
        Nets drawn and scored at once; memory ~ batch x 4 x H floats per step.
    half_width : float
        Weights are drawn from U[-half_width, half_width].

    Returns
    -------
    GuessResult
        ``trials`` (1-based, None if no success within ``max_trials``), the solving ``genome`` (n_weights,) and
        the nets drawn.
    """
    arch = get_architecture(architecture)
    if isinstance(max_trials, bool) or not isinstance(max_trials, int | np.integer) or max_trials < 1:
        raise ValueError(f"max_trials must be an integer >= 1, got {max_trials!r}")
    if isinstance(batch, bool) or not isinstance(batch, int | np.integer) or batch < 1:
        raise ValueError(f"batch must be an integer >= 1, got {batch!r}")
    if not isinstance(train_sequences, Sequences):
        raise ValueError(f"train_sequences must be Sequences, got {type(train_sequences).__name__}")
    guesser = RandomGuessing(np.zeros(arch.n_weights), rng, popsize=int(batch), half_width=half_width,
                             success_error=0.0)
    stages = [train_sequences.subset(chunk) for chunk in _stages(len(train_sequences))]
    while guesser.evaluations < max_trials:
        genomes = guesser.ask()
        weights = arch.unpack(genomes)
        alive = np.arange(len(genomes))
        for chunk in stages:
            alive = alive[classified_right(weights.take(alive), chunk).all(axis=1)]
            if alive.size == 0:
                break
        errors = np.ones(len(genomes))
        errors[alive] = 0.0
        first_trial = guesser.evaluations + 1
        guesser.tell(genomes, errors)
        trials = guesser.trials_to_success
        if trials is not None:
            if trials > max_trials:
                break
            return GuessResult(int(trials), genomes[trials - first_trial].copy(), guesser.evaluations)
    return GuessResult(None, None, guesser.evaluations)
