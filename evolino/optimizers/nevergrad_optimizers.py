"""Every nevergrad optimizer (nevergrad 1.0) as ``nevergrad:NAME``: NGOpt, TBPSA, DE, PSO, OnePlusOne, CMA, ...

The optimizer only asks and tells: each generation evolino asks it for ``popsize`` candidates (nevergrad is told
``num_workers = popsize``, so it may propose them without waiting for their errors), evaluates them itself and tells
each one its error. nevergrad searches a standardised space (a ``nevergrad.p.Array`` at 0 with scale 1) and the
genome of a point v is x0 + sigma0 v: nevergrad's own numbers go back to it unchanged (its CMA with pycma's TPA
step-size rule fails when the arrays it is told differ in the last bit from those it asked, as ``Array(init=x0)``
with a mutation scale made them).

nevergrad's CMA runs with pycma's CSA step-size rule at every dimension (:data:`_NO_TPA` says why).

Randomness: nevergrad draws from its parametrization's ``numpy.random.RandomState``, and some of its optimizers (and
the libraries they wrap, e.g. pycma, which seeds ``numpy.random``) from the global ``numpy.random`` and ``random``
states. All three are derived from the run's ``numpy.random.Generator`` when the optimizer is built; the two global
ones are this optimizer's own: every call into nevergrad runs with them swapped in, and the caller's global states
are put back afterwards (:meth:`NevergradOptimizer._own_global_random`). So the same seed gives the same run and the
caller's global random state is never changed.

Options (``--opt KEY=VALUE``; ``python -m evolino optimizers`` lists each optimizer's with its defaults):

* ``sigma0``: the scale of the standardised space (the trainer passes ``init_scale``);
* ``budget``: the number of evaluations nevergrad is told (several optimizers, NGOpt first, choose their method by
  it); the trainer passes ``generations x population`` (or ``max_evaluations`` when smaller) unless it is given;
* for the configured optimizers of the registry (DE, TBPSA, PSO, OnePlusOne, DiagonalCMA, ...), their
  configuration (``crossover``, ``F1``, ``popsize``, ...): the optimizer is configured again with the values given.

Checkpoints hold no nevergrad object: only numbers (the errors told, one array per generation; the Generator it
started from; a SHA-256 of every genome asked). Unpickling builds the optimizer again from its name and options and
replays the asks and tells with the recorded errors (nevergrad's own code on the same numbers), then checks the
digest of the genomes asked; if it differs (another nevergrad version), :attr:`NevergradOptimizer.resumed_exactly`
says so. The replay costs nevergrad's own time for the generations so far, no evaluation.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import random
import warnings

import numpy as np

from evolino.errors import EvolinoError
from evolino.optimizers.base import Optimizer
from evolino.optimizers.family import OptimizerFamily, finite_stand_in

__all__ = ["NevergradFamily", "NevergradOptimizer", "NevergradFailure"]


class NevergradFailure(EvolinoError):
    """nevergrad raised inside its own ask or tell."""

_SCALARS = (bool, int, float, str)
# nevergrad's CMA (NGOpt's choice for a few hundred genes and more) asks pycma for a new population whenever it has
# handed out the last one, told or not; pycma's TPA step-size rule, its default from 300 genes on
# (``cma.evolution_strategy.TPA_dimension``), cannot take that and stops the run ("Mean shift samples are expected
# but missing"). Inside nevergrad's calls pycma's threshold is raised beyond any genome, so it uses CSA, its rule
# below 300 genes; evolino's own cma and sep-cma are not affected.
_NO_TPA = 2**62


@functools.cache
def _registry() -> dict:
    """nevergrad's registry; importing nevergrad draws from the global random states, which are put back."""
    caller_numpy, caller_python = np.random.get_state(), random.getstate()  # noqa: NPY002
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import nevergrad as ng
    finally:
        np.random.set_state(caller_numpy)  # noqa: NPY002
        random.setstate(caller_python)
    return dict(ng.optimizers.registry)


def _configuration(entry) -> dict | None:
    """The configuration of a configured optimizer of the registry (None for a plain optimizer class)."""
    from nevergrad.optimization.base import ConfiguredOptimizer

    return dict(entry._config) if isinstance(entry, ConfiguredOptimizer) else None


class NevergradFamily(OptimizerFamily):
    """The optimizers of nevergrad's registry (``nevergrad.optimizers.registry``), ``nevergrad:NAME``."""

    prefix = "nevergrad"
    module = "nevergrad"

    def _names(self) -> list[str]:
        return sorted(_registry())

    def _options(self, name: str) -> dict[str, object]:
        options: dict[str, object] = {"sigma0": 0.3, "budget": None}
        for key, value in (_configuration(_registry()[name]) or {}).items():
            if key not in options and (value is None or isinstance(value, _SCALARS)):
                options[key] = value
        return options

    def _typed(self, name: str, known: dict) -> set[str]:
        """sigma0 and budget only: nevergrad's configurations take several types for one key (DE's crossover is a
        number or "twopoints", ...) and nevergrad checks them when the optimizer is built."""
        return {"sigma0", "budget"}

    def _make(self, name, x0, rng, popsize, blocks, options: dict) -> Optimizer:
        return NevergradOptimizer(x0, rng, popsize, blocks, optimizer=name, options=options)


class NevergradOptimizer(Optimizer):
    """One nevergrad optimizer behind evolino's ask/tell (see the module docstring).

    Parameters
    ----------
    x0, rng, popsize, blocks
        See :class:`evolino.optimizers.base.Optimizer`.
    optimizer : str
        The name in nevergrad's registry, e.g. "NGOpt".
    options : dict
        Checked options (:meth:`NevergradFamily.options` lists them).

    Attributes
    ----------
    resumed_exactly : bool
        False when this optimizer was unpickled and its replay did not ask the genomes the pickled one had asked.
    """

    def __init__(self, x0, rng, popsize, blocks=None, *, optimizer: str, options: dict | None = None) -> None:
        super().__init__(x0, rng, popsize, blocks)
        self.optimizer = optimizer
        self.name = f"nevergrad:{optimizer}"
        self.options = {**NevergradFamily()._options(optimizer), **(options or {})}
        sigma0, budget = self.options["sigma0"], self.options["budget"]
        if not (np.isfinite(sigma0) and sigma0 > 0):
            raise ValueError(f"sigma0 must be finite and > 0, got {sigma0}")
        if budget is not None and not (isinstance(budget, (int, np.integer)) and budget >= 1):
            raise ValueError(f"budget must be an integer >= 1 (or none), got {budget!r}")
        self.x0 = np.asarray(x0, dtype=np.float64).copy()
        self._start = copy.deepcopy(rng)  # what a replay starts from
        self._errors: list[np.ndarray] = []  # one per tell: all that a checkpoint needs besides the start
        self._digest = hashlib.sha256().hexdigest()
        self.resumed_exactly = True
        self._build()

    # ---------------------------------------------------------------------------------------------- building

    def _build(self) -> None:
        """nevergrad's parametrization and optimizer, and this optimizer's own global random states, all from the
        Generator ``self.rng`` (as it was when this optimizer was made)."""
        seeds = self.rng.integers(0, 2**32, size=3)
        self._numpy_global = np.random.RandomState(int(seeds[0])).get_state()  # noqa: NPY002  (nevergrad's own)
        self._python_global = random.Random(int(seeds[1])).getstate()
        self._pending: list | None = None  # the candidates of the last ask, not told yet
        entry = _registry()[self.optimizer]
        settings = {k: v for k, v in self.options.items() if k not in ("sigma0", "budget")}
        with self._own_global_random(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import nevergrad as ng

            parametrization = ng.p.Array(shape=(self.dimension,))  # standardised: genome = x0 + sigma0 * value
            parametrization.random_state = np.random.RandomState(int(seeds[2]))  # noqa: NPY002
            defaults = _configuration(entry) if settings else {}
            given = {k: v for k, v in settings.items() if k not in defaults or defaults[k] != v}  # for the message
            try:
                if settings:
                    entry = type(entry)(**{**defaults, **settings})
                self._ng = entry(parametrization=parametrization, budget=self.options["budget"],
                                 num_workers=self.popsize)
            except (TypeError, ValueError, AssertionError, NotImplementedError) as exc:
                why = f"{type(exc).__name__}: {exc}" if str(exc) else "nevergrad refuses them"
                raise ValueError(f"nevergrad:{self.optimizer} cannot be built with options {given or '{}'}, "
                                 f"population {self.popsize}: {why}") from None
            except ImportError as exc:
                raise ValueError(f"nevergrad:{self.optimizer} needs a package that is not installed: {exc}") from None

    @contextlib.contextmanager
    def _own_global_random(self):
        """Swap this optimizer's global ``numpy.random`` and ``random`` states in, and the caller's back after;
        meanwhile pycma chooses its CSA step-size rule at every dimension (see :data:`_NO_TPA`)."""
        import cma.evolution_strategy as pycma

        caller_numpy, caller_python = np.random.get_state(), random.getstate()  # noqa: NPY002
        np.random.set_state(self._numpy_global)  # noqa: NPY002
        random.setstate(self._python_global)
        tpa, pycma.TPA_dimension = pycma.TPA_dimension, _NO_TPA
        try:
            yield
        finally:
            pycma.TPA_dimension = tpa
            self._numpy_global = np.random.get_state()  # noqa: NPY002
            self._python_global = random.getstate()
            np.random.set_state(caller_numpy)  # noqa: NPY002
            random.setstate(caller_python)

    @contextlib.contextmanager
    def _library_failures(self):
        """A failure inside nevergrad becomes one line naming the optimizer and the generation."""
        try:
            yield
        except (RuntimeError, AssertionError, ValueError, IndexError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            hint = " (it may need a budget: --opt budget=N)" if self.options["budget"] is None else ""
            raise NevergradFailure(f"nevergrad:{self.optimizer} failed inside nevergrad at generation "
                                   f"{self.generation}: {type(exc).__name__}: {first}{hint}") from exc

    # ----------------------------------------------------------------------------------------------- ask/tell

    def ask(self) -> np.ndarray:
        """The next population (n, d); asking again before ``tell`` returns the same one."""
        if self._pending is None:
            with self._own_global_random(), warnings.catch_warnings(), self._library_failures():
                warnings.simplefilter("ignore")
                self._pending = [self._ng.ask() for _ in range(self.popsize)]
            self._digest = hashlib.sha256(self._digest.encode() + self._genomes().tobytes()).hexdigest()
        return self._genomes()

    def _genomes(self) -> np.ndarray:
        """The genomes of the pending candidates, x0 + sigma0 * value (n, d)."""
        values = np.array([np.asarray(c.value, dtype=np.float64) for c in self._pending])
        return self.x0[None] + float(self.options["sigma0"]) * values

    def _tell(self, genomes: np.ndarray, errors: np.ndarray) -> None:
        if self._pending is None or not np.array_equal(self._genomes(), genomes):
            raise ValueError("tell() expects exactly the genomes returned by the last ask()")
        losses = finite_stand_in(errors)
        with self._own_global_random(), warnings.catch_warnings(), self._library_failures():
            warnings.simplefilter("ignore")
            for candidate, loss in zip(self._pending, losses, strict=True):
                self._ng.tell(candidate, float(loss))
        self._pending = None
        self._errors.append(np.array(errors, dtype=np.float64))

    # ------------------------------------------------------------------------------------------- checkpoints

    def __getstate__(self) -> dict:
        kept = ("dimension", "popsize", "blocks", "best_genome", "best_error", "generation", "evaluations",
                "optimizer", "name", "options", "x0", "_start", "_errors", "_digest", "rng")
        state = {key: self.__dict__[key] for key in kept}
        state["pending"] = self._pending is not None
        return state

    def __setstate__(self, state: dict) -> None:
        pending = state.pop("pending")
        self.__dict__.update(state)
        counters = {k: state[k] for k in ("best_genome", "best_error", "generation", "evaluations", "rng",
                                          "_digest")}
        recorded = list(self._errors)
        self.rng = copy.deepcopy(self._start)
        self._errors, self._digest = [], hashlib.sha256().hexdigest()
        self._build()
        for errors in recorded:
            genomes = self.ask()
            self._tell(genomes, errors)
        if pending:
            self.ask()
        self.resumed_exactly = self._digest == counters["_digest"]
        self.__dict__.update(counters)
