"""ESP, Enforced SubPopulations (Gomez & Miikkulainen 1997/1999), the optimizer of the Evolino papers.

One subpopulation per block of the genome (for Evolino: per memory cell, ``LSTMSpec.cell_slices()``); a chromosome
is one block's genes. A network is assembled from one chromosome of every subpopulation.

Each generation (one ``ask`` / ``tell``):

1. ``ask``: ``trials`` rounds; in each round every subpopulation is shuffled and the j-th network takes the j-th
   chromosome of every shuffled subpopulation. So every chromosome takes part in exactly ``trials`` networks, and
   a generation has ``subpop_size * trials`` networks.
2. ``tell``: each chromosome is credited with the best (``credit="best"``, Evolino's max-fitness rule) or the mean
   (``credit="mean"``) error of the networks it took part in.
3. In each subpopulation (ranked by credit with ``deap.tools.selBest``): the top half survives unchanged; the bottom
   half is replaced by offspring of the top quarter: pairs of parents (each top-quarter chromosome in turn, with a
   random other top-quarter mate) are recombined by 1-point crossover (``crossover=True``) or copied, then every
   gene is mutated with probability ``mutation_rate`` by Cauchy noise of scale ``mutation_scale``.
4. Burst mutation: after ``stagnation`` generations without a better best-ever error, every subpopulation is
   re-seeded around the best-ever network's chromosome for that block: one exact copy plus Cauchy perturbations of
   scale ``burst_scale``.

The best-ever network is kept by :class:`~evolino.optimizers.base.Optimizer` (``best_genome`` / ``best_error``)
and never lost; burst mutation re-seeds around it.

Randomness: all from the Generator. DEAP's ``tools.cxOnePoint`` draws its cut from Python's global ``random``, so
the crossover is its vectorised equivalent (:func:`evolino.optimizers.deap_es.one_point_crossover`) with cuts drawn
from the Generator; ranking uses ``deap.tools.selBest`` and per-generation statistics ``deap.tools.Statistics``.
"""

from __future__ import annotations

import numpy as np
from deap import tools

from evolino.optimizers.base import Optimizer
from evolino.optimizers.deap_es import draw_cuts, error_statistics, one_point_crossover, rank_by_error

__all__ = ["ESP"]


class ESP(Optimizer):
    """Enforced SubPopulations, in ask/tell form.

    ``popsize`` maps to networks per generation: ``subpop_size`` defaults to ``max(4, popsize // trials)``, and a
    generation has ``subpop_size * trials`` networks (``self.popsize`` is set to that number; with the CLI default
    population 40 and ``trials=4``: subpopulations of 10 chromosomes, 40 networks per generation).

    Parameters
    ----------
    x0, rng, popsize
        See :class:`evolino.optimizers.base.Optimizer`.
    blocks : sequence of slices
        The chromosomes: disjoint slices that together cover the genome (default: one block, the whole genome).
    sigma0 : float
        Initial chromosomes are x0[block] + sigma0 * N(0, 1).
    trials : int
        Networks every chromosome takes part in per generation.
    subpop_size : int, optional
        Chromosomes per subpopulation (>= 2); default ``max(4, popsize // trials)``.
    credit : {"best", "mean"}
        A chromosome's error: the best or the mean error of its networks.
    crossover : bool
        1-point crossover of the parents (else offspring are mutated copies).
    mutation_scale : float
        Scale of the Cauchy mutation.
    mutation_rate : float
        Probability that an offspring's gene is mutated.
    stagnation : int or None
        Burst-mutate after this many generations without improvement of the best-ever error (None: never).
    burst_scale : float, optional
        Cauchy scale of burst mutation; default ``10 * mutation_scale``.
    """

    name = "esp"

    def __init__(self, x0, rng, popsize, blocks=None, sigma0: float = 0.1, trials: int = 4,
                 subpop_size: int | None = None, credit: str = "best", crossover: bool = True,
                 mutation_scale: float = 0.003, mutation_rate: float = 1.0, stagnation: int | None = 20,
                 burst_scale: float | None = None) -> None:
        super().__init__(x0, rng, popsize, blocks)
        _check_partition(self.blocks, self.dimension)
        trials = int(trials)
        if trials < 1:
            raise ValueError(f"trials must be >= 1, got {trials}")
        subpop_size = max(4, self.popsize // trials) if subpop_size is None else int(subpop_size)
        if subpop_size < 2:
            raise ValueError(f"subpop_size must be >= 2, got {subpop_size}")
        if credit not in ("best", "mean"):
            raise ValueError(f"credit must be 'best' or 'mean', got {credit!r}")
        if not (sigma0 > 0 and mutation_scale > 0 and 0 <= mutation_rate <= 1):
            raise ValueError("need sigma0 > 0, mutation_scale > 0 and 0 <= mutation_rate <= 1")
        if stagnation is not None and int(stagnation) < 1:
            raise ValueError(f"stagnation must be >= 1 or None, got {stagnation}")
        if burst_scale is not None and not burst_scale > 0:
            raise ValueError(f"burst_scale must be > 0, got {burst_scale}")
        self.trials = trials
        self.subpop_size = subpop_size
        self.popsize = subpop_size * trials
        self.credit = credit
        self.crossover = bool(crossover)
        self.mutation_scale = float(mutation_scale)
        self.mutation_rate = float(mutation_rate)
        self.stagnation = None if stagnation is None else int(stagnation)
        self.burst_scale = 10 * self.mutation_scale if burst_scale is None else float(burst_scale)
        x0 = np.asarray(x0, dtype=np.float64)
        # subpopulations[k]: (subpop_size, genes of block k)
        self.subpopulations = [x0[b][None] + sigma0 * rng.standard_normal((subpop_size, x0[b].size))
                               for b in self.blocks]
        self.chromosome_errors: list[np.ndarray] = []   # credits of the last tell, per subpopulation
        self.stagnant_generations = 0
        self.bursts = 0
        self._best_before_tell = np.inf
        self.logbook = tools.Logbook()
        self._assignment: np.ndarray | None = None     # (n, blocks) chromosome index per network and block
        self._pending: np.ndarray | None = None

    def ask(self) -> np.ndarray:
        """The networks of this generation, (subpop_size * trials, d); asking again before ``tell`` repeats them."""
        if self._pending is None:
            s, k = self.subpop_size, len(self.blocks)
            assignment = np.empty((self.popsize, k), dtype=np.int64)
            for r in range(self.trials):
                for b in range(k):
                    assignment[r * s:(r + 1) * s, b] = self.rng.permutation(s)
            genomes = np.empty((self.popsize, self.dimension))
            for b, block in enumerate(self.blocks):
                genomes[:, block] = self.subpopulations[b][assignment[:, b]]
            self._assignment, self._pending = assignment, genomes
        return self._pending.copy()

    def _tell(self, genomes: np.ndarray, errors: np.ndarray) -> None:
        if self._pending is None or genomes.shape != self._pending.shape or not np.array_equal(genomes,
                                                                                                self._pending):
            raise ValueError("tell() expects exactly the genomes returned by the last ask()")
        previous_best = self._best_before_tell
        self.chromosome_errors = [credit_chromosomes(errors, self._assignment[:, b], self.subpop_size, self.credit)
                                  for b in range(len(self.blocks))]
        self.logbook.record(gen=self.generation + 1, bursts=self.bursts, **error_statistics(errors))
        self._assignment = self._pending = None
        if self.best_error < previous_best:
            self.stagnant_generations = 0
        else:
            self.stagnant_generations += 1
        if self.stagnation is not None and self.stagnant_generations >= self.stagnation:
            self._burst()
        else:
            self.subpopulations = [self._breed(pop, credit)
                                   for pop, credit in zip(self.subpopulations, self.chromosome_errors, strict=True)]

    def tell(self, genomes: np.ndarray, errors: np.ndarray) -> None:
        self._best_before_tell = self.best_error
        super().tell(genomes, errors)

    def _breed(self, subpopulation: np.ndarray, credit: np.ndarray) -> np.ndarray:
        """Top half survives, bottom half replaced by mutated offspring of the top quarter -> (subpop_size, g)."""
        s, g = subpopulation.shape
        ranked = subpopulation[rank_by_error(credit)]
        keep = s - s // 2
        parents = max(1, s // 4)
        offspring = s - keep
        pairs = (offspring + 1) // 2
        first = np.arange(pairs) % parents
        if parents > 1:  # a random mate among the other top-quarter chromosomes
            second = (first + self.rng.integers(1, parents, size=pairs)) % parents
        else:
            second = first
        a, b = ranked[first], ranked[second]
        if self.crossover:
            a, b = one_point_crossover(a, b, draw_cuts(self.rng, pairs, g))
        children = np.concatenate([a, b])[:offspring]
        noise = self.mutation_scale * self.rng.standard_cauchy(children.shape)
        if self.mutation_rate < 1:
            noise *= self.rng.random(children.shape) < self.mutation_rate
        return np.concatenate([ranked[:keep], children + noise])

    def _burst(self) -> None:
        """Re-seed every subpopulation around the best-ever network's chromosome for its block."""
        s = self.subpop_size
        new = []
        for block in self.blocks:
            best = self.best_genome[block]
            pop = best[None] + self.burst_scale * self.rng.standard_cauchy((s, best.size))
            pop[0] = best
            new.append(pop)
        self.subpopulations = new
        self.stagnant_generations = 0
        self.bursts += 1

    @property
    def step_size(self) -> float:
        return self.mutation_scale


def credit_chromosomes(errors: np.ndarray, chosen: np.ndarray, size: int, credit: str) -> np.ndarray:
    """Each chromosome's error from the networks it took part in.

    errors : (n,) network errors; chosen : (n,) chromosome index of each network in one subpopulation;
    size : chromosomes in the subpopulation -> (size,) best (min) or mean error; +inf for a chromosome never used.
    """
    if credit == "best":
        out = np.full(size, np.inf)
        np.minimum.at(out, chosen, errors)
        return out
    total = np.zeros(size)
    np.add.at(total, chosen, errors)
    counts = np.bincount(chosen, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, total / np.maximum(counts, 1), np.inf)


def _check_partition(blocks, dimension: int) -> None:
    covered = np.zeros(dimension, dtype=np.int64)
    for block in blocks:
        if not isinstance(block, slice):
            raise ValueError("ESP blocks must be slices of the genome")
        covered[block] += 1
    if not (covered == 1).all():
        raise ValueError("ESP blocks must be disjoint slices that cover the whole genome")
