"""Families of optimizers from other libraries, named ``PREFIX:NAME`` (``evosax:SNES``, ``nevergrad:NGOpt``).

A family stands for every optimizer of one library behind the one ask/tell interface of
:class:`evolino.optimizers.base.Optimizer`; its library is an optional extra (``pip install "evolino[evosax]"``), so
the family imports it only when asked for a name, and says which extra adds it when it is missing. The registry of
:mod:`evolino.optimizers` sends every ``PREFIX:...`` name to its family.

Options are checked here the same way for every family: keys against the family's list (with its defaults), and
values against the type of each default (a number for a float, an integer for an int, true or false for a bool, a
string for a str; a default of None, "the library decides", takes any value and leaves the check to the library, as
do the options a family names in :meth:`OptimizerFamily._typed`).
"""

from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Sequence

import numpy as np

from evolino.errors import MissingExtraError, missing_extra_line
from evolino.optimizers.base import Optimizer

__all__ = ["OptimizerFamily", "MissingExtra", "finite_stand_in"]

_TYPE_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


class MissingExtra(MissingExtraError, ValueError):
    """The library of a family is not installed (also a ValueError, so that config validation names its key)."""


def finite_stand_in(errors: np.ndarray) -> np.ndarray:
    """Errors with every non-finite one (a diverged network) replaced by the largest finite error of the generation,
    or by 1.0 when none is finite: libraries that use the error values themselves (not only their ranks) get no
    infinities, and a diverged genome ties with the worst one."""
    errors = np.asarray(errors, dtype=np.float64)
    finite = np.isfinite(errors)
    worst = float(errors[finite].max()) if finite.any() else 1.0
    return np.where(finite, errors, worst)


def accepts(kind: type, value: object) -> bool:
    """True when an option of type ``kind`` (bool, int, float, str, dict, NoneType, ...) may take ``value``: numpy
    scalars count as their Python kinds, a bool is not a number, an int is a float."""
    if kind is bool:
        return isinstance(value, (bool, np.bool_))
    if isinstance(value, (bool, np.bool_)):  # True is an int to Python, not to a user
        return False
    if kind is int:
        return isinstance(value, (int, np.integer))
    if kind is float:
        return isinstance(value, (int, float, np.integer, np.floating))
    return value is None if kind is type(None) else isinstance(value, kind)


class OptimizerFamily:
    """Base class of a family: names, options with defaults, checks and construction of ``PREFIX:NAME``.

    Subclasses set ``prefix`` (also the name of the extra) and ``module`` (the library's import name) and implement
    :meth:`_names`, :meth:`_options` and :meth:`_make`.
    """

    prefix = ""
    module = ""
    what = "optimizer"  # the library's word for its members, in messages

    def available(self) -> bool:
        """Whether the library is installed (without importing it)."""
        return importlib.util.find_spec(self.module) is not None

    def missing_line(self) -> str:
        return missing_extra_line(self.module, self.prefix, f"{self.prefix}:NAME")

    def require(self) -> None:
        if not self.available():
            raise MissingExtra(self.missing_line())

    def names(self) -> list[str]:
        """Every member's name (without the prefix)."""
        self.require()
        return self._names()

    def check_name(self, name: str) -> None:
        self.require()
        names = self._names()
        if name in names:
            return
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(f'{self.prefix}:{c}' for c in close)}? " if close else ""
        listing = ", ".join(names) if len(names) <= 60 else \
            f"python -m evolino optimizers lists all {len(names)}"
        raise ValueError(f"unknown {self.prefix} {self.what} {name!r}; {hint}valid: {listing}")

    def options(self, name: str) -> dict[str, object]:
        """The options ``name`` takes, with their defaults (None: the library's own choice)."""
        self.check_name(name)
        return self._options(name)

    def check_options(self, name: str, options: dict) -> None:
        known = self.options(name)
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ValueError(f"unknown option(s) {', '.join(unknown)} for optimizer '{self.prefix}:{name}'; "
                             f"valid: {', '.join(sorted(known)) or 'none'}")
        typed = self._typed(name, known)
        for key, value in options.items():
            if key not in typed:
                continue
            default = known[key]
            kind = type(default)
            if default is None or kind not in _TYPE_WORDS:
                continue
            if not accepts(kind, value):
                raise ValueError(f"option {key} of optimizer '{self.prefix}:{name}' must be {_TYPE_WORDS[kind]}, "
                                 f"got {value!r}")

    def make(self, name: str, x0: np.ndarray, rng: np.random.Generator, popsize: int,
             blocks: Sequence[slice] | None = None, /, **options) -> Optimizer:
        self.check_options(name, options)
        return self._make(name, x0, rng, popsize, blocks, options)

    # ----------------------------------------------------------------------------------------- for subclasses

    def _names(self) -> list[str]:
        raise NotImplementedError

    def _options(self, name: str) -> dict[str, object]:
        raise NotImplementedError

    def _make(self, name, x0, rng, popsize, blocks, options: dict) -> Optimizer:
        raise NotImplementedError

    def _typed(self, name: str, known: dict) -> set[str]:
        """The options whose values are checked against the type of their default (all, unless the library
        takes several types for some, which it then checks itself)."""
        return set(known)
