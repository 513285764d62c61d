"""The counting-inputs task of Schmidhuber 1997: three training examples, and the generalisation test on all inputs.

Schmidhuber, *Discovering neural nets with low Kolmogorov complexity and high generalization capability*, Neural
Networks 10(5), 1997. One linear output unit, no bias, N = 100 binary inputs of which exactly K = 3 are on, integer
weights w in [-10000, 10000]; the target is 3 for every input::

    y(x) = w . x = sum of the K weights whose inputs are on,        right  <=>  |w . x - 3| < 0.5

Training: three examples, the paper's on-bits (1-based) {5, 17, 86}, {13, 55, 58}, {40, 87, 94}; here inputs are
numbered from 0, so the on-bits are {4, 16, 85}, {12, 54, 57}, {39, 86, 93} (:data:`TRAIN_ON_BITS` holds the paper's
1-based numbers, :attr:`CountingTask.train_on_bits` the 0-based ones). Test: all C(100, 3) = 161,700 inputs with
three on-bits. The one weight vector right on all of them is w = 1 (every weight 1: if w_a != w_b, the inputs
{a, c, d} and {b, c, d} cannot both sum to 3).

Baselines on the same three examples: :func:`least_squares_weights` (the minimum-norm solution, where gradient
descent from w = 0 converges: 1 on the nine training inputs, 0 elsewhere, right on the C(9, 3) = 84 test inputs whose
on-bits are all training ones) and :func:`random_guessing` (integer weights uniform in [-B, B]: each example is right
with probability about 3 / (4 (2B + 1)) = 3.7e-5, all three with about 5e-14).

Layout: :class:`CountingTask` (the data, ``fits`` for the search, ``test_fraction`` the vectorised test scorer),
:func:`on_bit_combinations` (the test inputs as index triples, (161700, 3)), the two baselines.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["CountingTask", "GuessResult", "TRAIN_ON_BITS", "counting_inputs_task", "on_bit_combinations",
           "least_squares_weights", "random_guessing"]

TRAIN_ON_BITS = ((5, 17, 86), (13, 55, 58), (40, 87, 94))  # the paper's training examples, 1-based


@lru_cache(maxsize=4)
def on_bit_combinations(n_inputs: int = 100, on_bits: int = 3) -> np.ndarray:
    """Every input with ``on_bits`` of ``n_inputs`` bits on, as its on-bits: (C(n, k), k) int, lexicographic order,
    read-only (cached)."""
    if n_inputs < 1 or not 1 <= on_bits <= n_inputs:
        raise ValueError(f"need 1 <= on_bits <= n_inputs, got on_bits {on_bits}, n_inputs {n_inputs}")
    count = math.comb(n_inputs, on_bits)
    flat = np.fromiter(itertools.chain.from_iterable(itertools.combinations(range(n_inputs), on_bits)),
                       dtype=np.intp, count=count * on_bits)
    combos = flat.reshape(count, on_bits)
    combos.flags.writeable = False
    return combos


@dataclass(frozen=True, eq=False)
class CountingTask:
    """The counting-inputs task (see the module docstring); make it with :func:`counting_inputs_task`.

    Attributes
    ----------
    n_inputs : int
        N, binary inputs (100).
    on_bits : int
        K, inputs on in every example (3).
    target : float
        The output every input must give (3).
    weight_bound : int
        B: weights are integers in [-B, B] (10,000).
    train_on_bits : (3, K) int
        The training examples' on-bits, 0-based.
    """

    n_inputs: int
    on_bits: int
    target: float
    weight_bound: int
    train_on_bits: np.ndarray

    @property
    def train_inputs(self) -> np.ndarray:
        """The training inputs, (3, N) int64 of 0/1."""
        x = np.zeros((len(self.train_on_bits), self.n_inputs), dtype=np.int64)
        np.put_along_axis(x, self.train_on_bits, 1, axis=1)
        return x

    @property
    def train_targets(self) -> np.ndarray:
        """The training targets, (3,) float: all ``target``."""
        return np.full(len(self.train_on_bits), float(self.target))

    def _check(self, weights: np.ndarray) -> np.ndarray:
        w = np.asarray(weights)
        if w.ndim not in (1, 2) or w.shape[-1] != self.n_inputs:
            raise ValueError(f"weights must be ({self.n_inputs},) or (m, {self.n_inputs}), got shape {w.shape}")
        return w

    def train_errors(self, weights: np.ndarray) -> np.ndarray:
        """|w . x - target| on the training examples: weights (N,) or (m, N) -> (3,) or (m, 3)."""
        w = self._check(weights)
        return np.abs(w[..., self.train_on_bits].sum(axis=-1) - self.target)

    def fits(self, weights: np.ndarray) -> bool:
        """True if weights (N,) are right on all three training examples (|w . x - target| < 0.5): the search's
        ``fits``."""
        w = self._check(weights)
        if w.ndim != 1:
            raise ValueError(f"fits takes one weight vector ({self.n_inputs},), got shape {w.shape}")
        return bool((np.abs(w[self.train_on_bits].sum(axis=1) - self.target) < 0.5).all())

    def test_fraction(self, weights: np.ndarray) -> float | np.ndarray:
        """The fraction of all C(N, K) test inputs (161,700) on which |w . x - target| < 0.5.

        Parameters
        ----------
        weights : (N,) or (m, N)
            One weight vector, or m of them.

        Returns
        -------
        float or (m,) ndarray
            The fraction right for each weight vector.
        """
        w = self._check(weights)
        if w.ndim == 1:
            return float(np.mean(self.test_right(w)))
        return np.array([np.mean(self.test_right(row)) for row in w])

    def test_right(self, weights: np.ndarray) -> np.ndarray:
        """Which test inputs one weight vector (N,) gets right: (C(N, K),) bool, in the order of
        :func:`on_bit_combinations` (|w . x - target| < 0.5, w . x the sum of the input's K on-bit weights)."""
        w = self._check(weights)
        if w.ndim != 1:
            raise ValueError(f"test_right takes one weight vector ({self.n_inputs},), got shape {w.shape}")
        return np.abs(w[on_bit_combinations(self.n_inputs, self.on_bits)].sum(axis=1) - self.target) < 0.5

    @property
    def test_size(self) -> int:
        """C(N, K): the number of test inputs (161,700)."""
        return math.comb(self.n_inputs, self.on_bits)


def counting_inputs_task() -> CountingTask:
    """The task of Schmidhuber 1997: N = 100 inputs, K = 3 on, target 3, weights in [-10000, 10000], the paper's
    three training examples (0-based on-bits {4, 16, 85}, {12, 54, 57}, {39, 86, 93})."""
    on = np.array(TRAIN_ON_BITS, dtype=np.intp) - 1
    on.flags.writeable = False
    return CountingTask(n_inputs=100, on_bits=3, target=3.0, weight_bound=10_000, train_on_bits=on)


def least_squares_weights(task: CountingTask, rcond: float = 1e-12) -> np.ndarray:
    """The minimum-norm least-squares weights on the training examples, pinv(X) y: (N,) float, the solution gradient
    descent converges to from w = 0 (1 on the nine training inputs, 0 elsewhere)."""
    return np.linalg.pinv(task.train_inputs.astype(float), rcond=rcond) @ task.train_targets


@dataclass(frozen=True)
class GuessResult:
    """What :func:`random_guessing` found.

    Attributes
    ----------
    found : bool
        Whether a guess was right on all three training examples.
    trials : int
        Weight vectors guessed: up to and including the first fit, else the whole budget.
    weights : (N,) int64
        The first fit, else the best guess: most training examples right, then the smallest largest error.
    train_right : int
        Training examples (of 3) on which ``weights`` are right.
    max_train_error : float
        Its largest |w . x - target| on the training examples.
    """

    found: bool
    trials: int
    weights: np.ndarray
    train_right: int
    max_train_error: float


def random_guessing(task: CountingTask, trials: int, rng: np.random.Generator, chunk: int = 10_000) -> GuessResult:
    """Guess integer weight vectors uniform in [-B, B]^N until one fits the three training examples.

    Parameters
    ----------
    task : CountingTask
        The task (N, B, training examples).
    trials : int
        The budget: at most this many weight vectors (N,) are guessed.
    rng : numpy.random.Generator
        The source of the guesses (drawn ``chunk`` vectors at a time, (chunk, N) int64).
    chunk : int
        Vectors drawn per batch (memory: 8 N ``chunk`` bytes).

    Returns
    -------
    GuessResult
        The first fitting guess, else the best of the budget, and the number of guesses made.
    """
    if isinstance(trials, bool) or not isinstance(trials, int | np.integer) or trials < 1:
        raise ValueError(f"trials must be a positive int, got {trials!r}")
    if isinstance(chunk, bool) or not isinstance(chunk, int | np.integer) or chunk < 1:
        raise ValueError(f"chunk must be a positive int, got {chunk!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    bound = task.weight_bound
    best: tuple[int, float] | None = None
    best_weights = np.zeros(task.n_inputs, dtype=np.int64)
    done = 0
    while done < trials:
        size = min(chunk, trials - done)
        guesses = rng.integers(-bound, bound, size=(size, task.n_inputs), endpoint=True, dtype=np.int64)
        errors = task.train_errors(guesses)
        right = (errors < 0.5).sum(axis=1)
        worst = errors.max(axis=1)
        fit = np.flatnonzero(right == len(task.train_on_bits))
        if fit.size:
            first = int(fit[0])
            return GuessResult(True, done + first + 1, guesses[first].copy(), int(right[first]), float(worst[first]))
        order = np.lexsort((worst, -right))  # most right first, then the smallest largest error
        top = int(order[0])
        if best is None or (-int(right[top]), float(worst[top])) < (-best[0], best[1]):
            best = (int(right[top]), float(worst[top]))
            best_weights = guesses[top].copy()
        done += size
    assert best is not None
    return GuessResult(False, done, best_weights, best[0], best[1])
