"""Random weight guessing (Schmidhuber & Hochreiter 1996; Hochreiter & Schmidhuber 1997, "LSTM", section 3).

Every weight is drawn iid uniform in [-a, a], independently of everything seen so far; the search stops when a
success criterion is met. The papers use a = 100 and count the trials (networks tried) until every training
sequence is classified right. It is the baseline that shows which "long time-lag" benchmarks are easy.
"""

from __future__ import annotations

import numpy as np

from evolino.optimizers.base import Optimizer

__all__ = ["RandomGuessing"]


class RandomGuessing(Optimizer):
    """Random weight guessing: ``ask`` returns ``popsize`` genomes with iid U[-half_width, half_width] genes.

    ``x0`` only fixes the dimension. ``trials_to_success`` is the 1-based position, counted over every genome told
    so far in ask order, of the first genome whose error is <= ``success_error`` (None until then, or when no
    ``success_error`` is set).

    With the trainer, pass ``target_error`` equal to ``success_error`` so the run stops at the first success; with
    ``population=1`` the run's ``evaluations`` then equal ``trials_to_success`` (with a larger population the run
    finishes the batch, so ``evaluations`` can exceed it by up to ``population - 1``)::

        Evolino(optimizer="guess", population=1, generations=100_000, target_error=0.04,
                optimizer_options={"success_error": 0.04})

    Parameters
    ----------
    x0, rng, popsize, blocks
        See :class:`evolino.optimizers.base.Optimizer`.
    half_width : float
        a, the bound of every weight.
    success_error : float, optional
        Errors at or below this count as success.
    """

    name = "guess"

    def __init__(self, x0, rng, popsize, blocks=None, half_width: float = 100.0,
                 success_error: float | None = None) -> None:
        super().__init__(x0, rng, popsize, blocks)
        if not (np.isfinite(half_width) and half_width > 0):
            raise ValueError(f"half_width must be finite and > 0, got {half_width}")
        self.half_width = float(half_width)
        self.success_error = None if success_error is None else float(success_error)
        self.trials_to_success: int | None = None

    def ask(self) -> np.ndarray:
        return self.rng.uniform(-self.half_width, self.half_width, size=(self.popsize, self.dimension))

    def _tell(self, genomes: np.ndarray, errors: np.ndarray) -> None:
        if self.trials_to_success is None and self.success_error is not None:
            hits = np.flatnonzero(errors <= self.success_error)
            if hits.size:
                self.trials_to_success = self.evaluations + int(hits[0]) + 1

    @property
    def step_size(self) -> float:
        return self.half_width
