"""A fitted forecaster in the data's units: the transform, the final model, and the residuals of its intervals.

:class:`ForecastModel` forecasts the steps after a known history of levels: transform the history
(:class:`~.transforms.SeriesTransform`), map it to model units (the :class:`~evolino.scaling.Standardizer` of the
transformed training part), run the final model closed-loop (AR(p), or each of the k networks with its readout and
the average of their forecasts), map back and integrate into levels. ``interval(forecast, level)`` adds the bounds
made from the backtest residuals per horizon step (:mod:`~.intervals`).

Saved as one NPZ file (no pickle): the arrays (AR weights or the networks' genomes and readouts, the residuals and
their mask) and a JSON ``forecast_meta`` record (kind, transform, order, scaler, network spec, names, dates). The
file is told apart from a single network's ``model.npz`` by that record (:func:`is_forecast_model`).

Shapes: history (t0, m) levels, inputs (t0, k) and (steps, k); forecasts (steps, m).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from evolino.atomic import atomic_file
from evolino.fitness import ForwardPasses, line_of
from evolino.forecasting.intervals import horizon_quantiles
from evolino.forecasting.linear import external_sources, free_run, lag_block
from evolino.forecasting.transforms import SeriesTransform
from evolino.model import check_columns
from evolino.network import LSTMSpec
from evolino.scaling import Standardizer
from evolino.tasks.base import SequencePair

__all__ = ["ForecastModel", "is_forecast_model"]

FORMAT = "evolino-forecast"
FORMAT_VERSION = 1


class ForecastModel:
    """The final model of a :class:`~.forecaster.Forecaster` (see the module docstring).

    Parameters
    ----------
    transform : SeriesTransform
    scaler : Standardizer
        Model units of the transformed series and of the inputs.
    order : int
        AR order (the networks' readout lags).
    linear_weights : (1 + order * E, m) or None
        AR(p) weights in model units (bias first) when the final model is linear.
    spec : LSTMSpec or None
    genomes : (k, d) or None
    readouts : (k, readout_rows, m) or None
        The networks (their average is the forecast) when the final model is a network ensemble.
    residuals : (O, H, m), residual_mask : (O, H)
        Backtest residuals per horizon step.
    level : float
        The default interval level.
    target_names, input_names : sequence of str
    time : dict, optional
        The date column's frequency and last date (``task.info["time"]``).
    """

    def __init__(self, transform: SeriesTransform, scaler: Standardizer, order: int,
                 linear_weights: np.ndarray | None = None, spec: LSTMSpec | None = None,
                 genomes: np.ndarray | None = None, readouts: np.ndarray | None = None,
                 residuals: np.ndarray | None = None, residual_mask: np.ndarray | None = None, level: float = 0.9,
                 target_names=(), input_names=(), time: dict | None = None) -> None:
        if (linear_weights is None) == (genomes is None):
            raise ValueError("a forecast model is either linear (linear_weights) or networks (spec, genomes, "
                             "readouts)")
        if genomes is not None and (spec is None or readouts is None or len(readouts) != len(genomes)):
            raise ValueError("networks need their spec and one readout per genome")
        self.transform, self.scaler, self.order = transform, scaler, int(order)
        self.linear_weights = None if linear_weights is None else np.asarray(linear_weights, dtype=np.float64)
        self.spec = spec
        self.genomes = None if genomes is None else np.atleast_2d(np.asarray(genomes, dtype=np.float64))
        self.readouts = None if readouts is None else np.asarray(readouts, dtype=np.float64)
        m = len(scaler.target_mean)
        self.residuals = np.zeros((0, 1, m)) if residuals is None else np.asarray(residuals, dtype=np.float64)
        self.residual_mask = np.zeros(self.residuals.shape[:2], dtype=bool) if residual_mask is None else \
            np.asarray(residual_mask, dtype=bool)
        self.level = float(level)
        self.target_names, self.input_names = tuple(target_names), tuple(input_names)
        self.time = time

    @property
    def kind(self) -> str:
        return "linear" if self.genomes is None else "network"

    @property
    def n_outputs(self) -> int:
        return len(self.scaler.target_mean)

    @property
    def n_inputs(self) -> int:
        return len(self.scaler.input_mean)

    @classmethod
    def from_parts(cls, final, prepared, residuals: np.ndarray, mask: np.ndarray, level: float, series):
        """The model of a forecaster's final choice (``final``: its linear or network final model) refitted on
        all seen data."""
        common = dict(residuals=residuals, residual_mask=mask, level=level, target_names=series.target_names,
                      input_names=series.input_names, time=series.time)
        scaler = prepared.task.scaler
        if final.kind == "linear":
            return cls(prepared.transform, scaler, final.order, linear_weights=final.weights(series.seen), **common)
        return cls(prepared.transform, scaler, final.spec.readout_lags, spec=final.spec, genomes=final.genomes,
                   readouts=final.readouts(series.seen), **common)

    # ------------------------------------------------------------------------------------------------ forecast

    def forecast(self, history: np.ndarray, steps: int, history_inputs: np.ndarray | None = None,
                 future_inputs: np.ndarray | None = None) -> np.ndarray:
        """The forecast (steps, m) of the steps after ``history`` (t0, m), in the data's units."""
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        history = check_columns(history, self.n_outputs, "history")
        known = history.shape[0]
        lost = self.transform.lost
        if known <= lost + max(self.order, 1):
            raise ValueError(f"the history needs more than {lost + max(self.order, 1)} steps, got {known}")
        history_inputs = check_columns(history_inputs, self.n_inputs, "history_inputs", known)
        future_inputs = check_columns(future_inputs, self.n_inputs, "future_inputs", steps)
        if not self.transform.applies_to(history):
            raise ValueError(f"the {self.transform.name} transform does not apply to this history "
                             "(log needs positive values)")
        z = self.scaler.targets_to_model(self.transform.forward(history)[lost:])
        inputs = self.scaler.inputs_to_model(history_inputs[lost:]) if history_inputs is not None else None
        future = self.scaler.inputs_to_model(future_inputs) if future_inputs is not None else None
        if self.genomes is None:
            sources = external_sources(z, inputs)
            changes = free_run(self.linear_weights[None], sources, z[-1], steps, future)
        else:
            line = line_of(self.spec, [SequencePair(z, inputs),
                                       SequencePair(np.full((steps, self.n_outputs), np.nan), future)])
            passes = ForwardPasses(self.spec, self.genomes, "numpy")
            _, state = passes.advance(line, 0, z.shape[0], None)
            changes = passes.free_run(line, z.shape[0], steps, state, self.readouts)
        levels = self.transform.integrate(self.scaler.targets_to_original(changes), history)
        with np.errstate(all="ignore"):
            return levels.mean(axis=0)

    def predict(self, levels: np.ndarray, inputs: np.ndarray | None = None) -> np.ndarray:
        """One-step predictions (T, m) of every step of ``levels`` (T, m) from the true steps before it, in the data's
        units; NaN for the first steps, which have too little past (the transform's and the lags')."""
        levels = check_columns(levels, self.n_outputs, "levels")
        steps = levels.shape[0]
        inputs = check_columns(inputs, self.n_inputs, "inputs", steps)
        lost = self.transform.lost
        predictions = np.full(levels.shape, np.nan)
        if steps <= lost + 1:
            return predictions
        z = self.scaler.targets_to_model(self.transform.forward(levels)[lost:])
        model_inputs = None if inputs is None else self.scaler.inputs_to_model(inputs[lost:])
        if self.genomes is None:
            design = lag_block(external_sources(z, model_inputs), self.order, 0, z.shape[0])
            changes = (design @ self.linear_weights)[None]
        else:
            line = line_of(self.spec, [SequencePair(z, model_inputs)])
            passes = ForwardPasses(self.spec, self.genomes, "numpy")
            (changes,), _ = passes.teacher_outputs(line, 0, z.shape[0], None, [self.readouts])
        with np.errstate(all="ignore"):
            found = self.transform.one_step(self.scaler.targets_to_original(changes), levels, lost).mean(axis=0)
        predictions[lost:] = found
        predictions[: lost + self.order] = np.nan  # lags reaching before the data (zeros): not predictions
        return predictions

    def interval(self, forecast: np.ndarray, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) bounds (steps, m) around a forecast (steps, m) at ``level`` (default: the fit's); beyond
        the backtest's horizon the spread grows as the square root of the horizon."""
        lower, upper = horizon_quantiles(self.residuals, self.residual_mask, self.level if level is None else level,
                                         steps=forecast.shape[0])
        return forecast + lower, forecast + upper

    @property
    def residual_horizon(self) -> int:
        """The last horizon step with a residual (bounds beyond it are extrapolated)."""
        present = np.flatnonzero(self.residual_mask.any(axis=0))
        return int(present[-1]) + 1 if present.size else 0

    # ------------------------------------------------------------------------------------------------- storage

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model to ``path`` (NPZ), atomically."""
        meta = {"format": FORMAT, "version": FORMAT_VERSION, "kind": self.kind, "order": self.order,
                "transform": self.transform.to_dict(), "scaler": self.scaler.to_dict(), "level": self.level,
                "spec": None if self.spec is None else json.loads(self.spec.to_json()),
                "target_names": list(self.target_names), "input_names": list(self.input_names), "time": self.time}
        arrays = {"residuals": self.residuals, "residual_mask": self.residual_mask}
        if self.genomes is None:
            arrays["linear_weights"] = self.linear_weights
        else:
            arrays.update(genomes=self.genomes, readouts=self.readouts)
        path = Path(path)
        with atomic_file(path, "wb") as handle:
            np.savez(handle, forecast_meta=np.array(json.dumps(meta)), **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> ForecastModel:
        """Read a model written by :meth:`save`; ValueError when the file is not one."""
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["forecast_meta"]))
                if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
                    raise ValueError("unsupported forecast model format")
                networks = meta["kind"] == "network"
                return cls(SeriesTransform.from_dict(meta["transform"]), Standardizer.from_dict(meta["scaler"]),
                           meta["order"], linear_weights=None if networks else data["linear_weights"],
                           spec=LSTMSpec(**meta["spec"]) if networks else None,
                           genomes=data["genomes"] if networks else None,
                           readouts=data["readouts"] if networks else None, residuals=data["residuals"],
                           residual_mask=data["residual_mask"], level=meta["level"],
                           target_names=meta["target_names"], input_names=meta["input_names"], time=meta["time"])
        except (KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            raise ValueError(f"{path} is not an evolino forecast model ({exc})") from None


def is_forecast_model(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an NPZ file written by :meth:`ForecastModel.save`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return isinstance(data, np.lib.npyio.NpzFile) and "forecast_meta" in data.files
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return False
