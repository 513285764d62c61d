"""Optimizers behind one ask/tell interface, selectable by name.

``make_optimizer(name, x0, rng, popsize, blocks, **options)`` builds one; unknown names and unknown option keys raise
``ValueError`` with the valid choices. Options are the keyword arguments of the optimizer class's ``__init__``.

Besides evolino's own optimizers (:func:`optimizer_names`), every optimizer of two libraries is available under
``PREFIX:NAME`` (:mod:`evolino.optimizers.family`): ``evosax:NAME`` for the evosax strategies
(:mod:`evolino.optimizers.evosax_strategies`, extra ``evolino[evosax]``) and ``nevergrad:NAME`` for nevergrad's
optimizers (:mod:`evolino.optimizers.nevergrad_optimizers`, extra ``evolino[nevergrad]``); a name of a family whose
library is missing raises ``ValueError`` naming the extra.
"""

from __future__ import annotations

import inspect
import types
import typing

import numpy as np

from evolino.optimizers.base import Optimizer
from evolino.optimizers.cmaes import CMAES, PycmaSepCMAES
from evolino.optimizers.deap_es import EvolutionStrategy, GeneticAlgorithm
from evolino.optimizers.esp import ESP
from evolino.optimizers.evosax_strategies import EvosaxFamily
from evolino.optimizers.family import OptimizerFamily, accepts
from evolino.optimizers.guessing import RandomGuessing
from evolino.optimizers.nevergrad_optimizers import NevergradFamily
from evolino.optimizers.sep_cmaes import SepCMAES

__all__ = ["Optimizer", "OptimizerFamily", "check_name", "check_options", "families", "make_optimizer",
           "optimizer_names", "optimizer_options", "register_family", "register_optimizer"]

_REGISTRY: dict[str, type[Optimizer]] = {}
_FAMILIES: dict[str, OptimizerFamily] = {}
_POSITIONAL = ("self", "x0", "rng", "popsize", "blocks")


def register_optimizer(cls: type[Optimizer]) -> type[Optimizer]:
    """Make an :class:`Optimizer` subclass available under ``cls.name``."""
    _REGISTRY[cls.name] = cls
    return cls


def register_family(family: OptimizerFamily) -> OptimizerFamily:
    """Make every member of ``family`` available as ``family.prefix:NAME``."""
    _FAMILIES[family.prefix] = family
    return family


for _cls in (CMAES, PycmaSepCMAES, SepCMAES):
    register_optimizer(_cls)
for _cls in (ESP, EvolutionStrategy, GeneticAlgorithm, RandomGuessing):
    register_optimizer(_cls)
for _family in (EvosaxFamily(), NevergradFamily()):
    register_family(_family)


def optimizer_names() -> list[str]:
    """evolino's own optimizers (the families' members are listed by :func:`families`)."""
    return sorted(_REGISTRY)


def families() -> dict[str, OptimizerFamily]:
    """The families of library optimizers by prefix (``evosax``, ``nevergrad``)."""
    return dict(_FAMILIES)


def _family(name: str) -> tuple[OptimizerFamily, str] | None:
    prefix, sep, member = name.partition(":")
    if not sep:
        return None
    if prefix not in _FAMILIES:
        raise ValueError(f"unknown optimizer family {prefix!r} in {name!r}; families: "
                         f"{', '.join(f'{p}:NAME' for p in sorted(_FAMILIES))}")
    return _FAMILIES[prefix], member


def check_name(name: str) -> None:
    """Raise ``ValueError`` naming the valid choices (or the missing extra) unless ``name`` is an optimizer."""
    found = _family(name)
    if found is not None:
        found[0].check_name(found[1])
    else:
        _lookup(name)


def optimizer_options(name: str) -> dict[str, object]:
    """The options an optimizer accepts, with their defaults."""
    found = _family(name)
    if found is not None:
        return found[0].options(found[1])
    cls = _lookup(name)
    params = inspect.signature(cls.__init__).parameters
    return {k: p.default for k, p in params.items() if k not in _POSITIONAL and p.kind == p.POSITIONAL_OR_KEYWORD}


def _lookup(name: str) -> type[Optimizer]:
    if name not in _REGISTRY:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(optimizer_names())}, or "
                         f"{' or '.join(f'{p}:NAME' for p in sorted(_FAMILIES))} (python -m evolino optimizers "
                         "lists them)")
    return _REGISTRY[name]


_TYPE_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string", dict: "a table",
               type(None): "none"}


def check_options(name: str, options: dict) -> None:
    """Raise ``ValueError`` if ``options`` has a key that optimizer ``name`` does not take (naming the valid keys) or
    a value of the wrong type for it (from the type hints of the optimizer's ``__init__``). Ranges are the
    optimizer's own checks."""
    found = _family(name)
    if found is not None:
        found[0].check_options(found[1], options)
        return
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
        if not any(accepts(kind, value) for kind in kinds):
            expected = " or ".join(_TYPE_WORDS[kind] for kind in kinds)
            raise ValueError(f"option {key} of optimizer {name!r} must be {expected}, got {value!r}")


def make_optimizer(name: str, x0: np.ndarray, rng: np.random.Generator, popsize: int,
                   blocks=None, /, **options) -> Optimizer:
    """Build the optimizer ``name``; ``options`` are validated against its keyword arguments (positional-only
    parameters, so that an option may be called ``popsize``, as nevergrad's DE's is)."""
    found = _family(name)
    if found is not None:
        return found[0].make(found[1], x0, rng, popsize, blocks, **options)
    check_options(name, options)
    return _lookup(name)(x0, rng, popsize, blocks, **options)
