"""CMA-ES through pycma, full covariance or separable (diagonal, ``CMA_diagonal``), with compact pickles.

The default ``sep-cma`` is pycma's separable CMA-ES reimplemented in whole-population numpy
(:mod:`evolino.optimizers.sep_cmaes`); ``sep-cma-pycma`` here runs pycma's own, with any of its options.

Randomness: pycma seeds the global ``numpy.random`` unless it is given its own ``randn``; we pass one drawing from the
run's Generator, so no global RNG state is touched and a pickled optimizer resumes identically. pycma options that
would replace that source (``seed``, ``randn``, ``CMA_sampler``, ``CMA_sampler_options``) are refused.

Compact pickles (checkpoints). With a full covariance pycma holds two d x d matrices: the covariance C, updated in
place by every ``tell``, and its eigenvectors B, recomputed from C every few generations (pycma's lazy update gap,
about 1 / (10 d (c1 + c_mu)), 3.8 generations at d = 3930). Pickled as they are, a 30-cell network (d = 3930,
population 200) gave 267 MB per checkpoint. Both are derived: B is the eigendecomposition of C at the last update,
and C is that matrix plus the generations told since. So the optimizer keeps an *anchor*, taken right after the
``ask`` that last decomposed C::

    its own state pickled without C, B and pycma's scratch arrays of the last ask/tell (bytes)
    C at that moment (symmetric: pickled as its upper triangle, d (d + 1) / 2 numbers)
    the errors of every tell since (popsize numbers per generation)

and pickles only that (75 MB at d = 3930 and population 200, 28% of the whole objects; the anchor costs a copy of C
in memory and about 1 ms per decomposition at d = 510). Unpickling decomposes C again with pycma's own code (one
BLAS thread, as in the run), files pycma's archives of asked solutions again under this process's string hashes
(:func:`_rehash_archives`), and replays the tells, and the asks between them, with the recorded errors: the same
code on the same numbers, so the state is bit for bit the one that was pickled. A fingerprint (mean, step size,
evolution path, diagonal of C, best error, the Generator's state) checks that; if it differs (another machine's
LAPACK rounds differently) the optimizer says so in :attr:`CMAES.resumed_exactly`. Before the first
decomposition (the first few generations) and whenever the anchor cannot be replayed (genomes told that were not
the ones asked, a decomposition inside ``tell``, a pycma option that rescales C after decomposing it) the whole
objects are pickled, as before.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import warnings
from contextlib import redirect_stdout

import cma
import numpy as np
from cma.sampler import GaussFullSampler
from cma.utilities.utils import SolutionDict

from evolino.blas import single_threaded_blas
from evolino.optimizers.base import Optimizer

__all__ = ["CMAES", "PycmaSepCMAES", "check_settings", "rankable"]

# pycma options that would replace the run's random source (pycma matches option names case-insensitively).
_RANDOM_OPTIONS = ("seed", "randn", "CMA_sampler", "CMA_sampler_options")
# pycma attributes set by every ask/tell and reassigned before anything reads them: not part of an anchor.
_SCRATCH = ("ary", "pop_sorted", "_tell2_args")
_COMPACT = "evolino-cmaes-anchor-1"


def check_settings(popsize: int, sigma0: float) -> None:
    """Raise ValueError for a population or initial step size that CMA-ES cannot start from."""
    if popsize < 2:  # recombination weights need two parents
        raise ValueError(f"CMA-ES needs a population of at least 2, got {popsize}")
    if not sigma0 > 0:
        raise ValueError(f"sigma0 must be > 0, got {sigma0}")


def rankable(errors: np.ndarray) -> np.ndarray:
    """The errors (n,) with infinities replaced by a huge finite stand-in: pycma cannot rank infinities reliably
    against each other, and the stand-in keeps their order below every finite error."""
    return np.where(np.isfinite(errors), errors, np.finfo(np.float64).max / 1e3)


class _GeneratorRandn:
    """pycma's ``randn(*shape)`` backed by a numpy Generator (a class, not a lambda, so it pickles)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def __call__(self, *shape: int) -> np.ndarray:
        return self.rng.standard_normal(shape)


class _Anchor:
    """The state right after the last decomposing ``ask`` and what was told since (see the module docstring).

    ``state``: the optimizer's attributes pickled without the covariance and eigenvector matrices (bytes);
    ``covariance``: C at that moment, (d, d); ``errors``: one (popsize,) array per tell since; ``pending``: the
    genomes of an ask not told yet (a copy), or None.
    """

    def __init__(self, state: bytes, covariance: np.ndarray, pending: np.ndarray) -> None:
        self.state = state
        self.covariance = covariance
        self.errors: list[np.ndarray] = []
        self.pending: np.ndarray | None = pending


class _AnchorPickler(pickle.Pickler):
    """Pickles an optimizer's attributes with the big matrices (and pycma's scratch arrays) left out by name."""

    def __init__(self, file, left_out: dict[int, str]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.left_out = left_out

    def persistent_id(self, obj):
        return self.left_out.get(id(obj))


class _AnchorUnpickler(pickle.Unpickler):
    def __init__(self, file, covariance: np.ndarray) -> None:
        super().__init__(file)
        self.covariance = covariance

    def persistent_load(self, name):
        return self.covariance if name == "C" else None  # B is recomputed; scratch arrays start empty


def _rehash_archives(es) -> None:
    """Re-key pycma's archives of asked solutions for this process.

    pycma files the solutions it hands out (``sent_solutions``, ``_injected_solutions_archive``) under
    ``hash(x.tobytes())``, and Python salts that hash per process. Unpickled as they are, a new process finds none of
    them when they are told: pycma then repairs the solutions it takes for foreign (limits their Mahalanobis
    length) and weights TPA's injected pair as ordinary ones, and the run goes elsewhere. Each entry keeps the
    solution it was filed under, so it is filed again under this process's hash, in the same order.
    """
    for archive in vars(es).values():
        if not isinstance(archive, SolutionDict) or not archive._unhashed_keys:
            continue
        new = {old: archive.key(solution) for old, solution in archive._unhashed_keys.items()}
        archive.data = {new.get(key, key): value for key, value in archive.data.items()}
        archive.data_with_same_key = {new.get(key, key): value for key, value in archive.data_with_same_key.items()}
        archive._unhashed_keys = {new[key]: solution for key, solution in archive._unhashed_keys.items()}


def _upper_triangle(matrix: np.ndarray) -> np.ndarray:
    """The upper triangle of a (d, d) matrix, row by row: (d (d + 1) / 2,)."""
    return np.concatenate([matrix[i, i:] for i in range(matrix.shape[0])])


def _symmetric(triangle: np.ndarray, d: int) -> np.ndarray:
    """The (d, d) symmetric matrix whose upper triangle (row by row) is ``triangle``."""
    matrix = np.empty((d, d))
    start = 0
    for i in range(d):
        row = triangle[start:start + d - i]
        matrix[i, i:] = row
        matrix[i:, i] = row
        start += d - i
    return matrix


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
        Extra pycma options (e.g. ``{"CSA_dampfac": 1}``); options that would replace the run's random source
        (``seed``, ``randn``, ``CMA_sampler``, ``CMA_sampler_options``) raise ValueError.

    Attributes
    ----------
    resumed_exactly : bool
        False when this optimizer was unpickled from a compact state and its replay did not reproduce the pickled
        state bit for bit (a different LAPACK); the search goes on, but not as the uninterrupted run would.
    """

    name = "cma"

    def __init__(self, x0, rng, popsize, blocks=None, sigma0: float = 0.3, separable: bool = False,
                 options: dict | None = None) -> None:
        super().__init__(x0, rng, popsize, blocks)
        check_settings(self.popsize, sigma0)
        refused = sorted(key for key in (options or {}) if key.strip().lower() in
                         {name.lower() for name in _RANDOM_OPTIONS})
        if refused:
            raise ValueError(f"pycma option(s) {', '.join(refused)} would replace the run's random source; every "
                             "random number comes from the run's seed (seed=, --seed)")
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
        self._anchor: _Anchor | None = None
        self.resumed_exactly = True

    def ask(self) -> np.ndarray:
        sampler = self.es.sm
        decompositions = getattr(sampler, "count_eigen", None)
        with single_threaded_blas():  # pycma's eigendecomposition: threads only contend (see evolino.blas)
            asked = self.es.ask()
        genomes = np.array(asked, dtype=np.float64)
        if decompositions is not None and self.es.sm is sampler and sampler.count_eigen != decompositions:
            self._anchor = self._take_anchor(asked, genomes)
        elif self._anchor is not None:
            if self._anchor.pending is not None:  # asked twice without a tell: not a replayable sequence
                self._anchor = None
            else:
                self._anchor.pending = genomes.copy()
        return genomes

    def _tell(self, genomes: np.ndarray, errors: np.ndarray) -> None:
        finite = rankable(errors)
        sampler = self.es.sm
        decompositions = getattr(sampler, "count_eigen", None)
        with single_threaded_blas(), warnings.catch_warnings():
            # pycma's diagonal scaling warns (once per generation) when a selected step lies beyond 7 standard
            # deviations, which happens when many genomes tie (e.g. a readout that shrank every cell away); it
            # changes nothing and would flood a run's output.
            warnings.filterwarnings("ignore", message="elements of z2", category=UserWarning)
            self.es.tell(list(genomes), finite.tolist())
        anchor = self._anchor
        if anchor is None:
            return
        replayable = (anchor.pending is not None and np.array_equal(anchor.pending, genomes)
                      and self.es.sm is sampler and sampler.count_eigen == decompositions)
        if replayable:
            anchor.errors.append(errors.copy())
            anchor.pending = None
        else:
            self._anchor = None

    @property
    def step_size(self) -> float:
        return float(self.es.sigma)

    # ------------------------------------------------------------------------------------------ compact pickles

    def _take_anchor(self, asked: list, genomes: np.ndarray) -> _Anchor | None:
        """The anchor of the state right after a decomposing ask, or None when the state cannot be rebuilt from
        it (a sampler other than pycma's full one, a condition limit or trace normalisation that change C after
        decomposing it, an asymmetric C)."""
        sampler = self.es.sm
        if not (type(sampler) is GaussFullSampler and not np.isfinite(sampler.condition_limit)
                and not sampler.constant_trace and np.array_equal(sampler.C, sampler.C.T)):
            return None
        left_out = {id(sampler.C): "C", id(sampler.B): "B"}
        left_out.update({id(value): "scratch" for name in _SCRATCH
                         if (value := getattr(self.es, name, None)) is not None})
        attributes = {name: value for name, value in self.__dict__.items() if name != "_anchor"}
        buffer = io.BytesIO()
        _AnchorPickler(buffer, left_out).dump({"attributes": attributes, "asked": asked})  # asked: pycma's own rows
        return _Anchor(buffer.getvalue(), sampler.C.copy(), genomes.copy())

    def _fingerprint(self) -> str:
        """SHA-256 of what a replay must reproduce: mean, step size, evolution path, diagonal of C, best genome,
        counters and the Generator's state."""
        digest = hashlib.sha256()
        for array in (self.es.mean, self.es.pc, np.diagonal(self.es.sm.C), self.best_genome):
            digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        digest.update(repr((float(self.es.sigma), self.es.countiter, self.generation, self.evaluations,
                            self.best_error, self.rng.bit_generator.state)).encode())
        return digest.hexdigest()

    def __getstate__(self) -> dict:
        anchor = self._anchor
        if anchor is None or anchor.pending is not None:  # no anchor yet, or between an ask and its tell
            state = self.__dict__.copy()
            state["_anchor"] = None
            return state
        return {_COMPACT: True, "anchor": anchor.state, "dimension": self.dimension,
                "covariance": _upper_triangle(anchor.covariance), "errors": list(anchor.errors),
                "fingerprint": self._fingerprint()}

    def __setstate__(self, state: dict) -> None:
        if not state.get(_COMPACT):
            self.__dict__.update(state)
            self.__dict__.setdefault("_anchor", None)
            self.__dict__.setdefault("resumed_exactly", True)
            _rehash_archives(self.es)
            return
        covariance = _symmetric(state["covariance"], state["dimension"])
        loaded = _AnchorUnpickler(io.BytesIO(state["anchor"]), covariance).load()
        self.__dict__.update(loaded["attributes"])
        _rehash_archives(self.es)
        with single_threaded_blas():
            same_basis = self._decompose_again()
        genomes = np.array(loaded["asked"], dtype=np.float64)
        self._anchor = _Anchor(state["anchor"], covariance, genomes.copy())
        for k, errors in enumerate(state["errors"]):
            if k:
                genomes = self.ask()
            self.tell(genomes, errors)
        self.resumed_exactly = same_basis and self._fingerprint() == state["fingerprint"]

    def _decompose_again(self) -> bool:
        """Recompute B and D from the anchor's C with pycma's own decomposition, leaving its counters as they were;
        returns whether D came out bit for bit as pickled."""
        sampler = self.es.sm
        pickled_d, count = sampler.D.copy(), sampler.count_eigen
        sampler._decompose_C()
        sampler.count_eigen = count
        self.es._updateBDfromSM(sampler)  # the references pycma set after the decomposition (C, B, D, dC)
        return np.array_equal(sampler.D, pickled_d)


class PycmaSepCMAES(CMAES):
    """Separable CMA-ES run by pycma itself: :class:`CMAES` with a diagonal covariance matrix.

    The default optimizer ``sep-cma`` (:mod:`evolino.optimizers.sep_cmaes`) runs the same algorithm bit for bit in
    whole-population numpy; this one takes any pycma option and is its reference.
    """

    name = "sep-cma-pycma"

    def __init__(self, x0, rng, popsize, blocks=None, sigma0: float = 0.3, options: dict | None = None) -> None:
        super().__init__(x0, rng, popsize, blocks, sigma0=sigma0, separable=True, options=options)
