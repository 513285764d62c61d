"""A trained Evolino network: evolved hidden weights plus the least-squares readout.

Saved as one NPZ file holding the genome, the readout and the network spec as JSON text, so it loads with
``numpy.load(allow_pickle=False)`` and no evolino code is needed to read the numbers.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from evolino.fitness import previous_targets
from evolino.network import LSTMSpec, closed_loop, teacher_forced, unpack
from evolino.readout import design_matrix

__all__ = ["EvolinoModel"]

FORMAT_VERSION = 1


class EvolinoModel:
    """An LSTM with evolved hidden weights and a fitted linear readout.

    Parameters
    ----------
    spec : LSTMSpec
    genome : (d,) array
        Hidden weights in the layout of ``spec``.
    readout : (cells + 1, n_outputs) array
        Output weights; the last row is the bias.
    """

    def __init__(self, spec: LSTMSpec, genome: np.ndarray, readout: np.ndarray) -> None:
        genome = np.asarray(genome, dtype=np.float64)
        readout = np.asarray(readout, dtype=np.float64)
        if genome.shape != (spec.dimension,):
            raise ValueError(f"genome must have shape ({spec.dimension},), got {genome.shape}")
        if readout.shape != (spec.cells + 1, spec.n_outputs):
            raise ValueError(f"readout must have shape ({spec.cells + 1}, {spec.n_outputs}), got {readout.shape}")
        self.spec = spec
        self.genome = genome
        self.readout = readout
        self._weights = unpack(spec, genome[None])

    def _check(self, array: np.ndarray | None, columns: int, name: str, steps: int | None = None):
        if columns == 0:
            return None
        if array is None:
            raise ValueError(f"this network needs {name} with {columns} column(s)")
        array = np.asarray(array, dtype=np.float64)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2 or array.shape[1] != columns or (steps is not None and array.shape[0] != steps):
            want = f"({steps if steps is not None else 'T'}, {columns})"
            raise ValueError(f"{name} must have shape {want}, got {array.shape}")
        if not np.isfinite(array).all():
            raise ValueError(f"{name} contain NaN or infinite values")
        return array

    def _teacher_forced(self, inputs, targets, steps):
        inputs = self._check(inputs, self.spec.n_inputs, "inputs", steps)
        targets = self._check(targets, self.spec.n_feedback, "targets (fed back one step delayed)", steps)
        feedback = previous_targets(targets) if self.spec.feedback else None
        return teacher_forced(self.spec, self._weights, steps, inputs=inputs, feedback=feedback)

    def predict(self, inputs: np.ndarray | None = None, targets: np.ndarray | None = None) -> np.ndarray:
        """Teacher-forced outputs for one sequence from a zero state.

        Parameters
        ----------
        inputs : (T, n_inputs), required if the network has external inputs
        targets : (T, n_outputs), required with feedback: the previous target is fed back at each step

        Returns
        -------
        outputs : (T, n_outputs)
        """
        reference = inputs if inputs is not None else targets
        if reference is None:
            raise ValueError("predict needs inputs or (for a feedback network) targets")
        steps = np.asarray(reference).shape[0]
        states, _ = self._teacher_forced(inputs, targets, steps)
        return np.matmul(design_matrix(states, bias=True), self.readout[None])[0]

    def generate(self, history: np.ndarray, steps: int, history_inputs: np.ndarray | None = None,
                 future_inputs: np.ndarray | None = None) -> np.ndarray:
        """Teacher-force on ``history``, then generate ``steps`` outputs closed-loop.

        Parameters
        ----------
        history : (T, n_outputs)
            Known past of the signal.
        steps : int
            Outputs to generate after the history.
        history_inputs, future_inputs : (T, n_inputs) and (steps, n_inputs), for networks with external inputs.

        Returns
        -------
        outputs : (steps, n_outputs)
        """
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        history = self._check(history, self.spec.n_outputs, "history")
        _, state = self._teacher_forced(history_inputs, history, history.shape[0])
        future_inputs = self._check(future_inputs, self.spec.n_inputs, "future_inputs", steps)
        out = closed_loop(self.spec, self._weights, self.readout[None], state, history[-1], steps, future_inputs)
        return out[0]

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model to ``path`` (NPZ), atomically."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as handle:
            np.savez(handle, genome=self.genome, readout=self.readout, spec=np.array(self.spec.to_json()),
                     format_version=np.array(FORMAT_VERSION))
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> EvolinoModel:
        """Read a model written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            if int(data["format_version"]) != FORMAT_VERSION:
                raise ValueError(f"{path}: unsupported model format {int(data['format_version'])}")
            spec = LSTMSpec.from_json(str(data["spec"]))
            return cls(spec, data["genome"], data["readout"])
