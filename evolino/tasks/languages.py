"""The context-sensitive language a^n b^n c^n (Evolino paper; Gers & Schmidhuber 2001 for gradient LSTM).

A string is S a^n b^n c^n T (n >= 1). At each step the network sees the current symbol, one-hot over (S, a, b, c),
and predicts the set of symbols that may come next, multi-hot over (a, b, c, T):

    after S: a;   after an a: a or b;   after the k-th b: b (k < n) or c (k = n);   after the k-th c: c or T likewise.

Once the first b is seen, every remaining prediction is determined, so the network must count. A string is
*accepted* when every prediction, thresholded at 0.5, is exactly right (shared/REFERENCE.md §2).

Task ``anbncn``: supervised, teacher-forced, one sequence per string from a zero state; train on n = 1..train_max
(10), test on n = train_max+1..test_max (50). Fitness and test error are MSE; :func:`generalization_limit` gives the
published measure: the largest M such that every n <= M is accepted.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from evolino.tasks.base import SequencePair, Task, register_task

INPUT_SYMBOLS = "Sabc"
OUTPUT_SYMBOLS = "abcT"


def anbncn_string(n: int) -> SequencePair:
    """The string S a^n b^n c^n as inputs (3n+1, 4) one-hot and targets (3n+1, 4) multi-hot of the next symbols."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    text = "S" + "a" * n + "b" * n + "c" * n
    inputs = np.zeros((len(text), len(INPUT_SYMBOLS)))
    targets = np.zeros((len(text), len(OUTPUT_SYMBOLS)))
    for t, symbol in enumerate(text):
        inputs[t, INPUT_SYMBOLS.index(symbol)] = 1.0
        if symbol == "S":
            following = "a"
        elif symbol == "a":
            following = "ab"
        elif symbol == "b":
            following = "b" if t < 2 * n else "c"  # the last b sits at t = 2n
        else:
            following = "c" if t < 3 * n else "T"
        for next_symbol in following:
            targets[t, OUTPUT_SYMBOLS.index(next_symbol)] = 1.0
    return SequencePair(targets, inputs)


def anbncn_task(train_max: int = 10, test_max: int = 50) -> Task:
    """Train on n = 1..train_max, test on n = train_max+1..test_max."""
    if not 1 <= train_max < test_max:
        raise ValueError(f"need 1 <= train_max < test_max, got {train_max}, {test_max}")
    return Task(
        name="anbncn",
        train=[anbncn_string(n) for n in range(1, train_max + 1)],
        test=[anbncn_string(n) for n in range(train_max + 1, test_max + 1)],
        washout=0,
        generative=False,
        metric="mse",
        description=f"a^n b^n c^n next-symbol prediction: train n = 1..{train_max}, test n = "
                    f"{train_max + 1}..{test_max}",
        info={"train_max": train_max, "test_max": test_max},
        noise_free=True,
    )


@register_task("anbncn", "context-sensitive language a^n b^n c^n, next-symbol prediction: train n = 1..10, "
               "test n = 11..50 (see evolino.tasks.languages.generalization_limit)")
def _anbncn(**options) -> Task:
    return anbncn_task(**options)


Predictor = Callable[[np.ndarray], np.ndarray]  # inputs (T, 4) -> outputs (T, 4), e.g. EvolinoModel.predict


def accepts(predict: Predictor, n: int) -> bool:
    """True when every next-symbol prediction along S a^n b^n c^n, thresholded at 0.5, is exactly right."""
    string = anbncn_string(n)
    outputs = np.asarray(predict(string.inputs))
    return bool(np.array_equal(outputs > 0.5, string.targets > 0.5))


def generalization_limit(predict: Predictor, max_n: int = 1000) -> int:
    """The largest M <= ``max_n`` such that every string with n <= M is accepted (0 if n = 1 is not)."""
    for n in range(1, max_n + 1):
        if not accepts(predict, n):
            return n - 1
    return max_n
