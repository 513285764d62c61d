"""CMA-ES through pycma, full covariance or separable (diagonal, ``CMA_diagonal``).

pycma seeds the global ``numpy.random`` unless it is given its own ``randn``; we pass one drawing from the run's
Generator, so no global RNG state is touched and a pickled optimizer resumes identically.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout

import cma
import numpy as np

from evolino.blas import single_threaded_blas
from evolino.optimizers.base import Optimizer

__all__ = ["CMAES"]


class _GeneratorRandn:
    """pycma's ``randn(*shape)`` backed by a numpy Generator (a class, not a lambda, so it pickles)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def __call__(self, *shape: int) -> np.ndarray:
        return self.rng.standard_normal(shape)


class CMAES(Optimizer):
    """Covariance matrix adaptation evolution strategy (Hansen & Ostermeier 2001).

    Parameters
    ----------
    x0, rng, popsize, blocks
        See :class:`evolino.optimizers.base.Optimizer`.
    sigma0 : float
        Initial step size.
    separable : bool
        Diagonal covariance (sep-CMA-ES, Ros & Hansen 2008): O(d) per sample instead of O(d^2); learns faster in
        high dimension when the variables are roughly independent.
    options : dict, optional
        Extra pycma options (e.g. ``{"CSA_dampfac": 1}``).
    """

    name = "cma"

    def __init__(self, x0, rng, popsize, blocks=None, sigma0: float = 0.3, separable: bool = False,
                 options: dict | None = None) -> None:
        super().__init__(x0, rng, popsize, blocks)
        if self.popsize < 2:  # recombination weights need two parents
            raise ValueError(f"CMA-ES needs a population of at least 2, got {self.popsize}")
        if not sigma0 > 0:
            raise ValueError(f"sigma0 must be > 0, got {sigma0}")
        opts = {
            "popsize": self.popsize,
            "randn": _GeneratorRandn(rng),
            "seed": np.nan,  # never seed numpy.random
            "verbose": -9,
            "verb_log": 0,
            "verb_disp": 0,
            "CMA_diagonal": bool(separable),
            "tolx": 0,
            "tolfun": 0,
            "tolfunhist": 0,
            "tolstagnation": int(1e9),
            "tolflatfitness": int(1e9),
            "maxiter": np.inf,
        }
        opts.update(options or {})
        with redirect_stdout(io.StringIO()):
            self.es = cma.CMAEvolutionStrategy(np.asarray(x0, dtype=np.float64), float(sigma0), opts)

    def ask(self) -> np.ndarray:
        with single_threaded_blas():  # pycma's eigendecomposition: threads only contend (see evolino.blas)
            return np.array(self.es.ask(), dtype=np.float64)

    def _tell(self, genomes: np.ndarray, errors: np.ndarray) -> None:
        # pycma cannot rank infinities reliably against each other; a huge finite stand-in keeps the order.
        finite = np.where(np.isfinite(errors), errors, np.finfo(np.float64).max / 1e3)
        with single_threaded_blas():
            self.es.tell(list(genomes), finite.tolist())

    @property
    def step_size(self) -> float:
        return float(self.es.sigma)


class SepCMAES(CMAES):
    """Separable CMA-ES: :class:`CMAES` with a diagonal covariance matrix."""

    name = "sep-cma"

    def __init__(self, x0, rng, popsize, blocks=None, sigma0: float = 0.3, options: dict | None = None) -> None:
        super().__init__(x0, rng, popsize, blocks, sigma0=sigma0, separable=True, options=options)
