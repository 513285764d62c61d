"""Exceptions that the CLI reports in one line with exit status 2 (the user can fix them)."""

from __future__ import annotations

__all__ = ["EvolinoError", "ConfigError", "ClusterError", "NotFittedError"]


class EvolinoError(Exception):
    """Base class of errors caused by what the user asked for, not by a bug."""


class ConfigError(EvolinoError, ValueError):
    """Invalid configuration: unknown names or keys, wrong types, out-of-range values."""


class ClusterError(EvolinoError):
    """A Ray cluster could not be reached, authenticated against, or used."""


class NotFittedError(EvolinoError, AttributeError):
    """A method that needs a fitted estimator (``predict``, ``generate``, ``score``) was called before ``fit``."""
