"""The task side of a run folder: what lets ``resume``, ``report``, ``predict``, ``generate`` and
``run --config DIR/config.toml`` work on the folder alone, on another machine, with plain ``python -m evolino``.

Besides the results (:mod:`evolino.reporting`) a run folder holds:

``config.toml``  the run's settings; for a data file, ``[task] data = "data.npz"`` and the columns by name
``data.npz``     the columns of the user's file that the task uses, in original units (data-file runs only)
``task.npz``     the task as it was built: every sequence (in model units), the protocol and the scaler
                 (:meth:`evolino.tasks.Task.save`), so that a task registered by a script of your own needs no script
``task.json``    the task's description: kind, columns, split sizes, scaling, the source file and its SHA-256
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from evolino.config import TaskSettings
from evolino.errors import ConfigError
from evolino.tasks import Task, make_task
from evolino.tasks.data import Table, data_task, read_table, save_table

__all__ = ["DEFAULT_TASK", "build_task", "write_task_files", "load_run_task"]

DEFAULT_TASK = "mso2"


def build_task(settings: TaskSettings) -> tuple[Task, Table | None]:
    """The task a ``[task]`` table describes, and the table of its data file (None for a registered task).

    Raises ValueError (one line, naming the file and column) for bad data, ConfigError for bad task options.
    """
    if settings.data is None:
        try:
            return make_task(settings.name or DEFAULT_TASK, **settings.options), None
        except TypeError as exc:
            raise ConfigError(f"task.options: {exc}") from None
    table = read_table(settings.data, header=settings.header)
    try:
        task = data_task(table, name=settings.name, **settings.data_keys())
    except TypeError as exc:  # e.g. a split of the wrong shape from a config written by hand
        raise ConfigError(f"[task]: {exc}") from None
    return task, table


def write_task_files(folder: str | os.PathLike, task: Task, table: Table | None,
                     settings: TaskSettings) -> TaskSettings:
    """Write task.npz and task.json (and data.npz for a data file) into ``folder``; returns the ``[task]`` settings
    that rebuild the same task from the folder (the data file replaced by ``data.npz``, columns named)."""
    folder = Path(folder)
    if table is not None:
        columns = task.info["columns"]
        used = [*columns["targets"], *columns["inputs"], *([columns["sequence"]] if columns["sequence"] else [])]
        save_table(table, folder / "data.npz", [table.names.index(name) for name in used])
        settings = replace(settings, data="data.npz", header=None, name=task.name,
                           target=list(columns["targets"]), inputs=list(columns["inputs"]) or None,
                           sequence=columns["sequence"])
    task.save(folder / "task.npz")
    tmp = folder / "task.json.tmp"
    tmp.write_text(json.dumps(task.describe(), indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, folder / "task.json")
    return settings


def load_run_task(folder: str | os.PathLike) -> Task:
    """The task a run folder was trained on: ``task.npz``, or (folders written before it existed) rebuilt from
    ``config.toml``."""
    from evolino.config import load_config

    folder = Path(folder)
    if (folder / "task.npz").is_file():
        try:
            return Task.load(folder / "task.npz")
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(f"cannot read {folder / 'task.npz'}: {exc}") from None
    if not (folder / "config.toml").is_file():
        raise ConfigError(f"{folder} is not a run folder (no task.npz, no config.toml)")
    return build_task(load_config(folder / "config.toml").task)[0]
