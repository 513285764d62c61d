"""The in-process backend: one vectorised call per generation."""

from __future__ import annotations

import numpy as np

__all__ = ["SerialEvaluator"]


class SerialEvaluator:
    """Evaluate the whole population in this process with ``problem.evaluate``."""

    name = "serial"

    def __init__(self, problem) -> None:
        self.problem = problem

    def evaluate(self, genomes: np.ndarray) -> np.ndarray:
        return self.problem.evaluate(genomes)

    def close(self) -> None:
        pass

    def __enter__(self) -> SerialEvaluator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
