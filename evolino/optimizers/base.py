"""The ask/tell protocol every optimizer follows, and the shared best-so-far bookkeeping.

An optimizer sees only vectors and errors (lower is better); it knows nothing of LSTMs. ``ask()`` returns a
population (n, d); ``tell(genomes, errors)`` reports their errors. All randomness comes from the
``numpy.random.Generator`` it is given, and the whole object pickles (checkpoints).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["Optimizer"]


class Optimizer:
    """Base class: validates ``tell`` and keeps the best genome ever told.

    Parameters
    ----------
    x0 : (d,) array
        Initial mean / centre of the search.
    rng : numpy.random.Generator
        The optimizer's only source of randomness.
    popsize : int
        Genomes returned by each ``ask``.
    blocks : sequence of slices, optional
        A partition of the genome into blocks (one per LSTM cell); used by optimizers that evolve blocks separately.
    """

    name = "base"

    def __init__(self, x0: np.ndarray, rng: np.random.Generator, popsize: int,
                 blocks: Sequence[slice] | None = None) -> None:
        x0 = np.asarray(x0, dtype=np.float64)
        if x0.ndim != 1 or x0.size == 0 or not np.isfinite(x0).all():
            raise ValueError("x0 must be a non-empty finite vector")
        if popsize < 1:
            raise ValueError(f"popsize must be >= 1, got {popsize}")
        self.dimension = x0.size
        self.rng = rng
        self.popsize = int(popsize)
        self.blocks = list(blocks) if blocks is not None else [slice(0, self.dimension)]
        self.best_genome: np.ndarray = x0.copy()
        self.best_error: float = np.inf
        self.generation = 0
        self.evaluations = 0

    def ask(self) -> np.ndarray:
        """Return the next population to evaluate, (n, d)."""
        raise NotImplementedError

    def tell(self, genomes: np.ndarray, errors: np.ndarray) -> None:
        """Report errors (n,) of genomes (n, d) returned by the last ``ask``."""
        genomes, errors = self._check_tell(genomes, errors)
        self._tell(genomes, errors)
        self.generation += 1
        self.evaluations += len(errors)

    def _tell(self, genomes: np.ndarray, errors: np.ndarray) -> None:
        raise NotImplementedError

    @property
    def step_size(self) -> float | None:
        """The optimizer's global step size, if it has one (for history files)."""
        return None

    def _check_tell(self, genomes: np.ndarray, errors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        genomes = np.asarray(genomes, dtype=np.float64)
        errors = np.asarray(errors, dtype=np.float64)
        if genomes.ndim != 2 or genomes.shape[1] != self.dimension or errors.shape != (genomes.shape[0],):
            raise ValueError(f"tell expects genomes (n, {self.dimension}) and errors (n,), "
                             f"got {genomes.shape} and {errors.shape}")
        errors = np.where(np.isnan(errors), np.inf, errors)
        best = int(np.argmin(errors))
        if errors[best] < self.best_error:
            self.best_error = float(errors[best])
            self.best_genome = genomes[best].copy()
        return genomes, errors
