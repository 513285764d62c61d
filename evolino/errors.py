"""Exceptions that the CLI reports in one line with exit status 2 (the user can fix them)."""

from __future__ import annotations

import importlib

__all__ = ["EvolinoError", "ConfigError", "ClusterError", "NotFittedError", "RunError", "MissingExtraError",
           "missing_extra_line", "require_extra"]


class EvolinoError(Exception):
    """Base class of errors caused by what the user asked for, not by a bug."""


class ConfigError(EvolinoError, ValueError):
    """Invalid configuration: unknown names or keys, wrong types, out-of-range values."""


class ClusterError(EvolinoError):
    """A Ray cluster could not be reached, authenticated against, or used."""


class NotFittedError(EvolinoError, AttributeError):
    """A method that needs a fitted estimator (``predict``, ``generate``, ``score``) was called before ``fit``."""


class RunError(EvolinoError):
    """A run cannot start or go on as asked: its folder holds another run, is not writable or not trusted, or the
    disk is full (what is intact and how to go on is in the message)."""


class MissingExtraError(EvolinoError, ImportError):
    """A feature needs a package of an optional extra that is not installed (the message names the extra)."""


def missing_extra_line(module: str, extra: str, feature: str) -> str:
    """The one line that says a feature's package is missing and which extra installs it."""
    return f'{feature} needs {module}, which is not installed: pip install "evolino[{extra}]"'


def require_extra(module: str, extra: str, feature: str) -> None:
    """Import ``module`` or raise :class:`MissingExtraError`: "``feature`` needs ``module``: pip install
    "evolino[``extra``]"". Extras keep a plain install small (no Ray, JAX, Optuna or mkdocs unless asked for)."""
    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(missing_extra_line(module, extra, feature)) from None
