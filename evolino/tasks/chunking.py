"""Symbol sequences whose only surprise is the first symbol: the tasks of the neural history compressor.

Schmidhuber, "Learning complex, extended sequences using the principle of history compression", Neural Computation
4(2), 1992 (and "Neural sequence chunkers", TR FKI-148-91, 1991): every sequence starts with ``a`` or ``x``, chosen at
random with equal probability, followed by a deterministic filler of ``lag`` symbols; the target, demanded after the
last symbol, is the class of the first symbol (0 for ``a``, 1 for ``x``)::

    a b_1 b_2 ... b_lag   -> 0            x b_1 b_2 ... b_lag   -> 1          (steps T = lag + 1)

The filler is the same in every sequence, so a predictor of the next symbol can learn it perfectly; the first symbol is
the one thing no predictor can know, and the one thing the target depends on. A net that must carry it across ``lag``
steps by back-propagated error faces the vanishing gradient; a system that only passes up the unpredicted inputs
sees one step.

``chunking-L`` (``period=None``)
    The published task with L = 20: b_1 .. b_L are L distinct symbols, L + 2 symbols in all (22 for L = 20).
``recall-L`` (``period=P``, 5 by default)
    The filler cycles through P symbols, b_(i mod P) + 1 at filler position i = 0 .. L-1, so that a lag of 1,000
    needs only P + 2 symbols (7) rather than 1,002. The next filler symbol is a function of the current one
    (b_k -> b_(k mod P) + 1, and a, x -> b_1), so the filler stays perfectly predictable -- the compressor's
    principle applies at any lag -- while a net fed the raw sequence still has to bridge L steps.

Symbols are integers: 0 = ``a``, 1 = ``x``, 2 + j = b_(j+1); :func:`one_hot` turns a (..., T) array of them into
(..., T, n_symbols) network inputs. Sequences are drawn with an explicit :class:`numpy.random.Generator`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["ChunkingTask", "make_chunking_task", "one_hot", "CHUNKING_TASKS", "SYMBOL_A", "SYMBOL_X"]

SYMBOL_A, SYMBOL_X = 0, 1
CHUNKING_TASKS = ("chunking-20", "recall-1000")


@dataclass(frozen=True)
class ChunkingTask:
    """A first-symbol recall task with a predictable filler (module docstring).

    Parameters
    ----------
    name : str
        Label only.
    lag : int
        Filler symbols between the first symbol and the end (>= 1); a sequence has ``lag + 1`` steps.
    period : int, optional
        None: the filler b_1 .. b_lag, all distinct (``lag + 2`` symbols). P >= 1: the filler cycles through P
        symbols (``P + 2`` symbols).
    """

    name: str = "chunking-20"
    lag: int = 20
    period: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.lag, bool) or not isinstance(self.lag, (int, np.integer)) or self.lag < 1:
            raise ValueError(f"lag must be an integer >= 1, got {self.lag!r}")
        if self.period is not None and (isinstance(self.period, bool) or
                                        not isinstance(self.period, (int, np.integer)) or self.period < 1):
            raise ValueError(f"period must be None or an integer >= 1, got {self.period!r}")

    @property
    def steps(self) -> int:
        """Steps of every sequence, T = lag + 1."""
        return self.lag + 1

    @property
    def n_symbols(self) -> int:
        """Size of the alphabet (a, x and the filler symbols)."""
        return 2 + (self.lag if self.period is None else self.period)

    @property
    def n_classes(self) -> int:
        """Target classes: 2 (a or x)."""
        return 2

    def filler(self) -> np.ndarray:
        """The filler symbols (lag,), the same in every sequence."""
        index = np.arange(self.lag)
        return 2 + (index if self.period is None else index % self.period)

    def sample(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``count`` sequences.

        Parameters
        ----------
        rng : numpy.random.Generator
        count : int
            Sequences to draw (>= 1).

        Returns
        -------
        symbols : (count, T) int
            Symbol indices; column 0 is ``a`` (0) or ``x`` (1).
        targets : (count,) int
            The class of the first symbol (equal to column 0).
        """
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
            raise ValueError(f"count must be an integer >= 1, got {count!r}")
        first = rng.integers(0, 2, count)
        symbols = np.empty((count, self.steps), dtype=np.int64)
        symbols[:, 0] = first
        symbols[:, 1:] = self.filler()
        return symbols, first.copy()


def make_chunking_task(name: str, period: int = 5) -> ChunkingTask:
    """``"chunking-L"`` (distinct filler symbols) or ``"recall-L"`` (filler cycling through ``period`` symbols).

    Raises
    ------
    ValueError
        For any other name.
    """
    match = re.fullmatch(r"(chunking|recall)-(\d+)", name) if isinstance(name, str) else None
    if match is None or int(match.group(2)) < 1:
        raise ValueError(f"unknown task {name!r}: expected 'chunking-L' or 'recall-L' with L >= 1, "
                         f"e.g. {', '.join(CHUNKING_TASKS)}")
    lag = int(match.group(2))
    return ChunkingTask(name, lag, None if match.group(1) == "chunking" else period)


def one_hot(symbols: np.ndarray, n_symbols: int) -> np.ndarray:
    """One-hot codes (..., n_symbols) of integer ``symbols`` (...,) in [0, n_symbols)."""
    symbols = np.asarray(symbols)
    if symbols.size and (symbols.min() < 0 or symbols.max() >= n_symbols):
        raise ValueError(f"symbols must lie in [0, {n_symbols}), got range [{symbols.min()}, {symbols.max()}]")
    return np.eye(n_symbols)[symbols]
