"""The long time-lag benchmarks on which LSTM and gradient-free search were judged.

Every task here is a set of independent sequences whose target comes at the last step only (a NaN target elsewhere,
see :mod:`evolino.tasks.base`), except the embedded Reber grammar, which predicts the next symbol at every step. The
training, validation and test sequences are drawn from separate seeds (``seed``, ``seed + 1``, ``seed + 2``), so the
test sequences are fresh. Lengths are configurable; the defaults are the papers'. Every task records in ``info`` what
counts as solved (``success``), which :func:`solved_fraction` and :func:`evolino.tasks.languages.accepts` evaluate.

``adding`` (Hochreiter & Schmidhuber, Long short-term memory, Neural Computation 1997, experiment 4)
    Inputs are pairs (value in U[-1, 1], marker). Sequences have random lengths in [T, T + T/10]; the first and the
    last pair have marker -1, exactly two other pairs marker 1 (one among the first ten, one among the first T/2 - 1),
    all others 0. Target at the end: 0.5 + (X1 + X2) / 4 for the two marked values (X1 = 0 when the first pair is
    marked). Solved: absolute error below 0.04.
``temporal-order`` (1997, experiments 6a and 6b)
    Random symbols a, b, c, d (one-hot over E, B, a, b, c, d, X, Y), starting with E and ending with B, length in
    [T, T + T/10]; ``relevant = 2`` symbols X/Y at positions in [0.1T, 0.2T] and [0.5T, 0.6T] (4 classes), or 3 at
    [0.1T, 0.2T], [0.33T, 0.43T], [0.66T, 0.76T] (8 classes). The class of the order of X and Y is the one-hot
    target at the last step. Solved: the largest output names the class.
``two-sequence`` (Bengio, Simard & Frasconi, IEEE Trans. Neural Networks 1994; 1997, experiment 3)
    One input: the first N elements are +1 (class 1) or -1 (class 2), plus Gaussian noise of variance
    ``first_noise``; the rest Gaussian noise of variance 0.2; length in [T, T + T/10]. Target at the end: 1 or 0.
    Solved: the output thresholded at 0.5 gives the class.
``latch`` (Schmidhuber & Hochreiter, Guessing can outperform many long time lag algorithms, 1996)
    As two-sequence with N = 1 and no noise on the first element, length in [T, 1.1 T] = [500, 550] by default;
    target +1 or -1.
    Solved: the sign of the output gives the class.
``parity`` (1996)
    Inputs +1 or -1, length in [500, 600] by default; target 1 when the number of +1 is odd, else 0. Solved: the
    output thresholded at 0.5.
``embedded-reber`` (1997, experiment 1)
    Strings of the embedded Reber grammar, one-hot over B, T, P, S, X, V, E; the target at every step is the set of
    legal next symbols (multi-hot). The long lag: the symbol before the final E must repeat the second symbol.
    Solved: every thresholded (0.5) prediction along a string is exactly the legal set.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from evolino.tasks.base import SequencePair, Task, register_task

__all__ = ["adding_sequence", "temporal_order_sequence", "two_sequence", "parity_sequence", "reber_string",
           "embedded_reber_string", "solved_fraction", "reber_misses", "REBER_SYMBOLS", "TEMPORAL_SYMBOLS"]

TEMPORAL_SYMBOLS = "EBabcdXY"
REBER_SYMBOLS = "BTPSXVE"
# Reber grammar: state -> [(symbol, next state)]; state 5 is the end (E follows).
_REBER = {0: [("T", 1), ("P", 2)], 1: [("S", 1), ("X", 3)], 2: [("T", 2), ("V", 4)], 3: [("X", 2), ("S", 5)],
          4: [("P", 3), ("V", 5)]}


def _length(rng: np.random.Generator, steps: int) -> int:
    return int(rng.integers(steps, steps + steps // 10 + 1))


def _last_step_target(length: int, value) -> np.ndarray:
    target = np.full((length, np.size(value)), np.nan)
    target[-1] = value
    return target


def adding_sequence(rng: np.random.Generator, steps: int) -> SequencePair:
    """One sequence of the adding problem (see the module docstring): inputs (L, 2), target at the last step."""
    length = _length(rng, steps)
    values = rng.uniform(-1, 1, length)
    markers = np.zeros(length)
    markers[0] = markers[-1] = -1.0
    first = int(rng.integers(0, 10))
    second = first
    while second == first:
        second = int(rng.integers(0, max(steps // 2 - 1, 2)))
    markers[[first, second]] = 1.0
    x1 = 0.0 if first == 0 else values[first]
    x2 = 0.0 if second == 0 else values[second]
    return SequencePair(_last_step_target(length, 0.5 + (x1 + x2) / 4.0), np.column_stack([values, markers]))


def temporal_order_sequence(rng: np.random.Generator, steps: int, relevant: int = 2) -> SequencePair:
    """One sequence of the temporal order problem with 2 (4 classes) or 3 (8 classes) relevant symbols."""
    bands = {2: ((0.1, 0.2), (0.5, 0.6)), 3: ((0.1, 0.2), (0.33, 0.43), (0.66, 0.76))}[relevant]
    length = _length(rng, steps)
    symbols = rng.choice(list("abcd"), length)
    symbols[0], symbols[-1] = "E", "B"
    order = rng.integers(0, 2, relevant)  # 0 = X, 1 = Y
    for (low, high), pick in zip(bands, order, strict=True):
        symbols[int(rng.integers(int(low * steps), int(high * steps) + 1))] = "XY"[pick]
    inputs = np.zeros((length, len(TEMPORAL_SYMBOLS)))
    inputs[np.arange(length), [TEMPORAL_SYMBOLS.index(s) for s in symbols]] = 1.0
    label = int(np.dot(order, 2 ** np.arange(relevant)[::-1]))
    return SequencePair(_last_step_target(length, np.eye(2**relevant)[label]), inputs)


def two_sequence(rng: np.random.Generator, steps: int, informative: int = 1, first_noise: float = 0.0,
                 labels: tuple[float, float] = (1.0, 0.0), noise: float = 0.2) -> SequencePair:
    """One sequence of the two-sequence / latch problem: class in the first ``informative`` elements."""
    length = _length(rng, steps)
    cls = int(rng.integers(0, 2))
    u = rng.normal(0.0, np.sqrt(noise), length)
    u[:informative] = (1.0 if cls == 0 else -1.0) + rng.normal(0.0, np.sqrt(first_noise), informative) \
        if first_noise else (1.0 if cls == 0 else -1.0)
    return SequencePair(_last_step_target(length, labels[cls]), u[:, None])


def parity_sequence(rng: np.random.Generator, low: int, high: int) -> SequencePair:
    """+-1 inputs of a length in [low, high]; target 1 at the end when the number of +1 is odd."""
    length = int(rng.integers(low, high + 1))
    u = rng.choice([-1.0, 1.0], length)
    return SequencePair(_last_step_target(length, float(np.sum(u > 0) % 2)), u[:, None])


def reber_string(rng: np.random.Generator) -> str:
    """A string of the Reber grammar, without B and E."""
    state, out = 0, []
    while state != 5:
        symbol, state = _REBER[state][int(rng.integers(0, 2))]
        out.append(symbol)
    return "".join(out)


def _reber_successors(text: str) -> list[set[str]]:
    """The legal next symbols after each prefix of an embedded Reber string ``text`` (B ... E)."""
    wrap = text[1]
    inner = text[2:-2]
    legal = [{"T", "P"}]  # after B
    legal.append({"B"})  # after the wrapping symbol comes the inner string's B
    state, inner_legal = 0, []
    for symbol in inner[1:-1]:  # the inner string's own B ... E
        inner_legal.append({s for s, _ in _REBER[state]})
        state = dict(_REBER[state])[symbol]
    inner_legal.append({"E"})
    legal += inner_legal
    legal.append({wrap})  # after the inner E: the long-lag symbol
    legal.append({"E"})
    return legal


def embedded_reber_string(rng: np.random.Generator) -> SequencePair:
    """One embedded Reber string: inputs one-hot (L, 7), targets the legal next symbols (L, 7), none after E."""
    wrap = "TP"[int(rng.integers(0, 2))]
    text = "B" + wrap + "B" + reber_string(rng) + "E" + wrap + "E"
    legal = _reber_successors(text)
    inputs = np.zeros((len(text), len(REBER_SYMBOLS)))
    inputs[np.arange(len(text)), [REBER_SYMBOLS.index(s) for s in text]] = 1.0
    targets = np.zeros((len(text), len(REBER_SYMBOLS)))
    for t, symbols in enumerate(legal):
        targets[t, [REBER_SYMBOLS.index(s) for s in symbols]] = 1.0
    targets[-1] = np.nan  # nothing follows the final E
    return SequencePair(targets, inputs)


def _splits(draw: Callable[[np.random.Generator], SequencePair], sizes: tuple[int, int, int], seed: int):
    return [[draw(rng) for _ in range(count)]
            for count, rng in zip(sizes, (np.random.default_rng(seed + k) for k in range(3)), strict=True)]


def _task(name: str, draw, sizes, seed: int, metric: str, description: str, info: dict) -> Task:
    train, validation, test = _splits(draw, sizes, seed)
    return Task(name, train=train, validation=validation, test=test, washout=0, metric=metric,
                description=description, info={**info, "seed": seed, "sizes": list(sizes)}, noise_free=True)


@register_task("adding", "adding problem (1997): sum of the two marked values at the end, T = 100; solved: |error| "
               "< 0.04")
def adding_task(steps: int = 100, train: int = 300, validation: int = 100, test: int = 2000, seed: int = 0) -> Task:
    if steps < 10:  # the first marked value falls among the first 10 steps
        raise ValueError(f"the adding problem needs steps >= 10, got {steps}")
    return _task("adding", lambda rng: adding_sequence(rng, steps), (train, validation, test), seed, "mse",
                 f"adding problem, lengths {steps}..{steps + steps // 10}",
                 {"steps": steps, "success": {"absolute_error": 0.04}})


@register_task("temporal-order", "temporal order (1997): class of the order of 2 or 3 relevant symbols, T = 100")
def temporal_order_task(steps: int = 100, relevant: int = 2, train: int = 300, validation: int = 100,
                        test: int = 2000, seed: int = 0) -> Task:
    if relevant not in (2, 3):
        raise ValueError(f"relevant must be 2 or 3, got {relevant}")
    return _task("temporal-order", lambda rng: temporal_order_sequence(rng, steps, relevant),
                 (train, validation, test), seed, "mse",
                 f"temporal order, {relevant} relevant symbols ({2 ** relevant} classes), lengths {steps}.."
                 f"{steps + steps // 10}", {"steps": steps, "relevant": relevant, "success": {"argmax": True}})


@register_task("two-sequence", "two-sequence problem (Bengio 1994): class in the first elements, noise after, "
               "T = 100")
def two_sequence_task(steps: int = 100, informative: int = 3, first_noise: float = 0.2, train: int = 300,
                      validation: int = 100, test: int = 2000, seed: int = 0) -> Task:
    return _task("two-sequence", lambda rng: two_sequence(rng, steps, informative, first_noise),
                 (train, validation, test), seed, "mse",
                 f"two-sequence, class in the first {informative} elements, lengths {steps}..{steps + steps // 10}",
                 {"steps": steps, "informative": informative, "success": {"threshold": 0.5}})


@register_task("latch", "latch (1996): +-1 first element to be remembered through 500-550 noisy steps")
def latch_task(steps: int = 500, train: int = 100, validation: int = 50, test: int = 1000, seed: int = 0) -> Task:
    return _task("latch", lambda rng: two_sequence(rng, steps, 1, 0.0, labels=(1.0, -1.0)),
                 (train, validation, test), seed, "mse", f"latch, lengths {steps}..{steps + steps // 10}",
                 {"steps": steps, "success": {"threshold": 0.0}})


@register_task("parity", "parity (1996): is the number of +1 in 500-600 +-1 inputs odd")
def parity_task(low: int = 500, high: int = 600, train: int = 100, validation: int = 50, test: int = 1000,
                seed: int = 0) -> Task:
    return _task("parity", lambda rng: parity_sequence(rng, low, high), (train, validation, test), seed, "mse",
                 f"parity, lengths {low}..{high}", {"low": low, "high": high, "success": {"threshold": 0.5}})


@register_task("embedded-reber", "embedded Reber grammar (1997): next-symbol prediction with a long-lag symbol")
def embedded_reber_task(train: int = 256, validation: int = 64, test: int = 1000, seed: int = 0) -> Task:
    return _task("embedded-reber", embedded_reber_string, (train, validation, test), seed, "mse",
                 "embedded Reber grammar, next-symbol prediction", {"success": {"accepted": True}})


def solved_fraction(task: Task, outputs: list[np.ndarray], pairs=None) -> float:
    """Fraction of sequences (the test sequences by default) solved by the outputs (one (T, m) array each), by the
    criterion of ``task.info["success"]``."""
    pairs = task.test if pairs is None else pairs
    rule = task.info["success"]
    solved = []
    for pair, out in zip(pairs, outputs, strict=True):
        mask = pair.scored
        y, yhat = task.to_original(pair.targets[mask]), task.to_original(np.asarray(out)[mask])
        if "absolute_error" in rule:
            ok = np.all(np.abs(yhat - y) < rule["absolute_error"])
        elif "argmax" in rule:
            ok = np.all(np.argmax(yhat, axis=1) == np.argmax(y, axis=1))
        elif "accepted" in rule:
            ok = np.array_equal(yhat > 0.5, y > 0.5)
        else:
            ok = np.all((yhat > rule["threshold"]) == (y > rule["threshold"]))
        solved.append(bool(ok))
    return float(np.mean(solved))


def reber_misses(outputs: list[np.ndarray], pairs: list[SequencePair]) -> dict[str, int]:
    """Where predictions of embedded Reber strings go wrong: the long-lag step (the symbol after the inner E, which
    must repeat the second symbol) or elsewhere (the grammar itself).

    ``outputs``: one (L, 7) array per string of ``pairs``. Returns the counts of strings ``wrong`` (any thresholded
    prediction wrong), ``wrong_at_lag`` (the long-lag prediction wrong) and ``wrong_elsewhere`` (some other step
    wrong); a string can count in both of the last two.
    """
    counts = {"strings": len(pairs), "wrong": 0, "wrong_at_lag": 0, "wrong_elsewhere": 0}
    for pair, out in zip(pairs, outputs, strict=True):
        mask = pair.scored
        steps = np.flatnonzero(np.any((np.asarray(out)[mask] > 0.5) != (pair.targets[mask] > 0.5), axis=1))
        lag_step = int(np.count_nonzero(mask)) - 2  # the last scored step predicts E; the one before, the lag symbol
        counts["wrong"] += bool(steps.size)
        counts["wrong_at_lag"] += bool(np.any(steps == lag_step))
        counts["wrong_elsewhere"] += bool(np.any(steps != lag_step))
    return counts
