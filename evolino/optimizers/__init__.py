"""Optimizers behind one ask/tell interface, selectable by name.

``make_optimizer(name, x0, rng, popsize, blocks, **options)`` builds one; unknown names and unknown option keys raise
``ValueError`` with the valid choices. Options are the keyword arguments of the optimizer class's ``__init__``.
"""

from __future__ import annotations

import inspect
import types
import typing

import numpy as np

from evolino.optimizers.base import Optimizer
from evolino.optimizers.cmaes import CMAES, SepCMAES
from evolino.optimizers.deap_es import EvolutionStrategy, GeneticAlgorithm
from evolino.optimizers.esp import ESP
from evolino.optimizers.guessing import RandomGuessing

__all__ = ["Optimizer", "check_options", "make_optimizer", "optimizer_names", "optimizer_options", "register_optimizer"]

_REGISTRY: dict[str, type[Optimizer]] = {}
_POSITIONAL = ("self", "x0", "rng", "popsize", "blocks")


def register_optimizer(cls: type[Optimizer]) -> type[Optimizer]:
    """Make an :class:`Optimizer` subclass available under ``cls.name``."""
    _REGISTRY[cls.name] = cls
    return cls


for _cls in (CMAES, SepCMAES):
    register_optimizer(_cls)
for _cls in (ESP, EvolutionStrategy, GeneticAlgorithm, RandomGuessing):
    register_optimizer(_cls)


def optimizer_names() -> list[str]:
    return sorted(_REGISTRY)


def optimizer_options(name: str) -> dict[str, object]:
    """The options an optimizer accepts, with their defaults."""
    cls = _lookup(name)
    params = inspect.signature(cls.__init__).parameters
    return {k: p.default for k, p in params.items() if k not in _POSITIONAL and p.kind == p.POSITIONAL_OR_KEYWORD}


def _lookup(name: str) -> type[Optimizer]:
    if name not in _REGISTRY:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(optimizer_names())}")
    return _REGISTRY[name]


_TYPE_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string", dict: "a table",
               type(None): "none"}


def _accepts(kind: type, value: object) -> bool:
    if kind is bool:
        return isinstance(value, (bool, np.bool_))
    if isinstance(value, (bool, np.bool_)):  # True is an int to Python, not to a user
        return False
    if kind is int:
        return isinstance(value, (int, np.integer))
    if kind is float:
        return isinstance(value, (int, float, np.integer, np.floating))
    return value is None if kind is type(None) else isinstance(value, kind)


def check_options(name: str, options: dict) -> None:
    """Raise ``ValueError`` if ``options`` has a key that optimizer ``name`` does not take (naming the valid keys) or
    a value of the wrong type for it (from the type hints of the optimizer's ``__init__``). Ranges are the
    optimizer's own checks."""
    known = optimizer_options(name)
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)} for optimizer {name!r}; "
                         f"valid: {', '.join(sorted(known)) or 'none'}")
    hints = typing.get_type_hints(_lookup(name).__init__)
    for key, value in options.items():
        hint = hints.get(key)
        kinds = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        if not all(kind in _TYPE_WORDS for kind in kinds):
            continue  # an annotation this check does not know: the optimizer checks the value itself
        if not any(_accepts(kind, value) for kind in kinds):
            expected = " or ".join(_TYPE_WORDS[kind] for kind in kinds)
            raise ValueError(f"option {key} of optimizer {name!r} must be {expected}, got {value!r}")


def make_optimizer(name: str, x0: np.ndarray, rng: np.random.Generator, popsize: int,
                   blocks=None, **options) -> Optimizer:
    """Build the optimizer ``name``; ``options`` are validated against its keyword arguments."""
    check_options(name, options)
    return _lookup(name)(x0, rng, popsize, blocks, **options)
