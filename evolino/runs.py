"""A run: from a resolved config to a finished run folder, the one code path of the CLI, sweeps and experiments.

Lifecycle
---------
:func:`start_run` carries a validated :class:`evolino.config.RunConfig` through five steps::

    build the task     (evolino.run_folder.build_task: bad data fails here, before any folder exists)
    build the estimator (Evolino, or a Forecaster for a series of one's own; its problem is checked once, so that a
                         network/task mismatch or an unreachable cluster fails before any work)
    write the folder   (config.toml, the task files; an earlier run's files are refused, or cleared with overwrite)
    train              (progress, history.csv line by line, checkpoints, Ctrl-C as a clean stop)
    report             (result.json, model.npz, test_outputs.csv, plots and report.md; one summary line on stdout)

:func:`resume_run` continues a folder from its newest checkpoint (or starts it again when it has none) with the
same steps, its task read from the folder. Both return a :class:`FinishedRun`; what the user can fix (a folder
holding another run, a full disk, an untrusted checkpoint) raises :class:`evolino.errors.RunError` in one line.

Guarantees
----------
- A run that fails before its training wrote anything (an unreachable cluster, a bad option) takes back what it
  wrote, folders it created included, so a failed start leaves no half folder behind.
- A full disk during a run becomes one line naming the file system, what is intact (the newest checkpoint) and the
  ``resume`` command that goes on; results are written atomically, so nothing is half written.

Nothing here parses arguments or chooses exit codes: the command line (cli.py) does, and nothing in the package
imports it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from evolino.errors import RunError

__all__ = ["FinishedRun", "start_run", "resume_run"]


@dataclass(frozen=True)
class FinishedRun:
    """A run that ended: its folder and the estimator's result (:class:`evolino.trainer.FitResult`)."""

    folder: Path
    result: object

    @property
    def interrupted(self) -> bool:
        """Stopped by Ctrl-C (or SIGTERM) before its last generation: ``resume_run`` goes on."""
        return self.result.stop_reason == "interrupted"


@dataclass(frozen=True)
class _Training:
    """The estimator of a run and how to carry it out: progress display, history.csv's writer and
    :class:`evolino.trainer.RunControls`."""

    estimator: object
    progress: object
    history: object
    controls: object

    def close(self) -> None:
        """End the progress display and close history.csv (both idempotent)."""
        self.progress.close()
        self.history.close()


def start_run(config, *, overwrite: bool = False, quiet: bool = False, callbacks: tuple = (),
              handle_sigint: bool = True) -> FinishedRun:
    """Carry out the run ``config`` into ``config.output.dir``, as ``python -m evolino run`` does.

    Parameters
    ----------
    config : evolino.config.RunConfig
        Validated settings (:func:`evolino.config.load_config`, :func:`evolino.config.apply_overrides`).
    overwrite : bool
        Replace the files of an earlier run in the folder (the default folder ``runs/latest`` is always replaced).
    quiet : bool
        No progress display.
    callbacks : tuple of callables
        Each gets every generation's history row (a sweep reports them to Ray Tune).
    handle_sigint : bool
        Ctrl-C stops the run cleanly after the current generation (False where the caller handles signals).
    """
    from evolino.config import OutputSettings
    from evolino.run_folder import build_task, clear_run, missing_folders, remove_new_run, run_files, write_task_files

    task, table = build_task(config.task)  # bad data fails here, before the run folder exists
    out = Path(config.output.dir)
    earlier = run_files(out)
    latest = out == Path(OutputSettings().dir)  # the default folder holds the latest run: it is replaced
    if earlier and not (overwrite or latest):
        raise RunError(f"{out} holds the files of another run ({_listing(earlier)}); add --overwrite to replace "
                       "them, or choose another --out")
    if earlier and latest and not overwrite:
        print(f"evolino: replacing the earlier run in {out} (give --out DIR to keep runs apart)", file=sys.stderr)
    training = _training(config, out, quiet, task, callbacks, handle_sigint)
    created = missing_folders(out)
    try:
        with _disk_full_in_one_line(out, lambda: False):
            out = _writable(out)
            clear_run(out)  # overwrite: every file of the earlier run goes, so two runs never mix
            config = replace(config, task=write_task_files(out, task, table, config.task))
            _write_config(out / "config.toml", config)
        return _train(config, out, False, training, task)
    except BaseException:
        training.close()
        if not _trained_anything(out):
            remove_new_run(out, created)
        raise


def resume_run(folder: str | Path, *, generations: int | None = None, plots: bool = True, quiet: bool = False,
               trust: bool = False, callbacks: tuple = (), handle_sigint: bool = True) -> FinishedRun:
    """Continue the run in ``folder`` from its newest checkpoint, as ``python -m evolino resume`` does.

    Parameters
    ----------
    folder : path
        A run folder (it holds config.toml).
    generations : int, optional
        A new total number of generations (more than the run had: it goes on).
    plots : bool
        False: no plots, even if the run made them.
    quiet : bool
        No progress display.
    trust : bool
        Load checkpoints written by another user (they are pickles: loading one runs code its author chose).
    callbacks : tuple of callables
        Each gets the history row of every generation run from here on (a sweep reports them to Ray Tune).
    handle_sigint : bool
        Ctrl-C stops the run cleanly after the current generation (False where the caller handles signals).
    """
    from evolino.atomic import remove_temporaries
    from evolino.checkpoint import CHECKPOINT_FOLDER, foreign_owner
    from evolino.config import load_config
    from evolino.run_folder import load_run_task

    out = Path(folder)
    if not (out / "config.toml").is_file():
        raise RunError(f"{out} is not a run folder (no config.toml)")
    owner = foreign_owner(out)
    if owner and not trust:
        raise RunError(f"{owner}; checkpoints are pickles, and loading one runs code its author chose: resume "
                       "only a folder you trust, with --force")
    config = load_config(out / "config.toml", registered=not (out / "task.npz").is_file())
    if generations is not None:
        config = replace(config, stop=replace(config.stop, generations=generations))
    config = replace(config, output=replace(config.output, dir=str(out), plots=config.output.plots and plots))
    task = load_run_task(out)
    training = _training(config, out, quiet, task, callbacks, handle_sigint)
    if config.task.data is not None:  # the folder's own copy, named relative to the folder again
        config = replace(config, task=replace(config.task, data="data.npz"))
    try:
        with _disk_full_in_one_line(out, lambda: True):
            out = _writable(out)
            for part in (out, out / CHECKPOINT_FOLDER):  # what writers killed with the run left behind
                remove_temporaries(part)
            _write_config(out / "config.toml", config)
    except BaseException:
        training.close()
        raise
    return _train(config, out, True, training, task)


def _training(config, out: Path, quiet: bool, task, callbacks: tuple = (), handle_sigint: bool = True) -> _Training:
    """The estimator of a run (its problem built once here, so that a mismatch fails before any work) and its
    controls: progress display, history.csv written line by line, the caller's callbacks, checkpoints, Ctrl-C."""
    from evolino.config import estimator_params, forecaster_params
    from evolino.progress import make_progress
    from evolino.reporting import HistoryWriter
    from evolino.trainer import Evolino, RunControls

    progress = make_progress(config.stop.generations, quiet=quiet, every=config.output.progress_every)
    history = HistoryWriter(Path(out) / "history.csv")
    controls = RunControls(callbacks=(history, progress, *callbacks),
                           checkpoint_dir=out, checkpoint_every=config.output.checkpoint_every,
                           keep_checkpoints=config.output.keep_checkpoints, handle_sigint=handle_sigint)
    estimator = Evolino(**estimator_params(config))
    if config.task.data is not None and task.generative:  # a series of one's own: forecast it
        from evolino.forecasting import Forecaster

        estimator = Forecaster(estimator, **forecaster_params(config))
    try:
        estimator.check(task) if hasattr(estimator, "check") else estimator.build_problem(task)
    except BaseException:
        progress.close()
        raise
    return _Training(estimator, progress, history, controls)


def _train(config, out: Path, resume: bool, training: _Training, task) -> FinishedRun:
    """Fit (fresh or resumed) with progress and checkpoints in ``out``, then write every result file."""
    from evolino.reporting import summary_line, write_report, write_run

    with _disk_full_in_one_line(out, lambda: resume or _trained_anything(out)):
        try:
            result = training.estimator.fit(task, resume=resume, **vars(training.controls)).result_
        finally:
            training.close()
        write_run(out, result, extra=_result_extra(config), task=task)
        if config.output.plots:
            write_report(out, task)
    print(summary_line(task.name, result.summary(), out))
    for warning in result.warnings:
        print(f"evolino: warning: {warning}", file=sys.stderr)
    for note in result.notes:
        print(f"evolino: note: {note}", file=sys.stderr)
    finished = FinishedRun(out, result)
    if finished.interrupted:
        print(f"evolino: interrupted; continue with: python -m evolino resume {out}", file=sys.stderr)
    return finished


def _writable(out: Path) -> Path:
    from evolino.reporting import check_writable

    try:
        return check_writable(out)
    except OSError as exc:
        raise RunError(f"cannot write to output folder {str(out)!r}: {exc.strerror or exc}") from None


def _trained_anything(out: Path) -> bool:
    """Whether the training of a run wrote anything into ``out`` (a history line, a checkpoint, results)."""
    from evolino.checkpoint import checkpoint_files

    return bool(checkpoint_files(out)) or (out / "history.csv").is_file() or (out / "result.json").is_file()


@contextmanager
def _disk_full_in_one_line(out: Path, resumable: Callable[[], bool]) -> Iterator[None]:
    """A full disk (or quota) becomes one line: which file system, what is intact, and how to go on."""
    from evolino.atomic import disk_full, mount_point
    from evolino.checkpoint import checkpoint_files, checkpoint_generation

    try:
        yield
    except OSError as exc:
        if not disk_full(exc):
            raise
        disk = f"{exc.strerror} on the file system at {mount_point(exc.filename or out)}" + (
            f" (writing {exc.filename})" if exc.filename else "")
        if not resumable():
            raise RunError(f"{disk}; nothing of the run was kept: free some space, then run it again") from None
        files = checkpoint_files(out)
        kept = (f"its newest checkpoint (generation {checkpoint_generation(files[0])}) is intact" if files
                else "it has no checkpoint yet, so resume starts it again")
        raise RunError(f"{disk}; {kept}: free some space, then continue with: python -m evolino resume "
                       f"{out}") from None


def _write_config(path: Path, config) -> None:
    from evolino.atomic import write_text
    from evolino.config import config_to_toml

    write_text(path, config_to_toml(config))


def _result_extra(config) -> dict:
    return {"feedback_scale": config.network.feedback_scale, "population": config.optimizer.population,
            "backend": config.backend.name, "optimizer_options": dict(config.optimizer.options)}


def _listing(names: list[str], shown: int = 4) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
