"""A fitted forecaster in the data's units: the final model, and the residuals of its intervals.

:class:`ForecastModel` forecasts the steps after a known history of levels. The final model is the linear model
(:class:`LinearMember`: AR(p) under each transform, and :class:`~.smoothing.SmoothingPart`: exponential smoothing,
their forecasts averaged with the combination's weights, :mod:`~.combined`), or the same with k networks
(:class:`NetworkPart`: their forecasts averaged) sharing the place and weight of the AR member whose transform they
were evolved in (the share chosen on the backtest). Each part transforms the history
(:class:`~.transforms.SeriesTransform`), maps it to its model units (the :class:`~evolino.scaling.Standardizer` of
the transformed training part), runs closed-loop, maps back and integrates into levels. ``interval(forecast,
level)`` adds the bounds made from the backtest residuals per horizon step (:mod:`~.intervals`).

Saved as one NPZ file (no pickle): the arrays (each AR member's weights, or the networks' genomes and readouts, the
residuals and their mask) and a JSON ``forecast_meta`` record (kind, transforms, orders, smoothing forms and
parameters, weights, scalers, network spec, names, dates). The file is told apart from a single network's
``model.npz`` by that record (:func:`is_forecast_model`).

Shapes: history (t0, m) levels, inputs (t0, k) and (steps, k); forecasts (steps, m).
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evolino.atomic import atomic_file
from evolino.fitness import ForwardPasses, line_of
from evolino.forecasting.intervals import horizon_quantiles
from evolino.forecasting.linear import external_sources, free_run, lag_block
from evolino.forecasting.smoothing import SmoothingPart
from evolino.forecasting.transforms import SeriesTransform
from evolino.model import check_columns
from evolino.network import LSTMSpec
from evolino.scaling import Standardizer
from evolino.tasks.base import SequencePair

__all__ = ["ForecastModel", "LinearMember", "NetworkPart", "is_forecast_model"]

FORMAT = "evolino-forecast"
FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class LinearMember:
    """AR(p) under one transform: weights (1 + order * E, m) in the model units of ``scaler``, and its weight in
    the combination."""

    transform: SeriesTransform
    scaler: Standardizer
    order: int
    weights: np.ndarray
    weight: float = 1.0

    def _model_units(self, history, history_inputs, future_inputs):
        lost = self.transform.lost
        z = self.scaler.targets_to_model(self.transform.forward(history)[lost:])
        inputs = None if history_inputs is None else self.scaler.inputs_to_model(history_inputs[lost:])
        future = None if future_inputs is None else self.scaler.inputs_to_model(future_inputs)
        return z, inputs, future

    def forecast(self, history, steps, history_inputs=None, future_inputs=None) -> np.ndarray:
        z, inputs, future = self._model_units(history, history_inputs, future_inputs)
        changes = free_run(self.weights[None], external_sources(z, inputs), z[-1], steps, future)[0]
        return self.transform.integrate(self.scaler.targets_to_original(changes), history)

    def predict(self, levels, inputs=None) -> np.ndarray:
        z, model_inputs, _ = self._model_units(levels, inputs, None)
        design = lag_block(external_sources(z, model_inputs), self.order, 0, z.shape[0])
        return self.transform.one_step(self.scaler.targets_to_original(design @ self.weights), levels,
                                       self.transform.lost)


@dataclass(frozen=True, eq=False)
class NetworkPart:
    """k networks under one transform (their forecasts are averaged): spec, genomes (k, d), readouts
    (k, readout_rows, m) in the model units of ``scaler``; ``weight`` in the combination (the place of the linear
    member they replace)."""

    transform: SeriesTransform
    scaler: Standardizer
    spec: LSTMSpec
    genomes: np.ndarray
    readouts: np.ndarray
    weight: float = 1.0

    @property
    def order(self) -> int:
        return self.spec.readout_lags

    def forecast(self, history, steps, history_inputs=None, future_inputs=None) -> np.ndarray:
        lost = self.transform.lost
        z = self.scaler.targets_to_model(self.transform.forward(history)[lost:])
        inputs = None if history_inputs is None else self.scaler.inputs_to_model(history_inputs[lost:])
        future = None if future_inputs is None else self.scaler.inputs_to_model(future_inputs)
        line = line_of(self.spec, [SequencePair(z, inputs),
                                   SequencePair(np.full((steps, z.shape[1]), np.nan), future)])
        passes = ForwardPasses(self.spec, self.genomes, "numpy")
        _, state = passes.advance(line, 0, z.shape[0], None)
        changes = passes.free_run(line, z.shape[0], steps, state, self.readouts)
        with np.errstate(all="ignore"):
            return self.transform.integrate(self.scaler.targets_to_original(changes), history).mean(axis=0)

    def predict(self, levels, inputs=None) -> np.ndarray:
        lost = self.transform.lost
        z = self.scaler.targets_to_model(self.transform.forward(levels)[lost:])
        model_inputs = None if inputs is None else self.scaler.inputs_to_model(inputs[lost:])
        line = line_of(self.spec, [SequencePair(z, model_inputs)])
        passes = ForwardPasses(self.spec, self.genomes, "numpy")
        (changes,), _ = passes.teacher_outputs(line, 0, z.shape[0], None, [self.readouts])
        with np.errstate(all="ignore"):
            return self.transform.one_step(self.scaler.targets_to_original(changes), levels, lost).mean(axis=0)


class ForecastModel:
    """The final model of a :class:`~.forecaster.Forecaster` (see the module docstring).

    Parameters
    ----------
    members : sequence of LinearMember and SmoothingPart
        The linear model: AR(p) under each transform and exponential smoothing members, combined by their weights.
    network : NetworkPart, optional
        The networks, when the final model has them, with their share of the weight of the AR member whose transform
        they were evolved in (that member keeps the rest); the other members stay.
    residuals : (O, H, m), residual_mask : (O, H)
        Backtest residuals per horizon step.
    level : float
        The default interval level.
    target_names, input_names : sequence of str
    time : dict, optional
        The date column's frequency and last date (``task.info["time"]``).
    """

    def __init__(self, members=(), network: NetworkPart | None = None, residuals: np.ndarray | None = None,
                 residual_mask: np.ndarray | None = None, level: float = 0.9, target_names=(), input_names=(),
                 time: dict | None = None) -> None:
        members = list(members)
        if not members and network is None:
            raise ValueError("a forecast model needs linear members, networks, or both")
        self.members, self.network = members, network
        m = self.n_outputs
        self.residuals = np.zeros((0, 1, m)) if residuals is None else np.asarray(residuals, dtype=np.float64)
        self.residual_mask = np.zeros(self.residuals.shape[:2], dtype=bool) if residual_mask is None else \
            np.asarray(residual_mask, dtype=bool)
        self.level = float(level)
        self.target_names, self.input_names = tuple(target_names), tuple(input_names)
        self.time = time

    @property
    def kind(self) -> str:
        return "network" if self.network is not None else "linear"

    @property
    def _parts(self) -> list:
        return [*self.members, *([self.network] if self.network is not None else [])]

    @property
    def _leader(self):
        return self.network if self.network is not None else max(self.members, key=lambda m: m.weight)

    @property
    def transform(self) -> SeriesTransform:
        """The transform of the networks, or of the linear member with the largest weight."""
        return self._leader.transform

    @property
    def order(self) -> int:
        return self._leader.order

    @property
    def settle_steps(self) -> int:
        """Steps at the start of a series without a one-step prediction (the transforms' and the lags')."""
        return max(p.transform.lost + p.order for p in self._parts)

    @property
    def _shape(self) -> tuple[int, int]:
        """(outputs, inputs): an AR member's or the networks' scaler knows them; a model of smoothing members alone
        forecasts one series without inputs (the only kind they are made for)."""
        scaler = next((p.scaler for p in self._parts if not isinstance(p, SmoothingPart)), None)
        return (1, 0) if scaler is None else (len(scaler.target_mean), len(scaler.input_mean))

    @property
    def n_outputs(self) -> int:
        return self._shape[0]

    @property
    def n_inputs(self) -> int:
        return self._shape[1]

    @classmethod
    def from_parts(cls, final, residuals: np.ndarray, mask: np.ndarray, level: float, series) -> ForecastModel:
        """The model of a forecaster's final choice (``final``: its combined linear model or its networks) refitted
        on all seen data."""
        common = dict(residuals=residuals, residual_mask=mask, level=level, target_names=series.target_names,
                      input_names=series.input_names, time=series.time)
        linear = final if final.kind == "linear" else final.linear
        share = final.share if final.kind == "network" else 0.0  # the networks' share of the leader's weight
        leader = linear.leader
        members = [m.part(series.seen, float(w) * (1 - share if m is leader else 1.0))
                   for m, w in zip(linear.members, linear.weights, strict=True)
                   if w > 0 and not (m is leader and share == 1)]
        if final.kind == "linear":
            return cls(members=members, **common)
        prepared = final.prepared
        return cls(members=members, network=NetworkPart(prepared.transform, prepared.task.scaler, final.spec,
                                                        final.genomes, final.readouts(series.seen),
                                                        linear.leader_weight * share), **common)

    # ------------------------------------------------------------------------------------------------ forecast

    def forecast(self, history: np.ndarray, steps: int, history_inputs: np.ndarray | None = None,
                 future_inputs: np.ndarray | None = None) -> np.ndarray:
        """The forecast (steps, m) of the steps after ``history`` (t0, m), in the data's units."""
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        history = check_columns(history, self.n_outputs, "history")
        known = history.shape[0]
        if known <= self.settle_steps:
            raise ValueError(f"the history needs more than {self.settle_steps} steps, got {known}")
        history_inputs = check_columns(history_inputs, self.n_inputs, "history_inputs", known)
        future_inputs = check_columns(future_inputs, self.n_inputs, "future_inputs", steps)
        for part in self._parts:
            if not part.transform.applies_to(history):
                raise ValueError(f"the {part.transform.name} transform does not apply to this history (log needs "
                                 "positive values)")
        with np.errstate(all="ignore"):
            return sum(part.weight * part.forecast(history, steps, history_inputs, future_inputs)
                       for part in self._parts)

    def predict(self, levels: np.ndarray, inputs: np.ndarray | None = None) -> np.ndarray:
        """One-step predictions (T, m) of every step of ``levels`` (T, m) from the true steps before it, in the data's
        units; NaN for the first steps, which have too little past (the transforms' and the lags')."""
        levels = check_columns(levels, self.n_outputs, "levels")
        steps = levels.shape[0]
        inputs = check_columns(inputs, self.n_inputs, "inputs", steps)
        predictions = np.full(levels.shape, np.nan)
        settle = self.settle_steps
        if steps <= settle:
            return predictions
        with np.errstate(all="ignore"):
            predictions = np.zeros(levels.shape)
            for part in self._parts:
                found = np.full(levels.shape, np.nan)
                found[part.transform.lost:] = part.predict(levels, inputs)
                predictions += part.weight * found
        predictions[:settle] = np.nan  # lags reaching before the data (zeros): not predictions
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
        meta = {"format": FORMAT, "version": FORMAT_VERSION, "kind": self.kind, "level": self.level,
                "target_names": list(self.target_names), "input_names": list(self.input_names), "time": self.time,
                "members": [m.to_dict() if isinstance(m, SmoothingPart) else
                            {"transform": m.transform.to_dict(), "scaler": m.scaler.to_dict(), "order": m.order,
                             "weight": m.weight} for m in self.members]}
        arrays = {"residuals": self.residuals, "residual_mask": self.residual_mask}
        for i, member in enumerate(self.members):
            if isinstance(member, LinearMember):
                arrays[f"linear_weights_{i}"] = member.weights
        if self.network is not None:
            network = self.network
            meta["network"] = {"transform": network.transform.to_dict(), "scaler": network.scaler.to_dict(),
                               "spec": json.loads(network.spec.to_json()), "weight": network.weight}
            arrays.update(genomes=network.genomes, readouts=network.readouts)
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
                members = [SmoothingPart.from_dict(m) if m.get("kind") == "smoothing" else
                           LinearMember(SeriesTransform.from_dict(m["transform"]), Standardizer.from_dict(m["scaler"]),
                                        int(m["order"]), data[f"linear_weights_{i}"], float(m["weight"]))
                           for i, m in enumerate(meta["members"])]
                network = None
                if meta.get("network") is not None:
                    part = meta["network"]
                    network = NetworkPart(SeriesTransform.from_dict(part["transform"]),
                                          Standardizer.from_dict(part["scaler"]), LSTMSpec(**part["spec"]),
                                          data["genomes"], data["readouts"], float(part["weight"]))
                return cls(members, network, data["residuals"], data["residual_mask"], meta["level"],
                           meta["target_names"], meta["input_names"], meta["time"])
        except (KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            raise ValueError(f"{path} is not an evolino forecast model ({exc})") from None


def is_forecast_model(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an NPZ file written by :meth:`ForecastModel.save`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return isinstance(data, np.lib.npyio.NpzFile) and "forecast_meta" in data.files
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return False
