"""Every evosax strategy (evosax 0.3, JAX) as ``evosax:NAME``: SNES, xNES, Open_ES, PGPE, ARS, DES, CMA_ES, ...

The strategy only asks and tells: evolino evaluates the genomes (its own kernels, its Ray backend) and reports the
errors, which evosax minimises like evolino. Arithmetic is float64 (every call runs inside ``jax.enable_x64``, so no
global JAX setting changes), the precision of evolino's other optimizers.

Randomness: every JAX key is drawn from the run's ``numpy.random.Generator`` (two 32-bit words, the raw threefry
key) just before the call that uses it, one for each ask and one for each tell; nothing else is random, so the same
seed gives the same run, and no global random state is touched.

Options (``--opt KEY=VALUE``; ``python -m evolino optimizers`` lists each strategy's with its defaults):

* ``sigma0``: the initial step size (the trainer passes ``init_scale``): the strategy's ``std_init`` where it has
  one, else its ``std_schedule`` (a constant), else the spread of the initial population x0 + sigma0 N(0, I) of a
  population-based strategy (DE, PSO, the GAs), else the spread of RandomSearch's samples; GradientlessDescent has
  no step size and ignores it.
* ``optimizer``, ``learning_rate``: the optax optimizer of the strategies that follow a search gradient ("sgd",
  "adam" or "clipup", whose maximal velocity is twice the learning rate); the defaults are the strategy's own
  (ESMC's decaying Adam rate shows as None).
* the strategy's scalar constructor arguments (``use_antithetic_sampling``, ``subspace_dims``, ...) and scalar
  fields of its ``Params`` (``c_std``, ``lr_std``, ``crossover_rate``, ...); a default of None is one that evosax
  computes from the dimension and population.

Checkpoints hold the strategy's state as arrays (its pytree's leaves by path, numpy float64 / int / uint32), not the
library's objects: unpickling builds the strategy again from its name and options, takes the state's structure from
``jax.eval_shape`` of its ``init`` and puts the arrays back, so the continued run is bit for bit the uninterrupted
one.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from evolino.optimizers.base import Optimizer
from evolino.optimizers.family import OptimizerFamily, finite_stand_in

__all__ = ["EvosaxFamily", "EvosaxStrategy", "DEFAULT_OPTAX"]

# The optax optimizer each gradient-following strategy is built with in evosax 0.3.2: (kind, learning rate); None:
# a schedule (ESMC: Adam from 1e-2, decaying by 0.98 every 10 steps). tests/test_evosax_nevergrad.py checks the table
# against the library's defaults.
DEFAULT_OPTAX = {
    "ARS": ("adam", 1e-3), "ASEBO": ("adam", 1e-3), "DES": ("sgd", 1.0), "ESMC": ("adam", None),
    "GuidedES": ("sgd", 1e-3), "NoiseReuseES": ("adam", 1e-3), "Open_ES": ("sgd", 1e-3), "PGPE": ("clipup", 1e-2),
    "PersistentES": ("adam", 1e-3), "SNES": ("sgd", 1.0), "SV_Open_ES": ("sgd", 1e-3), "SimpleES": ("sgd", 1.0),
    "xNES": ("sgd", 1.0),
}
OPTAX_KINDS = ("sgd", "adam", "clipup")
# Strategies whose shipped (learned) weights are float32 and fail under float64: they run in float32.
FLOAT32 = frozenset({"EvoTF_ES"})
# Constructor arguments evosax requires without a default, and evolino's default for them.
_REQUIRED = {"num_populations": 2}
# Constructor arguments that are not options: the problem, and callables or tables of the library's own.
_NOT_OPTIONS = {"self", "population_size", "solution", "fitness_shaping_fn", "metrics_fn", "optimizer",
                "std_schedule", "sampling_fn", "params", "params_path", "kernel", "fitness_mapping", "alpha_schedule",
                "mutation_feature_encoding", "model_config", "solution_config", "fitness_config", "distrib_config"}
_SCALARS = (bool, int, float, str)


def _jax():
    import jax

    return jax


@functools.cache
def _algorithms() -> dict:
    from evosax.algorithms import algorithms

    return dict(algorithms)


def _population_based(cls) -> bool:
    from evosax.algorithms.population_based.base import PopulationBasedAlgorithm

    return issubclass(cls, PopulationBasedAlgorithm)


def _subpopulations(cls) -> bool:
    return "num_populations" in inspect.signature(cls.__init__).parameters


def _constructor_defaults(cls) -> dict[str, object]:
    found = {}
    for key, p in inspect.signature(cls.__init__).parameters.items():
        if key in _NOT_OPTIONS or p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            continue
        if key in _REQUIRED:
            found[key] = _REQUIRED[key]
        elif p.default is None or isinstance(p.default, _SCALARS):
            found[key] = p.default
    return found


def _scalar(value) -> object:
    """A Params field's value as a Python scalar, or ``_SKIP`` when it is not a scalar (weights, tables)."""
    if isinstance(value, _SCALARS):
        return value
    array = np.asarray(value) if hasattr(value, "shape") else None
    if array is None or array.shape != ():
        return _SKIP
    if array.dtype == np.bool_:
        return bool(array)
    return int(array) if np.issubdtype(array.dtype, np.integer) else float(array)


_SKIP = object()


def _build(cls, name: str, popsize: int, dimension: int, ctor: dict, x0=None, sigma0: float = 1.0,
           optimizer: str | None = None, learning_rate: float | None = None):
    """The evosax strategy object for ``popsize`` genomes of ``dimension`` genes (float64 arrays)."""
    jax = _jax()
    import jax.numpy as jnp
    import optax

    kwargs = dict(ctor)
    size = popsize // kwargs["num_populations"] if _subpopulations(cls) else popsize
    parameters = inspect.signature(cls.__init__).parameters
    if "optimizer" in parameters and (optimizer is not None or learning_rate is not None):
        kind, rate = DEFAULT_OPTAX.get(name, ("sgd", 1e-3))
        kind, rate = optimizer or kind, learning_rate if learning_rate is not None else (rate or 1e-2)
        if kind == "clipup":
            from evosax.core.optimizer import clipup

            kwargs["optimizer"] = clipup(learning_rate=rate, max_velocity=2 * rate)
        else:
            kwargs["optimizer"] = getattr(optax, kind)(learning_rate=rate)
    if "std_schedule" in parameters:
        kwargs["std_schedule"] = optax.constant_schedule(float(sigma0))
    if "sampling_fn" in parameters:
        mean = jnp.zeros(dimension) if x0 is None else jnp.asarray(x0)
        scale = float(sigma0)
        kwargs["sampling_fn"] = lambda key: mean + scale * jax.random.normal(key, mean.shape)
    with jax.enable_x64(name not in FLOAT32):
        return cls(population_size=size, solution=jnp.zeros(dimension), **kwargs)


@functools.cache
def _strategy_options(name: str) -> dict[str, object]:
    """The options of strategy ``name`` with their defaults (computed once per process: it builds the strategy)."""
    cls = _algorithms()[name]
    options: dict[str, object] = {"sigma0": 0.3}
    if "optimizer" in inspect.signature(cls.__init__).parameters:
        kind, rate = DEFAULT_OPTAX.get(name, (None, None))
        options.update(optimizer=kind, learning_rate=rate)
    ctor = _constructor_defaults(cls)
    options.update(ctor)
    jax = _jax()
    fields = []
    for popsize, dimension in ((16, 10), (24, 13)):  # defaults that change with the problem show as None
        strategy = _build(cls, name, popsize, dimension, ctor)
        with jax.enable_x64(name not in FLOAT32):
            params = strategy.default_params
        fields.append({key: _scalar(getattr(params, key)) for key in params.__dataclass_fields__})
    for key, value in fields[0].items():
        if key == "std_init" or value is _SKIP or key in options:
            continue
        options[key] = value if value == fields[1][key] else None
    return options


_BUILT: dict[tuple, object] = {}


def _shared_build(cls, name, popsize, dimension, ctor, x0, sigma0, optimizer, learning_rate):
    """:func:`_build`, shared between optimizers of the same strategy, sizes and options: evosax compiles its
    ask and tell once per strategy object (a static argument of ``jax.jit``), and the objects hold no state."""
    parameters = inspect.signature(cls.__init__).parameters
    uses_x0 = "sampling_fn" in parameters
    uses_sigma0 = uses_x0 or "std_schedule" in parameters
    key = (name, popsize, dimension, tuple(sorted(ctor.items())), float(sigma0) if uses_sigma0 else None, optimizer,
           learning_rate, np.asarray(x0).tobytes() if uses_x0 else None)
    if key not in _BUILT:
        if len(_BUILT) >= 64:
            _BUILT.pop(next(iter(_BUILT)))
        _BUILT[key] = _build(cls, name, popsize, dimension, ctor, x0=x0, sigma0=sigma0, optimizer=optimizer,
                             learning_rate=learning_rate)
    return _BUILT[key]


class EvosaxFamily(OptimizerFamily):
    """The evosax strategies (``evosax.algorithms.algorithms``), ``evosax:NAME``."""

    prefix = "evosax"
    module = "evosax"
    what = "strategy"

    def _names(self) -> list[str]:
        return sorted(_algorithms())

    def _options(self, name: str) -> dict[str, object]:
        return dict(_strategy_options(name))

    def _make(self, name, x0, rng, popsize, blocks, options: dict) -> Optimizer:
        return EvosaxStrategy(x0, rng, popsize, blocks, strategy=name, options=options)


class EvosaxStrategy(Optimizer):
    """One evosax strategy behind evolino's ask/tell (see the module docstring).

    Parameters
    ----------
    x0, rng, popsize, blocks
        See :class:`evolino.optimizers.base.Optimizer`; ``x0`` is the initial mean (or the centre of the initial
        population).
    strategy : str
        The evosax name, e.g. "SNES".
    options : dict
        Checked options (:meth:`EvosaxFamily.options` lists them).
    """

    def __init__(self, x0, rng, popsize, blocks=None, *, strategy: str, options: dict | None = None) -> None:
        super().__init__(x0, rng, popsize, blocks)
        self.strategy = strategy
        self.name = f"evosax:{strategy}"
        defaults = _strategy_options(strategy)
        self.options = {**defaults, **(options or {})}
        self.x0 = np.asarray(x0, dtype=np.float64).copy()
        self.sigma0 = float(self.options["sigma0"])
        if not (np.isfinite(self.sigma0) and self.sigma0 > 0):
            raise ValueError(f"sigma0 must be finite and > 0, got {self.sigma0}")
        kind = self.options.get("optimizer")
        if kind is not None and kind not in OPTAX_KINDS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTAX_KINDS)}, got {kind!r}")
        rate = self.options.get("learning_rate")
        if rate is not None and not rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {rate}")
        cls = _algorithms()[strategy]
        subpopulations = self.options.get("num_populations")
        if _subpopulations(cls) and not (isinstance(subpopulations, int) and subpopulations >= 1
                                         and self.popsize % subpopulations == 0):
            raise ValueError(f"population {self.popsize} must be a multiple of num_populations={subpopulations}")
        self._state = None  # the strategy's state (a pytree of JAX arrays); None before the first ask
        self._pending: np.ndarray | None = None
        self._setup()

    # ---------------------------------------------------------------------------------------------- building

    def _setup(self) -> None:
        """The library objects, built from name and options alone (also after unpickling)."""
        cls = _algorithms()[self.strategy]
        ctor = {k: self.options[k] for k in _constructor_defaults(cls)}
        self._cls = cls
        try:
            self._algo = _shared_build(cls, self.strategy, self.popsize, self.dimension, ctor, x0=self.x0,
                                       sigma0=self.sigma0, optimizer=self._optax_kind(),
                                       learning_rate=self._optax_rate())
        except AssertionError as exc:  # evosax asserts its conditions (an even population, ...)
            raise ValueError(f"evosax:{self.strategy} refuses population {self.popsize} with these options"
                             + (f": {exc}" if str(exc) else "")) from None
        import jax.numpy as jnp

        with self._precision():
            params = self._algo.default_params
            changes = {}
            for key in params.__dataclass_fields__:
                value = self.sigma0 if key == "std_init" else self.options.get(key)
                if value is None or key not in self.options and key != "std_init":
                    continue
                old = getattr(params, key)
                changes[key] = jnp.asarray(value, dtype=old.dtype) if hasattr(old, "dtype") else type(old)(value)
            self._params = params.replace(**changes)

    def _optax_kind(self) -> str | None:
        chosen = self.options.get("optimizer")
        default = DEFAULT_OPTAX.get(self.strategy, (None, None))
        rate = self.options.get("learning_rate")
        return chosen if (chosen, rate) != default else None

    def _optax_rate(self) -> float | None:
        chosen = self.options.get("optimizer")
        rate = self.options.get("learning_rate")
        return rate if (chosen, rate) != DEFAULT_OPTAX.get(self.strategy, (None, None)) else None

    def _precision(self):
        """float64 arithmetic for this strategy's calls (float32 for those of FLOAT32)."""
        return _jax().enable_x64(self.strategy not in FLOAT32)

    def _key(self):
        """A fresh JAX key (raw threefry, two uint32 words) drawn from the run's Generator."""
        import jax.numpy as jnp

        return jnp.asarray(self.rng.integers(0, 2**32, size=2, dtype=np.uint32))

    def _initial_means(self) -> np.ndarray:
        k = self.options["num_populations"]
        return self.x0[None] + self.sigma0 * self.rng.standard_normal((k, self.dimension))

    # ----------------------------------------------------------------------------------------------- ask/tell

    def ask(self) -> np.ndarray:
        """The next population (n, d); asking again before ``tell`` returns the same one."""
        if self._pending is not None:
            return self._pending.copy()
        import jax.numpy as jnp

        population_based = _population_based(self._cls)
        with self._precision():
            if population_based and self._state is None:  # the strategy starts from an evaluated population
                genomes = self.x0[None] + self.sigma0 * self.rng.standard_normal((self.popsize, self.dimension))
            else:
                if self._state is None:
                    mean = self._initial_means() if _subpopulations(self._cls) else self.x0
                    self._state = self._algo.init(self._key(), jnp.asarray(mean), self._params)
                population, self._state = self._algo.ask(self._key(), self._state, self._params)
                genomes = np.asarray(population, dtype=np.float64).reshape(self.popsize, self.dimension)
        self._pending = np.array(genomes, dtype=np.float64)
        return self._pending.copy()

    def _tell(self, genomes: np.ndarray, errors: np.ndarray) -> None:
        if self._pending is None or not np.array_equal(self._pending, genomes):
            raise ValueError("tell() expects exactly the genomes returned by the last ask()")
        import jax.numpy as jnp

        with self._precision():
            fitness = jnp.asarray(finite_stand_in(errors))
            population = jnp.asarray(genomes)
            if _subpopulations(self._cls):
                population = population.reshape(self.options["num_populations"], -1, self.dimension)
                fitness = fitness.reshape(self.options["num_populations"], -1)
            if self._state is None:
                self._state = self._algo.init(self._key(), population, fitness, self._params)
            else:
                self._state, _ = self._algo.tell(self._key(), population, fitness, self._state, self._params)
        self._pending = None

    @property
    def step_size(self) -> float | None:
        """The mean of the strategy's ``std`` (a number or one per gene), when it has one."""
        std = getattr(self._state, "std", None)
        return None if std is None else float(np.mean(np.asarray(std)))

    # ------------------------------------------------------------------------------------------- checkpoints

    @property
    def _float(self):
        return np.float32 if self.strategy in FLOAT32 else np.float64

    def _template(self):
        """The state's structure (shapes and dtypes, no arithmetic) from ``jax.eval_shape`` of ``init``."""
        jax = _jax()
        import jax.numpy as jnp

        key = jax.ShapeDtypeStruct((2,), jnp.uint32)
        with self._precision():
            if _population_based(self._cls):
                population = jax.ShapeDtypeStruct((self.popsize, self.dimension), self._float)
                fitness = jax.ShapeDtypeStruct((self.popsize,), self._float)
                return jax.eval_shape(self._algo.init, key, population, fitness, self._params)
            shape = (self.options["num_populations"], self.dimension) if _subpopulations(self._cls) else \
                (self.dimension,)
            return jax.eval_shape(self._algo.init, key, jax.ShapeDtypeStruct(shape, self._float), self._params)

    def __getstate__(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in ("_algo", "_params", "_cls", "_state")}
        if self._state is not None:
            jax = _jax()
            leaves = jax.tree_util.tree_flatten_with_path(self._state)[0]
            state["_state"] = {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}
        else:
            state["_state"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        arrays = state.pop("_state")
        self.__dict__.update(state)
        self._setup()
        self._state = None
        if arrays is None:
            return
        jax = _jax()
        import jax.numpy as jnp

        template = self._template()
        paths, treedef = jax.tree_util.tree_flatten_with_path(template)
        names = [jax.tree_util.keystr(path) for path, _ in paths]
        if sorted(names) != sorted(arrays):
            raise ValueError(f"the checkpointed state of evosax:{self.strategy} does not fit this evosax version "
                             f"(fields {sorted(arrays)}, expected {sorted(names)})")
        leaves = []
        for name, (_, spec) in zip(names, paths, strict=True):
            array = arrays[name]
            if array.shape != spec.shape:
                raise ValueError(f"the checkpointed state of evosax:{self.strategy} has {name} of shape "
                                 f"{array.shape}, expected {spec.shape}")
            leaves.append(array)
        with self._precision():
            self._state = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(a) for a in leaves])

