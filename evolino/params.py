"""scikit-learn's parameter protocol for evolino's estimators, without depending on scikit-learn.

An estimator keeps every argument of its ``__init__`` as an attribute of the same name and does nothing else there
(checks run in ``fit``). :class:`ParamsMixin` then derives from the signature of ``__init__``:

* ``get_params(deep=True) -> dict``: those attributes by name;
* ``set_params(**params) -> self``: set some of them, refusing unknown names in one line;
* a ``repr`` that shows the parameters that differ from their defaults.

That is all ``sklearn.base.clone`` needs: ``clone(estimator)`` gives an unfitted estimator with the same
parameters. Nothing that controls how a run is carried out (callbacks, checkpoint folders, signal handling) belongs
among the parameters: those are arguments of ``fit``.
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["ParamsMixin"]


class ParamsMixin:
    """``get_params`` / ``set_params`` / ``repr`` from the signature of ``__init__`` (see the module docstring)."""

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [name for name, p in signature.parameters.items()
                if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters by name (``deep`` is accepted for scikit-learn; there are no nested
        estimators)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> ParamsMixin:
        """Set constructor parameters by name; returns the estimator. Unknown names are a ValueError."""
        known = self._param_names()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"{type(self).__name__} has no parameter {', '.join(map(repr, unknown))}; "
                             f"known: {', '.join(known)}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {name: p.default for name, p in inspect.signature(type(self).__init__).parameters.items()}
        changed = []
        for name, value in self.get_params().items():
            default = defaults.get(name, inspect.Parameter.empty)
            try:
                same = default is not inspect.Parameter.empty and bool(value == default)
            except (TypeError, ValueError):  # arrays and the like compare element-wise
                same = False
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"
