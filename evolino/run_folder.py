"""The task side of a run folder: what lets ``resume``, ``report``, ``predict``, ``generate`` and
``run --config DIR/config.toml`` work on the folder alone, on another machine, with plain ``python -m evolino``.

Besides the results (:mod:`evolino.reporting`) a run folder holds:

``config.toml``  the run's settings; for a data file, ``[task] data = "data.npz"`` and the columns by name
``data.npz``     the columns of the user's file that the task uses, in original units, and its column of dates as
                 ISO text (data-file runs only)
``task.npz``     the task as it was built: every sequence (in model units), the protocol and the scaler
                 (:meth:`evolino.tasks.Task.save`), so that a task registered by a script of your own needs no script
``task.json``    the task's description: kind, columns, split sizes, scaling, the source file and its SHA-256

A folder holds one run: :data:`RUN_FILES` and ``checkpoints/`` are the files a run (and ``predict`` / ``generate``
into the folder) writes; :func:`run_files` lists those present, :func:`clear_run` removes them (``run --overwrite``),
and :func:`remove_new_run` takes back a run that failed before writing anything of its own (an unreachable cluster),
folders it created included.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from evolino.atomic import is_temporary, remove_temporaries, write_text
from evolino.checkpoint import CHECKPOINT_FOLDER, clear_checkpoints, holds_checkpoint_files
from evolino.config import TaskSettings
from evolino.errors import ConfigError
from evolino.tasks import Task, make_task
from evolino.tasks.data import Table, data_task, read_table, save_table

__all__ = ["DEFAULT_TASK", "RUN_FILES", "build_task", "write_task_files", "load_run_task", "run_files", "clear_run",
           "missing_folders", "remove_new_run"]

DEFAULT_TASK = "mso2"

# Every file of a run folder besides checkpoints/ (results, plots, the task, the copy of the data, the settings, and
# the outputs of predict and generate).
RUN_FILES = ("config.toml", "result.json", "history.csv", "model.npz", "test_outputs.csv", "learning_curve.png",
             "test_window.png", "confusion.png", "report.md", "task.npz", "task.json", "data.npz", "test.npz",
             "predictions.csv", "generated.csv")


def build_task(settings: TaskSettings) -> tuple[Task, Table | None]:
    """The task a ``[task]`` table describes, and the table of its data file (None for a registered task).

    Raises ValueError (one line, naming the file and column) for bad data, ConfigError for bad task options.
    """
    if settings.data is None:
        try:
            return make_task(settings.name or DEFAULT_TASK, **settings.options), None
        except TypeError as exc:
            raise ConfigError(f"task.options: {exc}") from None
    table = read_table(settings.data, header=settings.header, time=settings.time)
    test = None if settings.test is None else read_table(settings.test, header=settings.header, time=settings.time)
    try:
        task = data_task(table, name=settings.name, test=test, **settings.data_keys())
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
        time = columns.get("time")
        if time is not None and table.time_name != time:
            table = table.with_time(time)
        elif time is None and table.time_name is not None:  # dates the task does not use as its index
            table = replace(table, time=None, time_name=None)
        used = [*columns["targets"], *columns["inputs"], *(c for c in (columns["sequence"], time) if c is not None)]
        save_table(table, folder / "data.npz", [table.names.index(name) for name in used])
        test = None
        if settings.test is not None:  # the test file's copy beside the data's
            test = read_table(settings.test, header=settings.header, time=settings.time)
            save_table(test, folder / "test.npz", [test.names.index(name) for name in used])
            test = "test.npz"
        settings = replace(settings, data="data.npz", header=None, name=task.name,
                           target=list(columns["targets"]), inputs=list(columns["inputs"]) or None,
                           sequence=columns["sequence"], time=time, test=test)
    elif settings.name is None:  # the default task, named, so that the file says what the run learned
        settings = replace(settings, name=DEFAULT_TASK)
    task.save(folder / "task.npz")
    write_text(folder / "task.json", json.dumps(task.describe(), indent=2, sort_keys=True, default=str) + "\n")
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


def run_files(folder: str | os.PathLike) -> list[str]:
    """The files of a run in ``folder``: names of :data:`RUN_FILES` present, ``checkpoints/`` when it holds
    checkpoints, and temporary files that an interrupted writer left (empty when the folder does not exist)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    names = [name for name in RUN_FILES if (folder / name).exists()]
    if holds_checkpoint_files(folder):
        names.append(CHECKPOINT_FOLDER + "/")
    names += sorted(p.name for p in folder.iterdir() if is_temporary(p.name))
    return names


def clear_run(folder: str | os.PathLike) -> None:
    """Remove every file of the run in ``folder`` (see :func:`run_files`); other files stay."""
    folder = Path(folder)
    for name in RUN_FILES:
        (folder / name).unlink(missing_ok=True)
    clear_checkpoints(folder)
    remove_temporaries(folder)


def missing_folders(folder: str | os.PathLike) -> list[Path]:
    """``folder`` and those of its parents that do not exist (yet), deepest first."""
    missing = []
    path = Path(os.path.abspath(folder))
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


def remove_new_run(folder: str | os.PathLike, created: list[Path]) -> None:
    """Take back a run that failed before it wrote anything of its own: remove its files from ``folder``, then the
    folders of ``created`` (from :func:`missing_folders` before the run) that are empty now."""
    try:
        clear_run(folder)
    except OSError:  # an unwritable folder: the run could not have written anything there either
        pass
    for path in created:
        try:
            path.rmdir()
        except OSError:  # not empty (a file of someone else's) or gone: leave it
            break
