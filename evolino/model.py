"""A trained Evolino network: evolved hidden weights plus the least-squares readout, in original units.

Saved as one NPZ file holding the genome, the readout, the network spec as JSON text and a JSON ``meta`` record (the
standardisation of the task it was trained on and the column names), so it loads with
``numpy.load(allow_pickle=False)`` and no evolino code is needed to read the numbers. ``predict`` and ``generate``
take and return original units: the stored :class:`~evolino.scaling.Standardizer` maps them to what the network saw.
Models written before the meta record existed (format 1) still load.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from evolino.atomic import atomic_file
from evolino.fitness import ForwardPasses, line_of
from evolino.network import LSTMSpec
from evolino.scaling import Standardizer
from evolino.tasks.base import SequencePair

__all__ = ["EvolinoModel", "check_columns"]


def check_columns(array: np.ndarray | None, columns: int, name: str, steps: int | None = None) -> np.ndarray | None:
    """One sequence's ``array`` as float64 (steps, columns) (a 1-d array is one column); None when the network takes
    no such columns. ValueError, naming ``name``, when it is missing, misshapen or not finite."""
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

FORMAT_VERSION = 2


class EvolinoModel:
    """An LSTM with evolved hidden weights and a fitted linear readout.

    Parameters
    ----------
    spec : LSTMSpec
    genome : (d,) array
        Hidden weights in the layout of ``spec``.
    readout : (spec.readout_rows, n_outputs) array
        Output weights: cells, directly seen sources, bias (last row).
    scaler : Standardizer, optional
        Map from original to model units of inputs and targets (identity when None).
    input_names, target_names : sequence of str
        Column names of the data it was trained on (used to pick CSV columns by name).
    washout : int
        The task's washout: outputs of the first ``settle_steps`` steps from a zero state are the network settling,
        not predictions (its readout never saw such states).
    temperature : float, optional
        Sequence labels: the softmax temperature of the class probabilities (:meth:`predict_proba`).
    classes : sequence of str
        Sequence labels: the class of each output column.
    """

    def __init__(self, spec: LSTMSpec, genome: np.ndarray, readout: np.ndarray, scaler: Standardizer | None = None,
                 input_names: Sequence[str] = (), target_names: Sequence[str] = (), washout: int = 0,
                 temperature: float | None = None, classes: Sequence[str] = ()) -> None:
        genome = np.asarray(genome, dtype=np.float64)
        readout = np.asarray(readout, dtype=np.float64)
        if genome.shape != (spec.dimension,):
            raise ValueError(f"genome must have shape ({spec.dimension},), got {genome.shape}")
        if readout.shape != (spec.readout_rows, spec.n_outputs):
            raise ValueError(f"readout must have shape ({spec.readout_rows}, {spec.n_outputs}), got {readout.shape}")
        self.spec = spec
        self.genome = genome
        self.readout = readout
        self.scaler = scaler
        self.input_names = tuple(input_names)
        self.target_names = tuple(target_names)
        self.washout = int(washout)
        self.temperature = None if temperature is None else float(temperature)
        self.classes = tuple(str(c) for c in classes)
        self._passes = ForwardPasses(spec, genome[None], "numpy")

    @property
    def settle_steps(self) -> int:
        """Steps from a zero state before the readout's rows begin: the washout, and the readout's lags."""
        return max(self.washout, self.spec.readout_lags - 1)

    def _to_model(self, inputs, targets):
        if self.scaler is None:
            return inputs, targets
        return (self.scaler.inputs_to_model(inputs),
                None if targets is None else self.scaler.targets_to_model(targets))

    def _to_original(self, outputs: np.ndarray) -> np.ndarray:
        return outputs if self.scaler is None else self.scaler.targets_to_original(outputs)

    def predict(self, inputs: np.ndarray | None = None, targets: np.ndarray | None = None) -> np.ndarray:
        """Teacher-forced outputs for one sequence from a zero state, in original units.

        Parameters
        ----------
        inputs : (T, n_inputs), required if the network has external inputs
        targets : (T, n_outputs), required with feedback: the previous target is fed back at each step

        Returns
        -------
        outputs : (T, n_outputs); row t predicts the target of step t
        """
        reference = inputs if inputs is not None else targets
        if reference is None:
            raise ValueError("predict needs inputs or (for a feedback network) targets")
        steps = np.asarray(reference).shape[0]
        inputs = check_columns(inputs, self.spec.n_inputs, "inputs", steps)
        targets = check_columns(targets, self.spec.n_feedback, "targets (fed back one step delayed)", steps)
        inputs, targets = self._to_model(inputs, targets)
        if targets is None:
            targets = np.full((steps, self.spec.n_outputs), np.nan)  # not fed back: only the shape matters
        line = line_of(self.spec, [SequencePair(targets, inputs)])
        (outputs,), _ = self._passes.teacher_outputs(line, 0, steps, None, [self.readout[None]])
        return self._to_original(outputs[0])

    def predict_proba(self, inputs: np.ndarray) -> np.ndarray:
        """Class probabilities (n_outputs,) of one sequence's label from its inputs (T, n_inputs): a softmax of the
        output at its last step at the model's temperature (1 without one)."""
        from evolino.labels import softmax

        outputs = self.predict(inputs=inputs)
        return softmax(outputs[-1], self.temperature or 1.0)

    def predict_label(self, inputs: np.ndarray) -> str:
        """The class (its name, or its column index as text) of one sequence's label: the largest output at its last
        step."""
        column = int(np.argmax(self.predict(inputs=inputs)[-1]))
        return self.classes[column] if self.classes else str(column)

    def generate(self, history: np.ndarray, steps: int, history_inputs: np.ndarray | None = None,
                 future_inputs: np.ndarray | None = None) -> np.ndarray:
        """Teacher-force on ``history``, then generate ``steps`` outputs closed-loop, in original units.

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
        if not self.spec.feedback:
            raise ValueError("generate needs a network that feeds its output back (a generative task)")
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        history = check_columns(history, self.spec.n_outputs, "history")
        known = history.shape[0]
        history_inputs = check_columns(history_inputs, self.spec.n_inputs, "history_inputs", known)
        future_inputs = check_columns(future_inputs, self.spec.n_inputs, "future_inputs", steps)
        history_inputs, history = self._to_model(history_inputs, history)
        future_inputs, _ = self._to_model(future_inputs, None)
        future = SequencePair(np.full((steps, self.spec.n_outputs), np.nan), future_inputs)
        line = line_of(self.spec, [SequencePair(history, history_inputs), future])
        _, state = self._passes.advance(line, 0, known, None)
        outputs = self._passes.free_run(line, known, steps, state, self.readout[None])
        return self._to_original(outputs[0])

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model to ``path`` (NPZ), atomically."""
        path = Path(path)
        meta = {"scaler": None if self.scaler is None else self.scaler.to_dict(),
                "input_names": list(self.input_names), "target_names": list(self.target_names),
                "washout": self.washout, "temperature": self.temperature, "classes": list(self.classes)}
        with atomic_file(path, "wb") as handle:
            np.savez(handle, genome=self.genome, readout=self.readout, spec=np.array(self.spec.to_json()),
                     meta=np.array(json.dumps(meta)), format_version=np.array(FORMAT_VERSION))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> EvolinoModel:
        """Read a model written by :meth:`save` (this format or the first).

        Raises OSError when the file cannot be opened, and ValueError ("... is not an evolino model file") when it is
        not an NPZ file written by :meth:`save` (another file, a truncated or corrupt one); pickles are never loaded.
        """
        try:
            data = np.load(path, allow_pickle=False)
        except (ValueError, EOFError, zipfile.BadZipFile) as exc:  # numpy takes any non-NPZ file for a pickle
            raise ValueError(f"{path} is not an evolino model file ({_reason(exc)})") from None
        if not isinstance(data, np.lib.npyio.NpzFile):  # a single .npy array
            raise ValueError(f"{path} is not an evolino model file (a single array, not an NPZ archive)")
        try:
            with data:
                return cls._from_npz(data, path)
        except (KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            raise ValueError(f"{path} is not an evolino model file ({_reason(exc)})") from None

    @classmethod
    def _from_npz(cls, data, path) -> EvolinoModel:
        version = int(data["format_version"])
        if version not in (1, FORMAT_VERSION):
            raise ValueError(f"unsupported model format {version}")
        spec = LSTMSpec.from_json(str(data["spec"]))
        meta = json.loads(str(data["meta"])) if version >= 2 else {}
        scaler = meta.get("scaler")
        return cls(spec, data["genome"], data["readout"],
                   scaler=None if scaler is None else Standardizer.from_dict(scaler),
                   input_names=meta.get("input_names", ()), target_names=meta.get("target_names", ()),
                   washout=meta.get("washout", 0), temperature=meta.get("temperature"),
                   classes=meta.get("classes", ()))


def _reason(exc: BaseException) -> str:
    """Why a file is not a model, in a few words (never numpy's advice to load pickles)."""
    if isinstance(exc, KeyError):
        return "it lacks the arrays of a model: format_version, spec, genome, readout"
    if isinstance(exc, ValueError) and "pickle" in str(exc):
        return "not an NPZ archive"
    if isinstance(exc, (EOFError, zipfile.BadZipFile)):
        return "truncated or corrupt"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
