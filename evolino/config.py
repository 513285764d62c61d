"""Run configuration: dataclasses, TOML loading and writing, validation that names the offending key.

A run is described by one :class:`RunConfig`, read from a TOML file (``python -m evolino run --config run.toml``),
overridden by command-line flags, and written back fully resolved to ``DIR/config.toml``, so that
``python -m evolino run --config DIR/config.toml`` repeats the run exactly. Keys whose value is "none" (no target
error, no evaluation budget, ...) are simply absent from the file: TOML has no null.

Every problem (unknown key, wrong type, value out of range, invalid TOML) raises :class:`evolino.errors.ConfigError`
with one line that names the key, e.g. ``run.toml: network.cells must be an integer >= 1, got 0``.
"""

from __future__ import annotations

import json
import math
import re
import sys
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from evolino.errors import ConfigError
from evolino.network import DEFAULT_FEEDBACK_SCALE
from evolino.readout import DEFAULT_RCOND

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "RunConfig", "TaskSettings", "NetworkSettings", "ReadoutSettings", "OptimizerSettings", "StopSettings",
    "BackendSettings", "OutputSettings", "ForecastSettings", "SECTIONS", "load_config", "config_from_dict",
    "apply_overrides",
    "validate_config", "config_to_toml", "write_config", "estimator_params", "forecaster_params",
]


def _setting(default, help: str, check: Callable | None = None, rule: str = ""):
    """A config field with its help text (for the generated reference) and an optional range check."""
    kwargs = {"default_factory": default} if callable(default) else {"default": default}
    return field(metadata={"help": help, "check": check, "rule": rule}, **kwargs)


def _positive(x) -> bool:
    return x >= 1


def _non_negative(x) -> bool:
    return x >= 0


def _valid_pool(x) -> bool:
    from evolino.network import POOLS

    pools = str(x).split("+")
    return isinstance(x, str) and all(p in POOLS for p in pools) and len(set(pools)) == len(pools)


@dataclass
class TaskSettings:
    """``[task]``: what to learn: a registered task, or your own data file (``data``)."""

    name: str | None = _setting(None, "Registered task name (`python -m evolino tasks`; default mso2), or a label "
                                "for a data file (default: the file's name).")
    options: dict = _setting(dict, "Keyword options of the task factory, e.g. `{ test_end = 1000 }` for MSO tasks "
                             "(CLI: `--task-opt KEY=VALUE`).")
    data: str | None = _setting(None, "A CSV, NPY or NPZ file of your own (rows are steps); a relative path is "
                                "relative to this config file. A run copies the columns it uses to `DIR/data.npz`.")
    kind: str | None = _setting(None, '"generate" (continue the series closed-loop; default), "predict" (`horizon` '
                                'steps ahead from the current values), "map" (inputs to targets) or "classify" (a '
                                "label column).")
    target: list | str | int | None = _setting(None, "Target column(s), by name or 0-based index (default: every "
                                               "column not used otherwise).")
    inputs: list | str | int | None = _setting(None, "Input column(s), by name or 0-based index.")
    sequence: str | int | None = _setting(None, "Column whose consecutive equal values mark one sequence "
                                          "(independent sequences, split by sequence).")
    horizon: int | None = _setting(None, "`predict`: steps ahead (default 1).", _positive, ">= 1")
    split: list | None = _setting(None, "Train, validation, test: fractions adding up to 1 or counts (default "
                                  "[0.7, 0.15, 0.15]).")
    washout: int | None = _setting(None, "Steps whose states are neither fitted nor scored at the start of a run "
                                   "from a zero state (default: min(50, a tenth of the training part); 0 for "
                                   "sequences).", _non_negative, ">= 0")
    scale: bool | None = _setting(None, "Standardise every column on the training part (default true; labels are "
                                  "never scaled).")
    metric: str | None = _setting(None, "nrmse, rmse, mse, mae or error_rate (default nrmse; mse for classify).")
    missing: str | None = _setting(None, '"error" (default) or "interpolate": empty target cells of a series.')
    header: bool | None = _setting(None, "CSV: the first line names the columns (default: detected).")
    time: str | int | None = _setting(None, "Column of dates, by name or 0-based index: the time index, never a target "
                                      "or input (default: the first column of ISO dates, or of increasing years "
                                      "headed year, date, time or period; another column of years is taken only "
                                      "when named here).")
    shuffle: bool | None = _setting(None, "Sequences: deal them to train / validation / test shuffled (stratified by "
                                    "class for `classify`) instead of in file order. Default: true for `classify`, "
                                    "false otherwise (CLI: `--no-shuffle`).")
    split_seed: int | None = _setting(None, "Seed of that shuffle (default 0).", _non_negative, ">= 0")
    test: str | None = _setting(None, "A separate file of sequences (the same columns) scored as the test part; "
                                "the data file is then split into training and validation parts only. A relative "
                                "path is relative to this config file; a run copies it to `DIR/test.npz`.")
    validation_windows: int | None = _setting(None, "`generate`: free runs started evenly across the validation "
                                              "part (default 5).", _positive, ">= 1")
    free_run_steps: int | None = _setting(None, "`generate`: length of each validation free run (default: as long "
                                          "as the test part).", _positive, ">= 1")
    holdout: float | None = _setting(None, "Fraction of the training part evolution is scored on (the readout is "
                                     "fitted on the rest); the validation part then only chooses the final "
                                     "readout's ridge. 0: the fitness is the validation error. Default: 0 on "
                                     "noise-free benchmark tasks, 0.2 otherwise.", lambda x: 0 <= x < 1, "in [0, 1)")

    def data_keys(self) -> dict:
        """The data-file settings that are set, as keyword arguments of :func:`evolino.tasks.data.data_task`."""
        return {name: getattr(self, name) for name in DATA_KEYS if getattr(self, name) is not None}


# [task] keys that describe a data file (they need task.data)
DATA_KEYS = ("kind", "target", "inputs", "sequence", "horizon", "split", "washout", "scale", "metric", "missing",
             "validation_windows", "free_run_steps", "time", "shuffle", "split_seed")


@dataclass
class NetworkSettings:
    """``[network]``: the LSTM variant."""

    cells: int | None = _setting(None, "LSTM memory cells (one per block). Default: 10, or 30 for a label per "
                                 "sequence (classify with --sequence), whose readout reads pools of the cells.",
                                 _positive, ">= 1")
    peepholes: bool = _setting(True, "Peephole connections from the cell state to the gates.")
    forget_gate: bool = _setting(True, "Use a forget gate (without it the cell state only accumulates).")
    feedback: bool | str = _setting("auto", 'Feed the previous target/output back: true, false or "auto" '
                                    "(= if the task is generative).")
    feedback_scale: float = _setting(DEFAULT_FEEDBACK_SCALE, "Scale of the fed-back value.", lambda x: x > 0, "> 0")
    init_scale: float = _setting(0.1, "Initial weights are N(0, init_scale^2); also the optimizer's initial step "
                                 "size unless `optimizer.options` sets `sigma0`.", lambda x: x > 0, "> 0")


@dataclass
class ReadoutSettings:
    """``[readout]``: the least-squares output layer."""

    rcond: float = _setting(DEFAULT_RCOND, "Singular values below rcond * largest are cut (pseudo-inverse).",
                            lambda x: 0 <= x < 1, "in [0, 1)")
    ridge: float | str | None = _setting(None, 'Ridge (Tikhonov) strength on the cell weights; 0 = pseudo-inverse; '
                                         '"auto" = per genome, the strength of `ridge_grid` that validates best. '
                                         'Default: 0 on noise-free benchmark tasks, "auto" otherwise.',
                                         lambda x: isinstance(x, str) or x >= 0, '>= 0 or "auto"')
    ridge_grid: list | None = _setting(None, 'The strengths "auto" tries (default [0, 1e-8, 1e-6, 1e-4, 1e-2, 1, '
                                       "100, 1e8]).")
    lags: int | str | None = _setting(None, 'Steps of inputs and fed-back values the readout sees directly; "auto" '
                                      "= the order of the best linear model on validation. Default: 0 on noise-free "
                                      'benchmark tasks, "auto" otherwise.',
                                      lambda x: isinstance(x, str) or x >= 0, '>= 0 or "auto"')
    bias: bool = _setting(True, "Add a bias column to the readout.")
    pool: str | None = _setting(None, 'What the readout sees of a sequence whose label ends it, during evolution: '
                                '"last" (the cell outputs at the last step), "mean", "max" or several joined by '
                                '"+"; the final model is chosen on validation among their subsets. Default: '
                                '"last+mean+max" on such tasks, "last" otherwise (other tasks need "last").',
                                _valid_pool, '"last", "mean", "max" joined by "+"')


@dataclass
class OptimizerSettings:
    """``[optimizer]``: the evolutionary search over hidden weights."""

    name: str = _setting("sep-cma", "Registered optimizer name (`python -m evolino optimizers`). The default, "
                         "sep-CMA-ES, matches full CMA-ES (`cma`) on the papers' tasks at a fraction of the cost "
                         "(docs/optimizers/cma.md).")
    population: int = _setting(40, "Genomes per generation.", _positive, ">= 1")
    options: dict = _setting(dict, "Keyword options of the optimizer, e.g. `{ sigma0 = 0.1 }` "
                             "(CLI: `--opt KEY=VALUE`).")


@dataclass
class StopSettings:
    """``[stop]``: when a run ends (the first rule that fires)."""

    generations: int = _setting(300, "Generation budget.", _positive, ">= 1")
    target_error: float | None = _setting(None, "Stop when the best fitness (the error evolution minimises) is "
                                          "<= this value.", _non_negative, ">= 0")
    max_evaluations: int | None = _setting(None, "Stop after this many fitness evaluations.", _positive, ">= 1")
    max_seconds: float | None = _setting(None, "Stop after this much wall-clock time (checked after each "
                                         "generation; not reproducible, unlike the other budgets).",
                                         lambda x: x > 0, "> 0")


@dataclass
class BackendSettings:
    """``[backend]``: where fitness is evaluated."""

    name: str = _setting("serial", '"serial" (this process) or "ray" (local cores or a Ray cluster).')
    address: str | None = _setting(None, 'Ray cluster address ("auto", "HOST:PORT", "ray://HOST:10001"); '
                                   "ray only.")
    workers: int | None = _setting(None, "Cap on Ray evaluation actors; ray only.", _positive, ">= 1")
    chunks_per_worker: int | None = _setting(None, "Chunks per Ray actor and generation (default: 1 while the actors "
                                             "are on one node, 4 when they span nodes, for load balance); ray only.",
                                             _positive, ">= 1")


@dataclass
class OutputSettings:
    """``[output]``: files of the run."""

    dir: str = _setting("runs/latest", "Output folder (CLI: `--out`). A relative path is relative to the working "
                        "directory, not to this config file (unlike `task.data` and `task.test`): a run's own "
                        "`DIR/config.toml` names `DIR` as given, so repeat it from anywhere with `--out NEW`.")
    checkpoint_every: int = _setting(25, "Write a checkpoint every this many generations (also at the end and "
                                     "on Ctrl-C); 0 = only then.", _non_negative, ">= 0")
    keep_checkpoints: int = _setting(2, "How many checkpoints to keep (the newest). A CMA-ES checkpoint of d "
                                     "weights and population p takes about 4 d^2 + 16 p d bytes (1.5 MB at 10 "
                                     "cells, 75 MB at 30 cells and p = 200); other optimizers' are O(p d).",
                                     _positive, ">= 1")
    progress_every: int = _setting(10, "When output is not a terminal, print one progress line every this many "
                                   "generations.", _positive, ">= 1")
    plots: bool = _setting(True, "Write PNG plots and report.md at the end (CLI: `--no-plots`).")


@dataclass
class ForecastSettings:
    """``[forecast]``: how a series of your own is forecast (``task.kind = "generate"`` on a data file; see
    docs/forecasting.md). Every choice is made on a rolling-origin backtest inside the training and validation parts."""

    season: int | None = _setting(None, "Season length in steps (0: none). Default: from the date column's "
                                  "frequency (monthly 12, quarterly 4, daily 7, hourly 24), else from the "
                                  "autocorrelation.", _non_negative, ">= 0")
    transform: str = _setting("auto", '"auto" (chosen on the backtest) or one of none, log, diff, seasonal-diff, '
                              "diff+seasonal-diff, log+diff, log+seasonal-diff, log+diff+seasonal-diff.")
    ensemble: int | str = _setting("auto", 'Networks averaged in the forecast: a number, or "auto" (1, 3 or 5, '
                                   "chosen on the backtest).", lambda x: isinstance(x, str) or x >= 1,
                                   '>= 1 or "auto"')
    origins: int = _setting(5, "Forecast origins of the backtest, spread over the last two test-lengths of the "
                            "seen data.", _positive, ">= 1")
    interval: float = _setting(0.9, "Level of the prediction intervals whose test coverage result.json reports "
                               "(`generate --interval` chooses its own).", lambda x: 0 < x < 1, "in (0, 1)")


@dataclass
class RunConfig:
    """A whole run: the seed plus one settings object per TOML section."""

    seed: int = _setting(0, "Seed of every random number in the run.", _non_negative, ">= 0")
    task: TaskSettings = field(default_factory=TaskSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    readout: ReadoutSettings = field(default_factory=ReadoutSettings)
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    stop: StopSettings = field(default_factory=StopSettings)
    backend: BackendSettings = field(default_factory=BackendSettings)
    forecast: ForecastSettings = field(default_factory=ForecastSettings)
    output: OutputSettings = field(default_factory=OutputSettings)


SECTIONS: dict[str, type] = {f.name: f.default_factory for f in fields(RunConfig) if f.name != "seed"}
_TOP_LEVEL = ("seed",)


# ----------------------------------------------------------------------------------------------------------- types


def _allowed_types(cls: type, name: str) -> tuple[type, ...]:
    """The runtime types the annotation of field ``name`` of the dataclass ``cls`` admits."""
    hint = typing.get_type_hints(cls)[name]  # resolves the strings of ``from __future__ import annotations``
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return tuple(t for t in typing.get_args(hint))
    return (hint,)


_TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string", dict: "a table",
               list: "an array"}


def _describe(value) -> str:
    kind = {bool: "boolean", int: "integer", float: "float", str: "string", dict: "table", list: "array"}
    return f"{value!r} ({kind.get(type(value), type(value).__name__)})"


def _check_field(key: str, cls: type, name: str, value):
    """Return ``value`` converted to the type of field ``name`` of ``cls``, or raise ConfigError naming ``key``."""
    spec = _field(cls, name)
    allowed = _allowed_types(cls, name)
    if value is None:
        if type(None) in allowed:
            return None
        raise ConfigError(f"{key} must not be empty")
    ok = None
    for kind in allowed:
        if kind is bool and isinstance(value, bool):
            ok = value
        elif kind is int and isinstance(value, int) and not isinstance(value, bool):
            ok = value
        elif kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            ok = float(value)
        elif kind is str and isinstance(value, str):
            ok = value
        elif kind is dict and isinstance(value, dict):
            ok = value
        elif kind is list and isinstance(value, list):
            ok = value
        if ok is not None:
            break
    if ok is None:
        words = " or ".join(_TYPE_WORDS[k] for k in allowed if k is not type(None))
        raise ConfigError(f"{key} must be {words}, got {_describe(value)}")
    if isinstance(ok, float) and not math.isfinite(ok):
        raise ConfigError(f"{key} must be finite, got {ok!r}")
    check = spec.metadata.get("check")
    if check is not None and not check(ok):
        raise ConfigError(f"{key} must be {spec.metadata['rule']}, got {ok!r}")
    return ok


def _check_plain_values(key: str, table: dict) -> dict:
    """Options tables hold scalars (or arrays of scalars) only: they are written back to TOML."""
    for name, value in table.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(f"{key}: option names must be identifiers, got {name!r}")
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if not isinstance(item, (bool, int, float, str)):
                raise ConfigError(f"{key}.{name} must be a number, string, boolean or an array of them, "
                                  f"got {_describe(item)}")
            if isinstance(item, float) and not math.isfinite(item):
                raise ConfigError(f"{key}.{name} must be finite, got {item!r}")
    return {name: list(v) if isinstance(v, tuple) else v for name, v in table.items()}


# --------------------------------------------------------------------------------------------------------- reading


def config_from_dict(data: dict, base: RunConfig | None = None, registered: bool = True) -> RunConfig:
    """Build a validated :class:`RunConfig` from nested dicts (as TOML gives them), on top of ``base``.

    Raises ConfigError naming the key for unknown keys, wrong types and out-of-range values. ``registered=False``
    accepts a task name that is not registered here (a run folder's task.npz holds the task).
    """
    config = base if base is not None else RunConfig()
    updates = {}
    for name, value in data.items():
        if name in _TOP_LEVEL:
            updates[name] = _check_field(name, RunConfig, name, value)
        elif name in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"[{name}] must be a table, got {_describe(value)}")
            updates[name] = _section_from_dict(name, value, getattr(config, name))
        else:
            raise ConfigError(f"unknown key {name!r}; valid top-level keys: "
                              f"{', '.join([*_TOP_LEVEL, *(f'[{s}]' for s in SECTIONS)])}")
    return validate_config(replace(config, **updates), registered)


def _field(cls: type, name: str):
    return next(f for f in fields(cls) if f.name == name)


def _section_from_dict(section: str, data: dict, current):
    cls = type(current)
    known = {f.name: f for f in fields(cls)}
    values = {}
    for name, value in data.items():
        key = f"{section}.{name}"
        if name not in known:
            raise ConfigError(f"unknown key {key!r}; valid keys in [{section}]: {', '.join(known)}")
        value = _check_field(key, cls, name, value)
        if isinstance(value, dict):
            value = _check_plain_values(key, value)
        elif isinstance(value, list):
            value = _check_plain_values(key, {"items": value})["items"]
        values[name] = value
    return replace(current, **values)


def load_config(path: str | Path, registered: bool = True) -> RunConfig:
    """Read and validate a TOML run configuration; errors are prefixed with the file name. ``registered=False``: see
    :func:`config_from_dict`."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {str(path)!r} is a folder") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    try:
        config = config_from_dict(data, registered=registered)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    for key in ("data", "test"):  # relative to the file
        value = getattr(config.task, key)
        if value is not None and not Path(value).is_absolute():
            config = replace(config, task=replace(config.task, **{key: str((path.parent / value).resolve())}))
    return config


def apply_overrides(config: RunConfig, overrides: dict[str, object]) -> RunConfig:
    """Set dotted keys (``{"network.cells": 20, "seed": 3}``) and validate; ``None`` values are skipped.

    ``optimizer.options`` and ``task.options`` given here are merged into the existing tables.
    """
    nested: dict[str, dict] = {}
    top = {}
    for key, value in overrides.items():
        if value is None:
            continue
        section, _, name = key.partition(".")
        if not name:
            top[section] = value
            continue
        if name == "options":
            value = {**getattr(config, section).options, **value}
        nested.setdefault(section, {})[name] = value
    return config_from_dict({**top, **nested}, base=config)


def _check_optimizer(settings: OptimizerSettings) -> None:
    """Option keys and types first (:func:`evolino.optimizers.check_options`), then builds on a stand-in genome
    (8 genes, 2 cells): with the population alone, then with the options, so that a bad value fails now, before any
    work, under the key that set it. Checks that need the real genome are left to the real build."""
    from evolino.optimizers import check_options, make_optimizer

    try:
        check_options(settings.name, settings.options)
    except ValueError as exc:
        raise ConfigError(f"optimizer.options: {exc}") from None
    trials = [("optimizer.population", {})] + ([("optimizer.options", settings.options)] if settings.options else [])
    for key, options in trials:
        try:
            make_optimizer(settings.name, np.zeros(8), np.random.default_rng(0), settings.population,
                           [slice(0, 4), slice(4, 8)], **options)
        except ValueError as exc:
            raise ConfigError(f"{key}: {exc}") from None


def _check_task(task: TaskSettings, known: list[str] | None) -> None:
    from evolino.metrics import METRICS
    from evolino.tasks.data import KINDS

    if task.data is None:
        if task.name is not None and known is not None and task.name not in known:
            raise ConfigError(f"task.name: unknown task {task.name!r}; known tasks: {', '.join(known)} "
                              "(or give a data file: task.data, --data FILE)")
        given = [key for key in (*DATA_KEYS, "test") if getattr(task, key) is not None]
        if given:
            raise ConfigError(f"task.{given[0]} describes a data file: it needs task.data (--data FILE)")
        return
    if not str(task.data).strip():
        raise ConfigError("task.data must not be empty")
    if task.options:
        raise ConfigError("task.options are options of a registered task; a data file takes the [task] keys")
    choices = {"kind": KINDS, "metric": METRICS, "missing": ("error", "interpolate")}
    for key, allowed in choices.items():
        value = getattr(task, key)
        if value is not None and value not in allowed:
            raise ConfigError(f"task.{key} must be one of {', '.join(allowed)}, got {value!r}")
    for key in ("target", "inputs"):
        value = getattr(task, key)
        items = value if isinstance(value, list) else [] if value is None else [value]
        if any(isinstance(v, (bool, float)) for v in items) or (isinstance(value, list) and not value):
            raise ConfigError(f"task.{key} must name columns (names or 0-based indices), got {value!r}")
    if task.split is not None and (len(task.split) != 3 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in task.split)):
        raise ConfigError(f"task.split must be three numbers (train, validation, test), got {task.split!r}")


def validate_config(config: RunConfig, registered: bool = True) -> RunConfig:
    """Checks across keys and against the registries of tasks (unless ``registered`` is False), optimizers and
    backends."""
    from evolino.backends import backend_names
    from evolino.optimizers import check_name
    from evolino.tasks import task_names

    _check_task(config.task, task_names() if registered else None)
    try:
        check_name(config.optimizer.name)
    except ValueError as exc:
        raise ConfigError(f"optimizer.name: {exc}") from None
    _check_optimizer(config.optimizer)
    if config.backend.name not in backend_names():
        raise ConfigError(f"backend.name: unknown backend {config.backend.name!r}; "
                          f"choose one of {', '.join(backend_names())}")
    if config.backend.name != "ray":
        for name in ("address", "workers", "chunks_per_worker"):
            if getattr(config.backend, name) is not None:
                raise ConfigError(f"backend.{name} needs backend.name = \"ray\" (--backend ray)")
    feedback = config.network.feedback
    if isinstance(feedback, str) and feedback != "auto":
        raise ConfigError(f'network.feedback must be true, false or "auto", got {feedback!r}')
    for key in ("ridge", "lags"):
        value = getattr(config.readout, key)
        if isinstance(value, str) and value != "auto":
            raise ConfigError(f'readout.{key} must be a number >= 0 or "auto", got {value!r}')
    if isinstance(config.readout.lags, float):
        raise ConfigError(f"readout.lags must be an integer, got {config.readout.lags!r}")
    grid = config.readout.ridge_grid
    if grid is not None and (not grid or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
                                                  for v in grid)):
        raise ConfigError(f"readout.ridge_grid must be a non-empty array of numbers >= 0, got {grid!r}")
    if not config.output.dir.strip():
        raise ConfigError("output.dir must not be empty")
    _check_forecast(config.forecast)
    return config


def _check_forecast(settings: ForecastSettings) -> None:
    from evolino.forecasting.transforms import TRANSFORM_NAMES

    if settings.transform != "auto" and settings.transform not in TRANSFORM_NAMES:
        raise ConfigError(f"forecast.transform must be auto or one of {', '.join(TRANSFORM_NAMES)}, got "
                          f"{settings.transform!r}")
    if isinstance(settings.ensemble, str) and settings.ensemble != "auto":
        raise ConfigError(f'forecast.ensemble must be a number >= 1 or "auto", got {settings.ensemble!r}')


def forecaster_params(config: RunConfig) -> dict:
    """Keyword arguments of :class:`evolino.forecasting.Forecaster` besides its estimator."""
    return {"season": config.forecast.season, "transform": config.forecast.transform,
            "ensemble": config.forecast.ensemble, "origins": config.forecast.origins,
            "interval": config.forecast.interval}


# --------------------------------------------------------------------------------------------------------- writing


def toml_value(value) -> str:
    """A Python value (bool, int, float, str, list, dict) as TOML text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back to the same float
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic strings
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise ConfigError(f"cannot write {value!r} to TOML")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)  # "task.name" stays one key


def config_to_toml(config: RunConfig, header: str = "# evolino run configuration (fully resolved); repeat with: "
                   "python -m evolino run --config FILE --out NEW_DIR") -> str:
    """The fully resolved configuration as TOML text (``None`` keys are left out: TOML has no null)."""
    data = asdict(config)
    lines = [header, ""]
    for name in _TOP_LEVEL:
        lines.append(f"{name} = {toml_value(data[name])}")
    for section in SECTIONS:
        lines += ["", f"[{section}]"]
        for name, value in data[section].items():
            if value is not None:
                lines.append(f"{name} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


def write_config(path: str | Path, config: RunConfig) -> Path:
    """Write ``config`` as TOML, atomically."""
    import os

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(config_to_toml(config))
    os.replace(tmp, path)
    return path


def estimator_params(config: RunConfig) -> dict:
    """Keyword arguments of :class:`evolino.trainer.Evolino` for this configuration (its checkpoint settings are
    arguments of ``fit``: :class:`evolino.trainer.RunControls`)."""
    backend_options = {name: getattr(config.backend, name) for name in ("address", "workers", "chunks_per_worker")
                       if getattr(config.backend, name) is not None}
    feedback = None if config.network.feedback == "auto" else bool(config.network.feedback)
    return {
        "cells": config.network.cells,
        "optimizer": config.optimizer.name,
        "population": config.optimizer.population,
        "generations": config.stop.generations,
        "seed": config.seed,
        "peepholes": config.network.peepholes,
        "forget_gate": config.network.forget_gate,
        "feedback": feedback,
        "feedback_scale": config.network.feedback_scale,
        "init_scale": config.network.init_scale,
        "rcond": config.readout.rcond,
        "ridge": config.readout.ridge,
        "ridge_grid": None if config.readout.ridge_grid is None else tuple(float(v) for v in config.readout.ridge_grid),
        "readout_lags": config.readout.lags,
        "readout_pool": config.readout.pool,
        "holdout": config.task.holdout,
        "readout_bias": config.readout.bias,
        "optimizer_options": dict(config.optimizer.options),
        "backend": config.backend.name,
        "backend_options": backend_options,
        "target_error": config.stop.target_error,
        "max_evaluations": config.stop.max_evaluations,
        "max_seconds": config.stop.max_seconds,
    }


def default_of(spec) -> object:
    """The default value of a dataclass field (used by the reference generator)."""
    if spec.default is not MISSING:
        return spec.default
    if spec.default_factory is not MISSING:
        return spec.default_factory()
    return None
