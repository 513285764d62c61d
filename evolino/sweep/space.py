"""Sweep files: a base run configuration, a search space over its keys, seeds, and the sweep's budget.

Idea
----
A sweep is many ordinary evolino runs that differ in a few settings. The file that describes it is a run
configuration (the sections of ``python -m evolino run --config``, or ``base = "run.toml"``) plus a ``[sweep]``
table::

    [task]
    name = "mso3"
    [network]
    cells = 15
    [stop]
    generations = 100

    [sweep]
    seeds = 3                    # or a list: [0, 1, 2]; every setting runs once per seed
    search = "grid"              # "grid" (default), "random" or "optuna"
    samples = 8                  # random / optuna: how many settings to draw
    scheduler = "fifo"           # or "asha": stop trials early on their per-generation fitness
    max_seconds = 3600           # wall-clock budget of the whole sweep (optional)
    max_concurrent = 2           # trials at once (default: as many as the cluster has CPUs)

    [sweep.space]
    "network.cells" = [10, 15, 20]                        # a list: grid values, crossed with every other grid key
    "network.feedback_scale" = { loguniform = [1e-6, 1e-2] }
    "network.init_scale" = { uniform = [0.05, 0.5] }
    "readout.ridge" = { choice = [0, 1e-8, "auto"] }

``settings = [{ "task.name" = "mso2", "network.cells" = 10 }, { "task.name" = "mso3", "network.cells" = 15 }]``
in ``[sweep]`` lists settings that go together, each crossed with the space and the seeds.
Keys of ``[sweep.space]`` are the dotted keys of a run configuration (``docs/configuration.md``); every value is
checked against the key's rules before anything runs. Grid keys are crossed; the sampled keys (``uniform``,
``loguniform``, ``choice``) are drawn ``samples`` times, each draw crossed with the grid; every resulting setting
runs once per seed.

Planned trials
--------------
For ``grid`` and ``random`` search the trials are planned up front (:func:`plan_trials`): the draws come from
``numpy.random.default_rng(sweep.seed)``, never from Ray, so the same file gives the same trials, names and configs
on every machine, and an interrupted sweep knows exactly which trials are left. ``optuna`` proposes settings as
results come in (Ray Tune's ``OptunaSearch``, seeded); its trials are numbered in the order they start.

Every problem with a sweep file raises :class:`evolino.errors.ConfigError` with one line naming the key.
"""

from __future__ import annotations

import itertools
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from evolino.config import RunConfig, apply_overrides, config_from_dict
from evolino.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Dimension", "SweepSpec", "Trial", "load_sweep", "sweep_from_dict", "plan_trials", "trial_config",
           "sweep_to_toml", "SEARCHES", "SCHEDULERS"]

SEARCHES = ("grid", "random", "optuna")
SCHEDULERS = ("fifo", "asha")
SAMPLED = ("uniform", "loguniform", "choice")
_SWEEP_KEYS = ("base", "seeds", "search", "samples", "scheduler", "grace_generations", "max_seconds",
               "max_concurrent", "seed", "space", "settings")


@dataclass(frozen=True)
class Dimension:
    """One swept key: ``kind`` "grid" or "choice" with ``values``, or "uniform" / "loguniform" with (low, high)."""

    key: str
    kind: str
    values: tuple

    @property
    def sampled(self) -> bool:
        return self.kind in SAMPLED

    def draw(self, rng: np.random.Generator):
        """One value of a sampled dimension."""
        if self.kind == "choice":
            return self.values[int(rng.integers(len(self.values)))]
        low, high = self.values
        if self.kind == "uniform":
            return float(rng.uniform(low, high))
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))


@dataclass(frozen=True)
class SweepSpec:
    """A parsed, validated sweep file (see the module docstring for each field's meaning)."""

    base: RunConfig
    dimensions: tuple[Dimension, ...]
    seeds: tuple[int, ...]
    listed: tuple[dict, ...] = ()
    search: str = "grid"
    samples: int = 1
    scheduler: str = "fifo"
    grace_generations: int = 10
    max_seconds: float | None = None
    max_concurrent: int | None = None
    seed: int = 0

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key a trial's settings hold: the listed settings' keys, then the space's."""
        listed = dict.fromkeys(key for setting in self.listed for key in setting)
        return (*listed, *(d.key for d in self.dimensions if d.key not in listed))

    @property
    def grid(self) -> tuple[Dimension, ...]:
        return tuple(d for d in self.dimensions if not d.sampled)

    @property
    def sampled(self) -> tuple[Dimension, ...]:
        return tuple(d for d in self.dimensions if d.sampled)

    def as_dict(self) -> dict:
        """JSON-ready description (written to the sweep folder beside the plan)."""
        return {"search": self.search, "samples": None if self.search == "grid" else self.samples,
                "scheduler": self.scheduler,
                "grace_generations": self.grace_generations, "max_seconds": self.max_seconds,
                "max_concurrent": self.max_concurrent, "seed": self.seed, "seeds": list(self.seeds),
                "settings": [dict(setting) for setting in self.listed] or None,
                "space": {d.key: {d.kind: list(d.values)} for d in self.dimensions}}


@dataclass(frozen=True)
class Trial:
    """One run of a sweep: its folder name, the swept settings (dotted key -> value) and the run's seed."""

    name: str
    settings: dict
    seed: int

    def as_dict(self) -> dict:
        return {"name": self.name, "settings": dict(self.settings), "seed": self.seed}


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file; errors are prefixed with the file name."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"sweep file {str(path)!r} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"sweep file {str(path)!r} is a folder") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read sweep file {str(path)!r}: {exc.strerror or exc}") from None
    try:
        return sweep_from_dict(data, folder=path.parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def sweep_from_dict(data: dict, folder: str | Path = ".") -> SweepSpec:
    """Build a :class:`SweepSpec` from nested dicts (as TOML gives them); relative paths are relative to ``folder``."""
    data = dict(data)
    sweep = data.pop("sweep", None)
    if not isinstance(sweep, dict):
        raise ConfigError("no [sweep] table: a sweep file is a run configuration plus a [sweep] table with the "
                          "search space ([sweep.space]) and/or seeds")
    unknown = sorted(set(sweep) - set(_SWEEP_KEYS))
    if unknown:
        raise ConfigError(f"unknown key 'sweep.{unknown[0]}'; valid keys in [sweep]: {', '.join(_SWEEP_KEYS)}")
    base = _base_config(sweep.get("base"), data, Path(folder))
    if base.backend.name != "serial":
        raise ConfigError(f"backend.name = {base.backend.name!r}: every trial of a sweep is one run on one CPU, and "
                          "the sweep itself spreads the trials over the cluster; use the serial backend")
    search = _word("sweep.search", sweep.get("search", "grid"), SEARCHES)
    dimensions = tuple(_dimension(key, value, base) for key, value in _space(sweep.get("space", {})).items())
    seeds = _seeds(sweep.get("seeds"), base.seed)
    listed = _listed(sweep.get("settings"), base, {d.key for d in dimensions})
    if not dimensions and not listed and "seeds" not in sweep:
        raise ConfigError("the sweep has no trials: give keys to vary in [sweep.space], sweep.settings, or "
                          "sweep.seeds")
    if any(d.key == "seed" for d in dimensions):
        raise ConfigError("sweep.space: sweep the seed with sweep.seeds, not as a key of the space")
    has_samples = "samples" in sweep
    samples = _integer("sweep.samples", sweep.get("samples", 1), 1)
    sampled = [d for d in dimensions if d.sampled]
    if search == "grid" and sampled:
        raise ConfigError(f"sweep.space.{sampled[0].key}: a {sampled[0].kind} range needs search = \"random\" or "
                          "\"optuna\" (grid search takes lists of values)")
    if search == "grid" and has_samples:
        raise ConfigError("sweep.samples: grid search runs every grid point once per seed; samples is for random "
                          "and optuna search")
    if search != "grid" and not sampled:
        raise ConfigError(f"sweep.space: {search} search needs at least one uniform, loguniform or choice key")
    if search == "optuna":
        if listed:
            raise ConfigError("sweep.settings: optuna proposes every setting itself; list settings with grid or "
                              "random search")
        grid = [d for d in dimensions if not d.sampled]
        if grid:
            raise ConfigError(f"sweep.space.{grid[0].key}: optuna proposes every value itself; write "
                              "{ choice = [...] } instead of a grid list")
        if len(seeds) > 1:
            raise ConfigError("sweep.seeds: optuna search runs one seed per proposed setting (the run's seed)")
    spec = SweepSpec(
        base=base, dimensions=dimensions, seeds=seeds, listed=listed, search=search, samples=samples,
        scheduler=_word("sweep.scheduler", sweep.get("scheduler", "fifo"), SCHEDULERS),
        grace_generations=_integer("sweep.grace_generations", sweep.get("grace_generations", 10), 1),
        max_seconds=_positive_number("sweep.max_seconds", sweep.get("max_seconds")),
        max_concurrent=None if sweep.get("max_concurrent") is None
        else _integer("sweep.max_concurrent", sweep["max_concurrent"], 1),
        seed=_integer("sweep.seed", sweep.get("seed", 0), 0))
    return spec


def plan_trials(spec: SweepSpec) -> list[Trial]:
    """Every trial of a grid or random sweep, in a fixed order: settings (listed x draws x grid) outer, seeds
    inner.

    Names are ``trial_0000``, ``trial_0001``, ...; the draws come from ``default_rng(spec.seed)`` in the order of
    the settings, so the plan depends on the file alone.
    """
    if spec.search == "optuna":
        raise ValueError("optuna sweeps are not planned up front")
    rng = np.random.default_rng(spec.seed)
    grid_points = list(itertools.product(*(d.values for d in spec.grid)))
    draws = spec.samples if spec.sampled else 1
    settings = []
    for listed in spec.listed or ({},):
        for _ in range(draws):
            drawn = {d.key: d.draw(rng) for d in spec.sampled}
            for point in grid_points:
                settings.append({**listed, **dict(zip((d.key for d in spec.grid), point, strict=True)), **drawn})
    trials = []
    for setting in settings:
        for seed in spec.seeds:
            trials.append(Trial(f"trial_{len(trials):04d}", _ordered(setting, spec), seed))
    return trials


def sweep_to_toml(spec: SweepSpec) -> str:
    """The sweep as a self-contained TOML file (the base run config inlined): what ``--resume`` reads back."""
    from evolino.config import config_to_toml, toml_value

    table = spec.as_dict()
    space = table.pop("space")
    lines = [config_to_toml(spec.base, header="# evolino sweep (fully resolved): the base run and [sweep]"), "[sweep]"]
    lines += [f"{key} = {toml_value(value)}" for key, value in table.items() if value is not None]
    lines += ["", "[sweep.space]"]
    lines += [f"{toml_value(key)} = {toml_value(value)}" for key, value in space.items()]
    return "\n".join(lines) + "\n"


def trial_config(spec: SweepSpec, settings: dict, seed: int, folder: str | Path) -> RunConfig:
    """The full run configuration of one trial, writing into ``folder``."""
    config = apply_overrides(spec.base, {**settings, "seed": seed})
    return replace(config, output=replace(config.output, dir=str(folder)))


# ----------------------------------------------------------------------------------------------------------- parts


def _ordered(setting: dict, spec: SweepSpec) -> dict:
    return {key: setting[key] for key in spec.keys if key in setting}


def _base_config(base: object, data: dict, folder: Path) -> RunConfig:
    from evolino.config import load_config

    if base is not None:
        if not isinstance(base, str):
            raise ConfigError(f"sweep.base must be the path of a run configuration, got {base!r}")
        if data:
            raise ConfigError(f"sweep.base names a run configuration; the sections here ({', '.join(data)}) would "
                              "silently compete with it: keep one of the two")
        path = Path(base) if Path(base).is_absolute() else folder / base
        return load_config(path)
    config = config_from_dict(data)
    if config.task.data is not None and not Path(config.task.data).is_absolute():
        config = replace(config, task=replace(config.task, data=str((folder / config.task.data).resolve())))
    return config


def _space(space: object) -> dict:
    if not isinstance(space, dict):
        raise ConfigError(f"[sweep.space] must be a table, got {space!r}")
    flat = {}
    for key, value in space.items():  # TOML turns an unquoted network.cells into {"network": {"cells": ...}}
        if isinstance(value, dict) and not set(value) & {"grid", *SAMPLED}:
            for name, inner in value.items():
                flat[f"{key}.{name}"] = inner
        else:
            flat[key] = value
    return flat


def _dimension(key: str, value: object, base: RunConfig) -> Dimension:
    where = f"sweep.space.{key}"
    if isinstance(value, list):
        kind, values = "grid", value
    elif isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("grid", *SAMPLED):
        kind, values = next(iter(value.items()))
    else:
        raise ConfigError(f"{where} must be a list of values or one of {{ grid = [...] }}, {{ choice = [...] }}, "
                          "{ uniform = [low, high] }, { loguniform = [low, high] }")
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}: {kind} needs a non-empty list, got {values!r}")
    if kind in ("uniform", "loguniform"):
        if len(values) != 2 or not all(_is_number(v) for v in values):
            raise ConfigError(f"{where}: {kind} needs [low, high], two numbers, got {values!r}")
        low, high = (float(v) for v in values)
        if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
            raise ConfigError(f"{where}: {kind} range [{low:g}, {high:g}] is empty (low must be below high)")
        if kind == "loguniform" and low <= 0:
            raise ConfigError(f"{where}: loguniform range [{low:g}, {high:g}] must lie above zero (a log scale "
                              "cannot reach 0 or cross it)")
        checks = [low, high]
        values = [low, high]
    else:
        if len({repr(v) for v in values}) != len(values):
            raise ConfigError(f"{where}: {kind} lists a value twice: {values!r}")
        checks = values
    for candidate in checks:  # each value against the key's own rules, now rather than in trial 37
        try:
            apply_overrides(base, {key: candidate})
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return Dimension(key, kind, tuple(values))


def _listed(value: object, base: RunConfig, swept: set[str]) -> tuple[dict, ...]:
    """``sweep.settings``: a list of tables of dotted keys, each a setting run as it is (with the grid and seeds)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) and v for v in value):
        raise ConfigError("sweep.settings must be a non-empty list of tables of run keys, e.g. "
                          '[{ "task.name" = "mso2", "network.cells" = 10 }]')
    listed = []
    for index, setting in enumerate(value):
        setting = _space(setting)
        for key, item in setting.items():
            where = f"sweep.settings[{index}]"
            if key in swept or key == "seed":
                raise ConfigError(f"{where}.{key}: the key is also swept (in [sweep.space] or sweep.seeds)")
            try:
                apply_overrides(base, {key: item})
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from None
        try:
            apply_overrides(base, setting)
        except ConfigError as exc:
            raise ConfigError(f"sweep.settings[{index}]: {exc}") from None
        listed.append(setting)
    return tuple(listed)


def _seeds(value: object, base_seed: int) -> tuple[int, ...]:
    if value is None:
        return (base_seed,)
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ConfigError(f"sweep.seeds must be a count >= 1 or a list of seeds, got {value}")
        return tuple(range(value))
    if isinstance(value, list) and value and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                                 for s in value):
        if len(set(value)) != len(value):
            raise ConfigError(f"sweep.seeds lists a seed twice: {value}")
        return tuple(value)
    raise ConfigError(f"sweep.seeds must be a count >= 1 or a non-empty list of seeds >= 0, got {value!r}")


def _word(key: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"{key} must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _integer(key: str, value: object, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{key} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _positive_number(key: str, value: object) -> float | None:
    if value is None:
        return None
    if not _is_number(value) or not value > 0 or not math.isfinite(value):
        raise ConfigError(f"{key} must be a number > 0, got {value!r}")
    return float(value)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
