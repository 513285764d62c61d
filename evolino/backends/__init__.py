"""Evaluation backends: turn a population into errors, in-process or fanned out.

An evaluator is a context manager with ``evaluate(genomes) -> errors`` that returns exactly what
``problem.evaluate(genomes)`` returns, whatever the backend.
"""

from __future__ import annotations

import inspect

from evolino.backends.serial import SerialEvaluator
from evolino.errors import require_extra

__all__ = ["SerialEvaluator", "make_evaluator", "backend_names"]

BACKENDS = ("serial", "ray")


def backend_names() -> list[str]:
    return list(BACKENDS)


def make_evaluator(name: str, problem, **options):
    """Build the evaluator ``name`` for ``problem`` (an object with ``evaluate(genomes) -> errors``)."""
    if name == "serial":
        if options:
            raise ValueError(f"the serial backend takes no options, got {', '.join(sorted(options))}")
        return SerialEvaluator(problem)
    if name == "ray":
        require_extra("ray", "ray", "the ray backend")
        from evolino.backends.ray import RayEvaluator  # Ray is imported only when asked for

        known = [p for p in inspect.signature(RayEvaluator).parameters if p != "problem"]
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ValueError(f"unknown option(s) of the ray backend: {', '.join(unknown)}; "
                             f"known: {', '.join(known)}")
        return RayEvaluator(problem, **options)
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
