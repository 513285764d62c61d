"""Separable CMA-ES (Ros & Hansen 2008) as pycma runs it, in whole-population numpy operations.

Idea
----
pycma's ``CMAEvolutionStrategy`` with ``CMA_diagonal=True`` is the default optimizer of every Evolino run. Its
algorithm is cheap (O(d) per sample) but pycma spends about 1.2 ms a generation at d = 510 and population 40 in
per-solution Python (archives of asked solutions keyed by their bytes, geno/pheno copies, checks), about 30% of a
default MSO2 run. This module runs the same algorithm, operation for operation, on the population as one array, so a
run is bit for bit pycma's (``tests/test_sep_cmaes.py`` compares the two for hundreds of generations) at a third of
the cost, most of what is left being the normal draws themselves. The strategy parameters are pycma's own, read from
a pycma instance of the same dimension and population size.

The algorithm (pycma 4's defaults for a diagonal covariance; d genes, population λ, μ = λ/2 parents, g generations)::

    ask      x_k = m + σ s ⊙ z_k,  z_k ~ N(0, I)
             with two-point adaptation (d >= 300) the first two are a pair along the last mean shift Δm = m - m_old,
             scaled to the length of a random sample (||N(0, I)|| / ||Δm / (σ s)||) and mirrored
    tell     sort by error; m_old = m;  m = Σ_{i<=μ} w_i x_(i)
             p_σ = (1 - c_σ) p_σ + sqrt(c_σ (2 - c_σ) μ_eff) (m - m_old) / (σ s)
             h_σ = |p_σ|² / (1 - (1 - c_σ)^(2g)) / d - 1 < 1 + 4 / (d + 1)
             p_c = (1 - c_c) p_c + h_σ sqrt(c_c (2 - c_c) μ_eff) (m - m_old) / (σ s)
             s ← s ⊙ exp(ln 2 · (Σ_j v_j y_j² - Σ_j v_j) / 2)                         (diagonal decoding)
                  with y_0 = p_c, y_j = (x_(j) - m_old) / (σ s), v_0 = c_1 (1 - (1 - h_σ) c_c (2 - c_c)),
                  v_j = c_μ w_j (active: the worse half has negative w_j)
             σ ← σ exp(S / damp),  S = (1 - c) S + c sign(z) |z|^½,                      (two-point, d >= 300)
                  z = (rank of x_2 - rank of x_1) / (λ - 1)  (Hansen 2008; c = 0.3, damp = 0.7 + 2 ln d)
             σ ← σ exp(clip((|p_σ| / E||N(0, I)|| - 1) c_σ / damp, ±1))                 (path length, d < 300)

``s`` is pycma's ``sigma_vec`` (the diagonal of C^½), σ its ``sigma``; c_σ, c_c, c_1, c_μ, w are pycma's
``sp.weights``, ``cc_sep``, ``c1_sep``, ``cmu_sep`` and its step-size rule's parameters. pycma's safeguards that
cannot act without bounds, integer variables, injected solutions or its stopping options are left out; the one that
can (a step size grown a billionfold is moved into the sampler's standard deviations) is kept. Where pycma only warns
(a z² above 55, TPA's consistency check) nothing is done; that check draws from the global ``numpy.random``, which
this module never touches.

Shapes: genomes (λ, d); m, s, p_c, p_σ (d,). Populations below 6 (where pycma samples mirrored pairs) and pycma
options are handed to pycma itself (:class:`evolino.optimizers.cmaes.PycmaSepCMAES`, the optimizer
``sep-cma-pycma``).
"""

from __future__ import annotations

import io
import math
from contextlib import redirect_stdout

import cma
import numpy as np
from cma.sigma_adaptation import CMAAdaptSigmaCSA, CMAAdaptSigmaTPA
from cma.utilities.math import Mh

from evolino.blas import single_threaded_blas
from evolino.optimizers.base import Optimizer
from evolino.optimizers.cmaes import PycmaSepCMAES, check_settings, rankable

__all__ = ["SepCMAES", "strategy_parameters"]

_REDISTRIBUTE_ABOVE = 1e9  # pycma's _redistribute_sigma_above: σ beyond this multiple of σ0 moves into the sampler


def strategy_parameters(dimension: int, popsize: int) -> dict[str, object] | None:
    """pycma's separable CMA-ES parameters for ``dimension`` genes and ``popsize`` genomes.

    Returns
    -------
    None where pycma's defaults are not the algorithm reimplemented here (below 6 genomes pycma mirrors samples);
    else a dict with ``weights`` (popsize,) recombination weights (negative for the worse half), ``positive`` (mu,),
    ``mu``, ``mueff``, ``cc``, ``c1``, ``cmu`` (the diagonal learning rates), ``cs`` (the isotropic path's rate),
    ``step_size_rule`` ("tpa" or "csa") with ``damp`` and ``damp_factor``, then ``tpa_c`` and ``z_exponent`` (two-point
    adaptation) or ``chi_n`` and ``max_log_change`` (path length control).
    """
    options = {"popsize": popsize, "CMA_diagonal": True, "seed": np.nan, "verbose": -9, "verb_log": 0,
               "randn": _no_draws}
    with redirect_stdout(io.StringIO()):
        es = cma.CMAEvolutionStrategy(np.zeros(dimension), 1.0, options)
    sp, weights = es.sp, es.sp.weights
    rule = es.adapt_sigma.initialize(es)
    if sp.cmean != 1 or sp.lam_mirr or not isinstance(rule, (CMAAdaptSigmaTPA, CMAAdaptSigmaCSA)):
        return None
    parameters = {"weights": np.array(weights(popsize), dtype=np.float64),
                  "positive": np.array(weights.positive_weights, dtype=np.float64), "mu": int(weights.mu),
                  "mueff": weights.mueff, "cc": sp.cc_sep, "c1": sp.c1_sep, "cmu": sp.cmu_sep}
    if isinstance(rule, CMAAdaptSigmaTPA):
        rule.initialize_base(es)
        return {**parameters, "step_size_rule": "tpa", "cs": rule.cs, "damp": rule.sp.damp,
                "damp_factor": es.opts["TPA_dampfac"], "tpa_c": rule.sp.c, "z_exponent": rule.sp.z_exponent}
    return {**parameters, "step_size_rule": "csa", "cs": rule.cs, "damp": rule.damps,
            "damp_factor": es.opts["CSA_dampfac"], "chi_n": Mh.chiN(dimension),
            "max_log_change": rule.max_delta_log_sigma}


def _no_draws(*shape):
    raise AssertionError("reading pycma's parameters must not draw random numbers")


class SepCMAES(Optimizer):
    """Separable CMA-ES with pycma's defaults (diagonal decoding, active weights, two-point step-size adaptation),
    bit for bit pycma's run with ``CMA_diagonal=True`` and the same random numbers.

    Parameters
    ----------
    x0, rng, popsize, blocks
        See :class:`evolino.optimizers.base.Optimizer`; every random number is drawn from ``rng``.
    sigma0 : float
        Initial step size.
    options : dict, optional
        Extra pycma options (e.g. ``{"CSA_dampfac": 1}``); with any, and for populations below 6 (where pycma
        samples mirrored pairs), the run is pycma's own (:class:`~evolino.optimizers.cmaes.PycmaSepCMAES`, the
        optimizer ``sep-cma-pycma``), so ``sep-cma`` is always pycma's algorithm, only faster where it can be.
    """

    name = "sep-cma"

    def __init__(self, x0, rng, popsize, blocks=None, sigma0: float = 0.3, options: dict | None = None) -> None:
        super().__init__(x0, rng, popsize, blocks)
        check_settings(self.popsize, sigma0)
        self.parameters = None if options else strategy_parameters(self.dimension, self.popsize)
        self.pycma = None if self.parameters else PycmaSepCMAES(x0, rng, popsize, blocks, sigma0, options)
        if self.pycma is not None:
            return
        d = self.dimension
        self.mean = np.array(x0, dtype=np.float64)
        self.sigma = float(sigma0)
        self.sigma0 = float(sigma0)
        self.scaling = np.ones(d)  # s: pycma's sigma_vec (the identity until its first update; 1.0 * z is z)
        self.sampler_std: np.ndarray | None = None  # set only when σ is redistributed into the sampler
        self.pc = np.zeros(d)
        self.ps = np.zeros(d)
        self.tpa_s = 0.0
        self.iterations = 0  # pycma's countiter
        self._directions: list[np.ndarray] = []  # TPA's mean shift and its mirror, for the next ask
        self._asked: np.ndarray | None = None

    # ---------------------------------------------------------------------------------------------------- sampling

    def _sampler_inverse(self, x: np.ndarray) -> np.ndarray:
        return x if self.sampler_std is None else x / self.sampler_std

    def _mahalanobis_norm(self, dx: np.ndarray) -> float:
        return float(np.sqrt(np.sum(self._sampler_inverse(dx / self.scaling) ** 2)) / self.sigma)

    def _rescaling_factor(self, y: np.ndarray):
        """The factor that gives ``y`` the Mahalanobis length of a random sample (one draw of d normals)."""
        if not y.any():
            return 1.0
        return np.sum(self.rng.standard_normal((1, self.dimension))[0] ** 2) ** 0.5 / self._mahalanobis_norm(y)

    def ask(self) -> np.ndarray:
        if self.pycma is not None:
            return self.pycma.ask()
        injected = []
        for y in self._directions:
            if self._mahalanobis_norm(y) > self.dimension ** 0.5:
                y *= self._rescaling_factor(y) / self.sigma
            else:
                y *= 1 / self.sigma
            injected.append(y)
        self._directions = []
        if injected:  # TPA: the pair along the mean shift, at a random sample's length, mirrored
            injected[0] *= self._rescaling_factor(injected[0]) / self.sigma
            injected[1] *= (np.sum(injected[0] ** 2) / np.sum(injected[1] ** 2)) ** 0.5
        # x = m + σ (s ⊙ z), written into one array: the same draws, products and sums as pycma's, without its copies
        asked = np.empty((self.popsize, self.dimension))
        z = asked[len(injected):]
        self.rng.standard_normal(out=z)  # the stream of standard_normal((popsize - len(injected), d))
        if self.sampler_std is not None:
            z *= self.sampler_std
        if injected:
            asked[: len(injected)] = injected
        np.multiply(self.scaling, z, out=z)
        np.multiply(self.sigma, asked, out=asked)
        np.add(self.mean, asked, out=asked)
        self._asked = asked
        return self._asked.copy()

    # ---------------------------------------------------------------------------------------------------- update

    def _tell(self, genomes: np.ndarray, errors: np.ndarray) -> None:
        if self.pycma is not None:
            self.pycma.tell(genomes, errors)
            return
        with single_threaded_blas():  # one thread: BLAS's rounding as in pycma's run (see evolino.blas)
            self._update(genomes, errors)

    def _update(self, genomes: np.ndarray, errors: np.ndarray) -> None:
        if self._asked is None or not np.array_equal(genomes, self._asked):
            raise ValueError("sep-cma must be told the population of its last ask, unchanged and in order (its "
                             "first two genomes are the step-size test's pair)")
        self._asked = None
        p = self.parameters
        values = rankable(errors)
        self.iterations += 1
        sorted_genomes = genomes[np.argsort(values)]
        mean_old = self.mean
        self.mean = mean = np.dot(p["positive"], sorted_genomes[:p["mu"]])
        shift = mean - mean_old

        cs, cc, d = p["cs"], p["cc"], self.dimension
        isotropic = self._sampler_inverse(shift / self.scaling)
        isotropic *= p["mueff"] ** 0.5 / self.sigma
        self.ps *= 1 - cs
        self.ps += (math.sqrt(cs * (2 - cs)) if p["step_size_rule"] == "csa" else (cs * (2 - cs)) ** 0.5) * isotropic
        squared = np.sum(self.ps ** 2) / (1 - (1 - cs) ** (2 * self.iterations))
        hsig = int(squared / d - 1 < 1 + 4. / (d + 1))
        c1a = p["c1"] * (1 - (1 - hsig ** 2) * cc * (2 - cc))
        self.pc = (1 - cc) * self.pc + hsig * ((cc * (2 - cc) * p["mueff"]) ** 0.5 / self.sigma) * shift / self.scaling

        steps = self._sampler_inverse((sorted_genomes - mean_old) / (self.sigma * self.scaling))
        vectors = np.vstack((self._sampler_inverse(self.pc), steps))
        weights = np.log(2) * np.concatenate(([c1a], p["cmu"] * p["weights"]))
        average = np.dot(weights, vectors ** 2)
        self.scaling = self.scaling * np.exp((average - sum(weights)) / 2)  # Python's sum: pycma's order

        if p["step_size_rule"] == "tpa":
            self.sigma *= self._two_point_factor(values)
            self._directions = [shift, -shift]  # the next ask scales these in place
        else:
            self.sigma *= self._path_length_factor()
        if self.sigma > _REDISTRIBUTE_ABOVE * self.sigma0:
            self._redistribute_sigma()

    def _two_point_factor(self, values: np.ndarray) -> float:
        """TPA (Hansen 2008): σ grows when the genome along the last mean shift ranks above its mirror."""
        p = self.parameters
        z = np.sum(values < values[1]) - np.sum(values < values[0])
        z = z / (len(values) - 1)
        self.tpa_s *= 1 - p["tpa_c"]
        self.tpa_s += p["tpa_c"] * np.sign(z) * np.abs(z) ** p["z_exponent"]
        return np.exp(self.tpa_s / p["damp"] / p["damp_factor"])

    def _path_length_factor(self) -> float:
        """CSA: σ grows when the isotropic path p_σ is longer than a random walk's (E||N(0, I)||), within e^±1."""
        p = self.parameters
        change = np.sqrt(np.sum(np.square(self.ps))) / p["chi_n"] - 1
        change *= p["cs"] / p["damp"]
        change /= p["damp_factor"]
        return np.exp(min(max(change, -p["max_log_change"]), p["max_log_change"]))

    def _redistribute_sigma(self) -> None:
        """pycma's guard against a runaway step size: move part of σ into the sampler's standard deviations."""
        variances = np.ones(self.dimension) if self.sampler_std is None else self.sampler_std ** 2
        alpha = float(self.sigma / max(variances) ** 0.5)
        if alpha > 1:
            self.sampler_std = alpha ** 0.5 * (np.ones(self.dimension) if self.sampler_std is None
                                               else self.sampler_std)
            self.sigma /= alpha ** 0.5

    @property
    def step_size(self) -> float:
        return self.pycma.step_size if self.pycma is not None else float(self.sigma)
