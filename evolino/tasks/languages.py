"""The languages a^n b^n (context-free) and a^n b^n c^n (context-sensitive) of the Evolino paper and of Gers &
Schmidhuber (LSTM recurrent networks learn simple context-free and context-sensitive languages, IEEE TNN 2001).

A string is S a^n b^n c^n T (n >= 1; without the c's for a^n b^n). At each step the network sees the current symbol,
one-hot over (S, a, b, c) (S, a, b for a^n b^n), and predicts the set of symbols that may come next, multi-hot over
(a, b, c, T) ((a, b, T)):

    after S: a;   after an a: a or b;   after the k-th b: b (k < n) or c (k = n; T for a^n b^n);
    after the k-th c: c or T likewise.

Once the first b is seen, every remaining prediction is determined, so the network must count. A string is
*accepted* when every prediction, thresholded at 0.5, is exactly right (Gers & Schmidhuber 2001).

Tasks ``anbncn`` and ``anbn``: supervised, teacher-forced, one sequence per string from a zero state; train on
n = 1..train_max (10), test on n = train_max+1..test_max (50). Fitness and test error are MSE;
:func:`generalization_limit` gives the published measure: the largest M such that every n <= M is accepted.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from evolino.tasks.base import SequencePair, Task, register_task

INPUT_SYMBOLS = "Sabc"
OUTPUT_SYMBOLS = "abcT"


def _language_string(n: int, letters: str) -> SequencePair:
    """S followed by n of each of ``letters`` ("abc" or "ab"): inputs one-hot over S + letters, targets multi-hot of
    the legal next symbols over letters + T."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    inputs_alphabet, outputs_alphabet = "S" + letters, letters + "T"
    text = "S" + "".join(letter * n for letter in letters)
    inputs = np.zeros((len(text), len(inputs_alphabet)))
    targets = np.zeros((len(text), len(outputs_alphabet)))
    for t, symbol in enumerate(text):
        inputs[t, inputs_alphabet.index(symbol)] = 1.0
        if symbol == "S":
            following = letters[0]
        elif symbol == letters[0]:
            following = letters[:2]
        else:  # the k-th of a later letter: the same letter until n of them, then the next letter or T
            block = letters.index(symbol)
            last_of_block = t == (block + 1) * n
            following = symbol if not last_of_block else (letters[block + 1] if block + 1 < len(letters) else "T")
        for next_symbol in following:
            targets[t, outputs_alphabet.index(next_symbol)] = 1.0
    return SequencePair(targets, inputs)


def anbncn_string(n: int) -> SequencePair:
    """The string S a^n b^n c^n as inputs (3n+1, 4) one-hot and targets (3n+1, 4) multi-hot of the next symbols."""
    return _language_string(n, "abc")


def anbn_string(n: int) -> SequencePair:
    """The string S a^n b^n as inputs (2n+1, 3) one-hot and targets (2n+1, 3) multi-hot of the next symbols."""
    return _language_string(n, "ab")


def _language_task(name: str, string, train_max: int, test_max: int, title: str) -> Task:
    if not 1 <= train_max < test_max:
        raise ValueError(f"need 1 <= train_max < test_max, got {train_max}, {test_max}")
    return Task(
        name=name,
        train=[string(n) for n in range(1, train_max + 1)],
        test=[string(n) for n in range(train_max + 1, test_max + 1)],
        washout=0,
        generative=False,
        metric="mse",
        description=f"{title} next-symbol prediction: train n = 1..{train_max}, test n = {train_max + 1}..{test_max}",
        info={"train_max": train_max, "test_max": test_max},
        noise_free=True,
    )


def anbncn_task(train_max: int = 10, test_max: int = 50) -> Task:
    """Train on n = 1..train_max, test on n = train_max+1..test_max."""
    return _language_task("anbncn", anbncn_string, train_max, test_max, "a^n b^n c^n")


def anbn_task(train_max: int = 10, test_max: int = 50) -> Task:
    """Train on n = 1..train_max, test on n = train_max+1..test_max."""
    return _language_task("anbn", anbn_string, train_max, test_max, "a^n b^n")


@register_task("anbncn", "context-sensitive language a^n b^n c^n, next-symbol prediction: train n = 1..10, "
               "test n = 11..50 (see evolino.tasks.languages.generalization_limit)")
def _anbncn(**options) -> Task:
    return anbncn_task(**options)


@register_task("anbn", "context-free language a^n b^n, next-symbol prediction: train n = 1..10, test n = 11..50")
def _anbn(**options) -> Task:
    return anbn_task(**options)


Predictor = Callable[[np.ndarray], np.ndarray]  # inputs (T, 4) -> outputs (T, 4), e.g. EvolinoModel.predict


def accepts(predict: Predictor, n: int, string=anbncn_string) -> bool:
    """True when every next-symbol prediction along the string of length n (``anbncn_string`` or ``anbn_string``),
    thresholded at 0.5, is exactly right."""
    pair = string(n)
    outputs = np.asarray(predict(pair.inputs))
    return bool(np.array_equal(outputs > 0.5, pair.targets > 0.5))


def generalization_limit(predict: Predictor, max_n: int = 1000, string=anbncn_string) -> int:
    """The largest M <= ``max_n`` such that every string with n <= M is accepted (0 if n = 1 is not)."""
    for n in range(1, max_n + 1):
        if not accepts(predict, n, string):
            return n - 1
    return max_n
