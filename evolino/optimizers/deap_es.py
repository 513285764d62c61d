"""DEAP-style evolution: a self-adaptive (mu, lambda) / (mu + lambda) ES and a real-valued GA, on numpy arrays.

DEAP's variation operators draw from Python's global ``random`` module, which would break the rule that every random
number comes from the run's Generator (and would make pickled optimizers resume differently). So the operators here
are DEAP's formulas (``cxOnePoint``, ``cxBlend``, ``cxESBlend``, ``mutESLogNormal``, ``mutGaussian``,
``selTournament``) re-implemented vectorised over a population and driven by a ``numpy.random.Generator``; the tests
check each one against DEAP's own operator fed the same random draws. DEAP pieces that use no randomness are used
as they are: ``tools.selBest`` ranks individuals (stable, so ties keep their order) and ``tools.Statistics`` /
``tools.Logbook`` record each generation. No ``deap.creator`` class is created: individuals are rows of arrays and
ranking uses a module-local :class:`deap.base.Fitness` subclass.
"""

from __future__ import annotations

import math

import numpy as np
from deap import base, tools

from evolino.optimizers.base import Optimizer

__all__ = [
    "EvolutionStrategy", "GeneticAlgorithm", "rank_by_error", "error_statistics",
    "one_point_crossover", "blend_crossover", "es_blend_crossover", "es_lognormal_mutation", "gaussian_mutation",
    "tournament_selection",
]


class _MinError(base.Fitness):
    """A single error to minimise (local to this module, not registered in ``deap.creator``)."""

    weights = (-1.0,)


class _Ranked:
    """What ``tools.selBest`` needs of an individual: a ``fitness`` attribute (and the row it stands for)."""

    __slots__ = ("fitness", "index")

    def __init__(self, index: int, error: float) -> None:
        self.index = index
        self.fitness = _MinError((float(error),))


def rank_by_error(errors: np.ndarray, k: int | None = None) -> np.ndarray:
    """Indices of the ``k`` lowest errors, best first, by ``deap.tools.selBest`` (stable: ties keep index order).

    errors : (n,) -> (k,) int array
    """
    errors = np.asarray(errors, dtype=np.float64)
    k = errors.size if k is None else int(k)
    population = [_Ranked(i, e) for i, e in enumerate(errors)]
    return np.array([ind.index for ind in tools.selBest(population, k)], dtype=np.int64)


def _error_of(values: np.ndarray) -> np.ndarray:
    return values


def error_statistics(errors: np.ndarray) -> dict:
    """Min / median / mean / max of the finite errors, computed by ``deap.tools.Statistics``."""
    errors = np.asarray(errors, dtype=np.float64)
    finite = errors[np.isfinite(errors)]
    stats = tools.Statistics(_error_of)
    for name, fn in (("min", np.min), ("median", np.median), ("mean", np.mean), ("max", np.max)):
        stats.register(name, fn)
    record = stats.compile(finite) if finite.size else dict.fromkeys(("min", "median", "mean", "max"), np.inf)
    record = {k: float(v) for k, v in record.items()}
    record["nonfinite"] = int(errors.size - finite.size)
    return record


# ---------------------------------------------------------------------------------------------------------------------
# DEAP's operators, vectorised and driven by a Generator


def one_point_crossover(first: np.ndarray, second: np.ndarray, cuts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DEAP's ``cxOnePoint`` on rows: child 1 = first[:c] + second[c:], child 2 = second[:c] + first[c:].

    first, second : (n, g); cuts : (n,) ints in [1, g-1] -> two (n, g) arrays (new; inputs untouched)
    """
    g = first.shape[1]
    tail = np.arange(g)[None, :] >= np.asarray(cuts)[:, None]
    return np.where(tail, second, first), np.where(tail, first, second)


def draw_cuts(rng: np.random.Generator, n: int, genes: int) -> np.ndarray:
    """Cut points as DEAP draws them, ``randint(1, genes - 1)`` (both ends included) -> (n,)."""
    if genes < 2:
        return np.ones(n, dtype=np.int64)  # nothing to cut: children are copies
    return rng.integers(1, genes, size=n)


def blend_crossover(first: np.ndarray, second: np.ndarray, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DEAP's ``cxBlend`` given gamma = (1 + 2 alpha) U - alpha per gene.

    first, second, gamma : (n, g) -> two (n, g) arrays: (1-gamma) x1 + gamma x2 and gamma x1 + (1-gamma) x2
    """
    return (1.0 - gamma) * first + gamma * second, gamma * first + (1.0 - gamma) * second


def draw_gamma(rng: np.random.Generator, shape: tuple[int, ...], alpha: float) -> np.ndarray:
    """Blend coefficients as DEAP draws them: (1 + 2 alpha) * U[0, 1) - alpha."""
    return (1.0 + 2.0 * alpha) * rng.random(shape) - alpha


def es_blend_crossover(x1, s1, x2, s2, gamma_x, gamma_s):
    """DEAP's ``cxESBlend``: blend the object variables and, with their own coefficients, the step sizes.

    All arrays (n, g) -> (child1_x, child1_s, child2_x, child2_s)
    """
    c1x, c2x = blend_crossover(x1, x2, gamma_x)
    c1s, c2s = blend_crossover(s1, s2, gamma_s)
    return c1x, c1s, c2x, c2s


def es_lognormal_mutation(x: np.ndarray, strategy: np.ndarray, common: np.ndarray, individual: np.ndarray,
                          steps: np.ndarray, c: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """DEAP's ``mutESLogNormal`` (indpb = 1) given its normal draws.

    s' = s * exp(tau0 * N0 + tau * N_i), x' = x + s' * M_i, with tau0 = c / sqrt(2 g), tau = c / sqrt(2 sqrt(g)).

    x, strategy, individual, steps : (n, g); common : (n,) -> (x', s'), each (n, g)
    """
    g = x.shape[1]
    tau = c / math.sqrt(2.0 * math.sqrt(g))
    tau0 = c / math.sqrt(2.0 * g)
    new_strategy = strategy * np.exp(tau0 * np.asarray(common)[:, None] + tau * individual)
    return x + new_strategy * steps, new_strategy


def gaussian_mutation(x: np.ndarray, sigma: float, which: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """DEAP's ``mutGaussian`` (mu = 0) given its draws: genes where ``which`` is true get ``sigma * noise`` added.

    x, which, noise : (n, g) -> (n, g)
    """
    return np.where(which, x + sigma * noise, x)


def tournament_selection(errors: np.ndarray, contestants: np.ndarray) -> np.ndarray:
    """DEAP's ``selTournament`` given the drawn contestants: each row's lowest error wins (first on ties).

    errors : (n,); contestants : (k, size) indices -> (k,) winners
    """
    return contestants[np.arange(contestants.shape[0]), np.argmin(errors[contestants], axis=1)]


# ---------------------------------------------------------------------------------------------------------------------


class _PopulationOptimizer(Optimizer):
    """Shared bookkeeping: the population asked last (tell must report exactly it) and a DEAP logbook."""

    def __init__(self, x0, rng, popsize, blocks=None) -> None:
        super().__init__(x0, rng, popsize, blocks)
        self._pending: np.ndarray | None = None
        self.logbook = tools.Logbook()
        self.logbook.header = ("gen", "min", "median", "mean", "max", "nonfinite")

    def ask(self) -> np.ndarray:
        """Return the next population (n, d); asking again before ``tell`` returns the same population."""
        if self._pending is None:
            self._pending = self._propose()
        return self._pending.copy()

    def _propose(self) -> np.ndarray:
        raise NotImplementedError

    def _take_pending(self, genomes: np.ndarray) -> None:
        if self._pending is None or self._pending.shape != genomes.shape or not np.array_equal(self._pending,
                                                                                               genomes):
            raise ValueError("tell() expects exactly the genomes returned by the last ask()")
        self._pending = None

    def _record(self, errors: np.ndarray) -> None:
        self.logbook.record(gen=self.generation + 1, **error_statistics(errors))


class EvolutionStrategy(_PopulationOptimizer):
    """Self-adaptive evolution strategy, (mu, lambda) or (mu + lambda) (Beyer & Schwefel 2002; DEAP's ``eaMu*Lambda``).

    Every individual carries one step size per gene. The first generation samples ``popsize`` genomes
    x0 + sigma0 * N(0, I); afterwards each of the lambda = ``popsize`` offspring comes from two parents drawn uniformly
    from the mu selected ones, blended (``cxESBlend``, both object variables and step sizes) with probability
    ``cxpb``, otherwise a copy of the first; then always log-normally self-adapted and mutated (``mutESLogNormal``).
    Comma selection takes the mu best offspring; plus selection the mu best of parents and offspring.

    Parameters
    ----------
    x0, rng, popsize, blocks
        See :class:`evolino.optimizers.base.Optimizer`; ``popsize`` is lambda.
    sigma0 : float
        Initial step size of every gene (and initial spread around ``x0``).
    strategy : {"comma", "plus"}
        (mu, lambda) or (mu + lambda) selection.
    mu : int, optional
        Parents kept each generation; default ``max(1, popsize // 4)``.
    cxpb : float
        Probability that an offspring is a blend of two parents.
    alpha : float
        Blend extent of ``cxESBlend``.
    learning_rate : float
        DEAP's ``c`` of ``mutESLogNormal``: tau0 = c / sqrt(2 d), tau = c / sqrt(2 sqrt(d)).
    min_step : float
        Lower bound of every step size (DEAP's "checkStrategy" decorator).
    """

    name = "es"

    def __init__(self, x0, rng, popsize, blocks=None, sigma0: float = 0.3, strategy: str = "comma",
                 mu: int | None = None, cxpb: float = 0.6, alpha: float = 0.1, learning_rate: float = 1.0,
                 min_step: float = 1e-12) -> None:
        super().__init__(x0, rng, popsize, blocks)
        if not sigma0 > 0:
            raise ValueError(f"sigma0 must be > 0, got {sigma0}")
        if strategy not in ("comma", "plus"):
            raise ValueError(f"strategy must be 'comma' or 'plus', got {strategy!r}")
        mu = max(1, self.popsize // 4) if mu is None else int(mu)
        if not 1 <= mu <= self.popsize:
            raise ValueError(f"mu must be in [1, popsize={self.popsize}], got {mu}")
        if not 0 <= cxpb <= 1:
            raise ValueError(f"cxpb must be in [0, 1], got {cxpb}")
        if not (alpha >= 0 and learning_rate > 0 and min_step >= 0):
            raise ValueError("need alpha >= 0, learning_rate > 0 and min_step >= 0")
        self.sigma0 = float(sigma0)
        self.strategy = strategy
        self.mu = mu
        self.cxpb = float(cxpb)
        self.alpha = float(alpha)
        self.learning_rate = float(learning_rate)
        self.min_step = float(min_step)
        self.x0 = np.asarray(x0, dtype=np.float64).copy()
        self.parents: np.ndarray | None = None          # (mu, d)
        self.parent_steps: np.ndarray | None = None     # (mu, d)
        self.parent_errors: np.ndarray | None = None    # (mu,)
        self._pending_steps: np.ndarray | None = None

    def _propose(self) -> np.ndarray:
        lam, d, rng = self.popsize, self.dimension, self.rng
        if self.parents is None:
            self._pending_steps = np.full((lam, d), self.sigma0)
            return self.x0[None] + self.sigma0 * rng.standard_normal((lam, d))
        first = rng.integers(0, self.mu, size=lam)
        second = rng.integers(0, self.mu, size=lam)
        x, s = self.parents[first], self.parent_steps[first]
        blend = rng.random(lam) < self.cxpb
        if blend.any():
            gx = draw_gamma(rng, (lam, d), self.alpha)
            gs = draw_gamma(rng, (lam, d), self.alpha)
            bx, bs, _, _ = es_blend_crossover(x, s, self.parents[second], self.parent_steps[second], gx, gs)
            x = np.where(blend[:, None], bx, x)
            s = np.where(blend[:, None], bs, s)
        x, s = es_lognormal_mutation(x, s, rng.standard_normal(lam), rng.standard_normal((lam, d)),
                                     rng.standard_normal((lam, d)), self.learning_rate)
        self._pending_steps = np.maximum(s, self.min_step)
        return x

    def _tell(self, genomes: np.ndarray, errors: np.ndarray) -> None:
        self._take_pending(genomes)
        steps = self._pending_steps
        if self.strategy == "plus" and self.parents is not None:
            genomes = np.concatenate([self.parents, genomes])
            steps = np.concatenate([self.parent_steps, steps])
            errors = np.concatenate([self.parent_errors, errors])
        keep = rank_by_error(errors, self.mu)
        self.parents, self.parent_steps, self.parent_errors = genomes[keep], steps[keep], errors[keep]
        self._pending_steps = None
        self._record(errors)

    @property
    def step_size(self) -> float:
        """Geometric mean step size of the parents (sigma0 before the first tell)."""
        if self.parent_steps is None:
            return self.sigma0
        return float(np.exp(np.mean(np.log(self.parent_steps))))


class GeneticAlgorithm(_PopulationOptimizer):
    """Real-valued generational GA with DEAP's operators (DEAP's ``eaSimple`` with elitism).

    The first generation samples ``popsize`` genomes x0 + sigma0 * N(0, I). Then each generation: the ``elite`` best
    are copied unchanged; the rest are bred by tournament selection (``selTournament``), blend crossover of pairs
    with probability ``cxpb`` (``cxBlend``), and Gaussian mutation of each gene with probability ``indpb``
    (``mutGaussian``, standard deviation ``mutation_sigma``) for an individual chosen with probability ``mutpb``.

    Parameters
    ----------
    x0, rng, popsize, blocks
        See :class:`evolino.optimizers.base.Optimizer`.
    sigma0 : float
        Spread of the initial population around ``x0``.
    cxpb, mutpb : float
        Per-pair crossover probability and per-individual mutation probability (DEAP's eaSimple).
    alpha : float
        Blend extent of ``cxBlend``.
    mutation_sigma : float
        Standard deviation of the Gaussian mutation.
    indpb : float
        Per-gene mutation probability.
    tournament : int
        Tournament size.
    elite : int
        Best individuals copied unchanged into the next generation.
    """

    name = "ga"

    def __init__(self, x0, rng, popsize, blocks=None, sigma0: float = 0.3, cxpb: float = 0.7, mutpb: float = 0.9,
                 alpha: float = 0.3, mutation_sigma: float = 0.02, indpb: float = 0.1, tournament: int = 3,
                 elite: int = 1) -> None:
        super().__init__(x0, rng, popsize, blocks)
        if not sigma0 > 0 or not mutation_sigma > 0:
            raise ValueError("sigma0 and mutation_sigma must be > 0")
        for key, value in (("cxpb", cxpb), ("mutpb", mutpb), ("indpb", indpb)):
            if not 0 <= value <= 1:
                raise ValueError(f"{key} must be in [0, 1], got {value}")
        if not 1 <= int(tournament) or not 0 <= int(elite) < self.popsize:
            raise ValueError(f"need tournament >= 1 and 0 <= elite < popsize, got {tournament}, {elite}")
        self.sigma0 = float(sigma0)
        self.cxpb, self.mutpb, self.indpb = float(cxpb), float(mutpb), float(indpb)
        self.alpha = float(alpha)
        self.mutation_sigma = float(mutation_sigma)
        self.tournament = int(tournament)
        self.elite = int(elite)
        self.x0 = np.asarray(x0, dtype=np.float64).copy()
        self.population: np.ndarray | None = None  # (popsize, d), evaluated
        self.errors: np.ndarray | None = None

    def _propose(self) -> np.ndarray:
        n, d, rng = self.popsize, self.dimension, self.rng
        if self.population is None:
            return self.x0[None] + self.sigma0 * rng.standard_normal((n, d))
        elite = self.population[rank_by_error(self.errors, self.elite)]
        bred = n - self.elite
        pairs = (bred + 1) // 2
        winners = tournament_selection(self.errors, rng.integers(0, n, size=(2 * pairs, self.tournament)))
        first, second = self.population[winners[0::2]], self.population[winners[1::2]]
        c1, c2 = blend_crossover(first, second, draw_gamma(rng, (pairs, d), self.alpha))
        cross = rng.random(pairs) < self.cxpb
        c1 = np.where(cross[:, None], c1, first)
        c2 = np.where(cross[:, None], c2, second)
        children = np.concatenate([c1, c2])[:bred]
        mutate = (rng.random(bred) < self.mutpb)[:, None] & (rng.random((bred, d)) < self.indpb)
        children = gaussian_mutation(children, self.mutation_sigma, mutate, rng.standard_normal((bred, d)))
        return np.concatenate([elite, children])

    def _tell(self, genomes: np.ndarray, errors: np.ndarray) -> None:
        self._take_pending(genomes)
        self.population, self.errors = genomes.copy(), errors.copy()
        self._record(errors)

    @property
    def step_size(self) -> float:
        return self.mutation_sigma
