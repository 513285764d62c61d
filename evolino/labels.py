"""Tasks whose label ends each sequence: what the readout sees, and how the final model is chosen.

A sequence classification task (``data_task(kind="classify", sequence=...)``, or any task of independent sequences
with a target at their last step only) asks one answer per sequence. Three things follow:

* the readout may look at the whole sequence, not just its last state: pools of the cell outputs over the sequence
  (:func:`evolino.network.pool_features`: the last state, the mean and the maximum). Evolution uses all three
  (:data:`EVOLUTION_POOL`). The fitness is the readout's leave-one-out error over the training sequences, its ridge
  chosen per genome by that error (``ridge="loo"``, :func:`evolino.readout.loo_outputs`): every training sequence
  fits and scores the readout, where a held-out fifth of a few dozen sequences let the search fit a handful;
* the final model is chosen on the validation part, which evolution never saw (:func:`choose_final`), among the
  network with each non-empty subset of those pools at each ridge strength of the grid (the largest strength
  leaves the linear model of the last inputs the readout sees directly) and the class frequencies of the training
  part: never worse there than the trivial models it is shown beside. Ties go to the simpler model (class
  frequencies, then fewer pools);
* class probabilities are a softmax of the outputs with a temperature that minimises the negative log-likelihood of
  the validation labels (:func:`calibrate`; Guo et al., "On calibration of modern neural networks", 2017).

Shapes: outputs and one-hot targets (S, m) for S sequences and m classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import combinations

import numpy as np

from evolino.fitness import ForwardPasses, line_of
from evolino.metrics import score
from evolino.network import LSTMSpec
from evolino.readout import ReadoutConfig
from evolino.tasks.base import Task

__all__ = ["is_sequence_labelling", "default_pool", "pool_subsets", "LabelChoice", "choose_final", "calibrate",
           "softmax", "class_frequencies", "EVOLUTION_POOL", "LABEL_CELLS", "TEMPERATURES", "OVERFIT_FACTOR"]

EVOLUTION_POOL = "last+mean+max"
LABEL_CELLS = 30  # the default cells for a label per sequence: the pools are the readout's only features
TEMPERATURES = tuple(np.logspace(-3, 1, 41))  # the grid a softmax's temperature is chosen from
OVERFIT_FACTOR = 3.0  # a validation error this many times the fitness is reported as overfitting


def is_sequence_labelling(task: Task) -> bool:
    """True for a task of independent sequences, not generative, each scored at its last step only."""
    if task.continued or task.generative:
        return False
    for pair in (*task.train, *task.validation, *task.test):
        scored = pair.scored
        if not scored[-1] or scored[:-1].any():
            return False
    return True


def default_pool(task: Task) -> str:
    """The readout pooling evolution uses on ``task``: :data:`EVOLUTION_POOL` for sequence labels, else "last"."""
    return EVOLUTION_POOL if is_sequence_labelling(task) else "last"


def pool_subsets(pool: str) -> list[str]:
    """Every non-empty subset of a pooling's pools, the smaller first: "last+mean" -> last, mean, last+mean."""
    pools = pool.split("+")
    return ["+".join(chosen) for size in range(1, len(pools) + 1) for chosen in combinations(pools, size)]


def class_frequencies(pairs) -> np.ndarray:
    """The mean one-hot label (m,) of sequences."""
    return np.mean([p.targets[-1] for p in pairs], axis=0)


def softmax(outputs: np.ndarray, temperature: float) -> np.ndarray:
    """Rows of probabilities from outputs (..., m) at ``temperature``."""
    scaled = np.asarray(outputs, dtype=np.float64) / temperature
    scaled -= np.max(scaled, axis=-1, keepdims=True)
    weights = np.exp(scaled)
    return weights / weights.sum(axis=-1, keepdims=True)


def calibrate(outputs: np.ndarray, targets: np.ndarray) -> float:
    """The temperature of :data:`TEMPERATURES` whose softmax of ``outputs`` (S, m) gives the one-hot ``targets``
    (S, m) the lowest negative log-likelihood."""
    labels = np.argmax(targets, axis=1)
    losses = []
    for temperature in TEMPERATURES:
        probabilities = softmax(outputs, temperature)[np.arange(len(labels)), labels]
        losses.append(-np.mean(np.log(np.maximum(probabilities, 1e-300))))
    return float(TEMPERATURES[int(np.argmin(losses))])


@dataclass
class LabelChoice:
    """The final model of a sequence-labelling task, chosen on validation.

    Attributes
    ----------
    spec : LSTMSpec
        The network with the chosen pooling.
    ridge : float
        The readout's ridge strength.
    final : str
        "network", "linear" (the largest ridge of the grid: the cells shrunk away) or "class frequencies".
    validation_error : float
        The chosen candidate's validation error (task metric).
    temperature : float
        The softmax temperature of its class probabilities.
    candidates : dict
        Validation error of every candidate ("pool=last+mean ridge=0.01", "class frequencies").
    """

    spec: LSTMSpec
    ridge: float
    final: str
    validation_error: float
    temperature: float
    candidates: dict = field(default_factory=dict)


def _validation_outputs(spec: LSTMSpec, genome: np.ndarray, task: Task, config: ReadoutConfig, kernel):
    """Outputs (candidates, S, m) at the validation labels of every ridge strength, the readout fitted on train."""
    passes = ForwardPasses(spec, np.asarray(genome, dtype=np.float64)[None], kernel)
    lines = [line_of(spec, [p]) for p in task.train]
    solutions, _, _ = passes.fit(lines, [line.steps for line in lines], task.washout,
                                 replace(config, ridge="validation"))
    outputs = []
    for pair in task.validation:
        line = line_of(spec, [pair])
        found, _ = passes.teacher_outputs(line, 0, line.steps, None, solutions, task.washout)
        outputs.append(np.stack([f[0, -1] for f in found]))
    return np.stack(outputs, axis=1)


def choose_final(spec: LSTMSpec, genome: np.ndarray, task: Task, readout: ReadoutConfig,
                 kernel: str | None = "numpy") -> LabelChoice:
    """Choose the final model of a sequence-labelling task on its validation part (see the module docstring)."""
    if not task.validation:
        raise ValueError("choosing among the pools and the class frequencies needs a validation part")
    targets = np.stack([p.targets[-1] for p in task.validation])
    grid = tuple(readout.ridge_grid)
    frequencies = class_frequencies(task.train)
    best = ("class frequencies", None, None)
    frequency_error = float(score(task.metric, targets, np.broadcast_to(frequencies, targets.shape)[None])[0])
    candidates = {"class frequencies": frequency_error}
    lowest, chosen_outputs = frequency_error, None
    for pool in pool_subsets(spec.readout_pool) if spec.pooled else [spec.readout_pool]:
        candidate = replace(spec, readout_pool=pool)
        outputs = _validation_outputs(candidate, genome, task, readout, kernel)
        errors = score(task.metric, targets, outputs)
        for ridge, error in zip(grid, errors, strict=True):
            candidates[f"pool={pool} ridge={ridge:g}"] = float(error)
            if error < lowest:  # strictly: ties stay with the simpler model
                lowest, best, chosen_outputs = float(error), (pool, ridge, candidate), outputs[grid.index(ridge)]
    if best[0] == "class frequencies":
        return LabelChoice(spec, float(max(grid)), "class frequencies", lowest, 1.0, candidates)
    pool, ridge, candidate = best
    final = "linear" if ridge == max(grid) and ridge >= 1e6 else "network"
    return LabelChoice(candidate, float(ridge), final, lowest, calibrate(chosen_outputs, targets), candidates)
