"""Multiple superimposed oscillations (MSO1..MSO8) and the Evolino papers' 5-sine task.

y(n) = sum_k sin(f_k n), n = 0, 1, 2, ...  Protocol (Schmidhuber et al., Neural Computation 2007): teacher forcing
on steps 0-399 with a washout of 100, then free-run and NRMSE over steps 400-699.

Split used here: train = steps 0-299, validation = 300-399, test = 400-699. During evolution the readout is fitted on
steps 100-299 and the fitness is the closed-loop NRMSE on 300-399; the final network is teacher-forced on 0-399,
its readout refitted on 100-399 (300 samples, as in the papers), and it generates 400-699. Steps >= 400 are never
seen during evolution.
"""

from __future__ import annotations

import numpy as np

from evolino.tasks.base import SequencePair, Task, register_task

MSO_FREQUENCIES = (0.2, 0.311, 0.42, 0.51, 0.63, 0.74, 0.85, 0.97)
EVOLINO_SINES = (0.2, 0.311, 0.42, 0.51, 0.74)


def superimposed_sines(frequencies, steps: int) -> np.ndarray:
    """sum_k sin(f_k n) for n = 0..steps-1 -> (steps,)."""
    n = np.arange(steps, dtype=np.float64)
    return np.sin(np.outer(n, np.asarray(frequencies, dtype=np.float64))).sum(axis=1)


def oscillator_task(
    name: str,
    frequencies,
    train_end: int = 300,
    validation_end: int = 400,
    test_end: int = 700,
    washout: int = 100,
) -> Task:
    """A generative task on one superimposed-sines signal, split at the given steps."""
    if not 0 < washout < train_end < validation_end < test_end:
        raise ValueError("need 0 < washout < train_end < validation_end < test_end")
    y = superimposed_sines(frequencies, test_end)
    return Task(
        name=name,
        train=[SequencePair(y[:train_end])],
        validation=[SequencePair(y[train_end:validation_end])],
        test=[SequencePair(y[validation_end:])],
        washout=washout,
        generative=True,
        metric="nrmse",
        description=f"sum of sines, frequencies {', '.join(map(str, frequencies))}",
        info={"frequencies": list(frequencies)},
        noise_free=True,
        stability_steps=0,  # the papers' protocol: the validation window is the whole check
    )


def _register_mso(k: int) -> None:
    name = f"mso{k}"
    frequencies = MSO_FREQUENCIES[:k]

    @register_task(name, f"MSO{k}: {k} superimposed sines (f = {', '.join(map(str, frequencies))}), generative")
    def factory(**options) -> Task:
        return oscillator_task(name, frequencies, **options)


for _k in range(1, 9):
    _register_mso(_k)


@register_task("sines5", "Evolino papers' 5 sines (f = 0.2, 0.311, 0.42, 0.51, 0.74), generative")
def sines5(**options) -> Task:
    return oscillator_task("sines5", EVOLINO_SINES, **options)
