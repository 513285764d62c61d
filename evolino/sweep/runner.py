"""Running a sweep: each trial an ordinary evolino run, executed as a Ray Tune trial on one CPU.

Idea
----
A generation of the networks people evolve with Evolino is milliseconds of work, too little to spread over a
cluster; whole runs are not. :func:`run_sweep` hands the trials of a sweep (:mod:`evolino.sweep.space`) to Ray Tune,
which runs as many at once as there are CPUs (locally, or on a cluster joined by address), and stops them early
(ASHA) or proposes new settings (Optuna) from the fitness each trial reports after every generation. A trial is
:func:`evolino.runs.start_run` on its own config, the code path of ``python -m evolino run``, so its folder
holds what a run's does, and ``python -m evolino run --config TRIAL/config.toml`` repeats it bit for bit.

The sweep folder
----------------
::

    DIR/sweep.toml          the sweep, resolved and self-contained (the base run config inlined)
    DIR/plan.json           grid / random: every planned trial (name, settings, seed)
    DIR/trials/NAME/        the trial's run folder (config.toml, result.json, history.csv, model.npz, ...)
    DIR/trials/NAME.json    the trial's record: settings, seed, status (running, finished, stopped, error)
    DIR/tune/               Ray Tune's own experiment state (one sub-folder per invocation)
    DIR/summary.*           written by :mod:`evolino.sweep.summary` when the sweep ends

Resuming
--------
A trial counts as done when its record says finished (result.json written), stopped (by the scheduler) or error.
``--resume`` plans the same trials again from ``DIR/sweep.toml``, says which it skips as done, and gives Tune only
those not done. A trial that was cut off mid-run goes on from its newest checkpoint (:func:`evolino.runs.resume_run`
on its folder, when the folder holds a usable checkpoint and its config.toml; checkpoints are written every
``output.checkpoint_every`` generations), so only the generations after that checkpoint run again; a trial cut off
before its first checkpoint, or whose checkpoints do not read back, starts again from scratch in a cleared folder.
Either way its result is that of an uninterrupted run, bit for bit.
Optuna sweeps resume by handing the done trials to a new, equally seeded searcher as evaluated points and running
the remaining samples. Records are written atomically by the trial itself (running, finished) and by the driver's
Tune callback (stopped, error), so a driver killed with -9 loses at most the generations the running trials made
since their last checkpoint.

Output
------
The driver prints one line on stdout as each trial ends (:func:`trial_line`: its name, settings, seed, status and
validation error), and with ``--resume`` one line first naming the trials skipped because they are done
(:func:`skipped_line`). What a trial's run prints goes to ``DIR/trials/NAME.log``.

Metrics
-------
Each generation a trial reports ``generation`` and ``score``, the best fitness evolution has seen so far (the
validation error on the benchmark tasks; on data files, the error on a held-out part of the training data). Its
last report has ``score`` = ``validation_error`` (recomputed on the reference kernel, as in result.json), with
``fitness`` and ``test_error``. ASHA and Optuna rank trials on ``score``; the summary selects on
``validation_error``. Test errors are shown, never used.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from pathlib import Path

from evolino.errors import ClusterError, ConfigError
from evolino.metrics import error_or_inf, finite_or_none
from evolino.sweep.records import DONE_STATES, TRIALS_FOLDER, trial_records, write_record
from evolino.sweep.space import SweepSpec, Trial, load_sweep, plan_trials, trial_config

__all__ = ["run_sweep", "SWEEP_FILE", "PLAN_FILE", "TRIALS_FOLDER", "trial_records", "DONE_STATES"]

SWEEP_FILE = "sweep.toml"
PLAN_FILE = "plan.json"
TUNE_FOLDER = "tune"
DEFAULT_CONNECT_TIMEOUT = 20.0


def run_sweep(sweep: str | os.PathLike | SweepSpec | None, out: str | os.PathLike, *, resume: bool = False,
              address: str | None = None, max_concurrent: int | None = None, num_cpus: int | None = None,
              connect_timeout: float = DEFAULT_CONNECT_TIMEOUT, verbose: bool = False, echo: bool = True) -> dict:
    """Run (or, with ``resume``, continue) a sweep into ``out``; returns what summary.json holds
    (:func:`evolino.sweep.summary.write_summary`) and ``left``: the trials (or Optuna samples) not done, which
    ``resume`` would run (the sweep was interrupted, or its time budget ran out: ``out_of_time``).

    Parameters
    ----------
    sweep : path, SweepSpec or None
        The sweep file, or a spec built in Python (:func:`evolino.sweep.sweep_from_dict`); None with ``resume``
        (the folder holds its own copy).
    out : path
        The sweep folder (see the module docstring).
    resume : bool
        Continue the sweep in ``out``: only trials not done run.
    address : str or None
        Ray cluster address ("auto", "HOST:PORT", "ray://HOST:10001"); None starts a local Ray with ``num_cpus``
        CPUs (default: this machine's).
    max_concurrent : int or None
        Trials at once (overrides ``sweep.max_concurrent``; default: as many as the cluster has CPUs).
    echo : bool
        Print a line on stdout as each trial ends (name, settings, validation error, status) and, with ``resume``,
        one naming the trials skipped because they are done.
    """
    from evolino.sweep.summary import write_summary

    out = Path(out).resolve()
    created = not out.exists()
    spec = _prepare_folder(sweep, out, resume)
    if resume and spec.search == "optuna":  # cut off by a killed driver; optuna proposes afresh instead
        for name, record in trial_records(out).items():
            if record.get("status") == "running":
                write_record(out, name, {**record, "status": "interrupted"})
    started = time.monotonic()
    trials = _pending_trials(spec, out)
    if resume and echo:
        print(skipped_line(spec, out), flush=True)
    concurrent = max_concurrent or spec.max_concurrent
    if trials or _optuna_samples_left(spec, out):
        try:
            _run_on_tune(spec, out, trials, address, concurrent, num_cpus, connect_timeout, verbose, echo)
        except ClusterError:
            if not resume and not trial_records(out):  # nothing ran: the same command works again once Ray is up
                _remove_new_sweep(out, created)
            raise
    summary = write_summary(out, spec)
    summary["left"] = len(_pending_trials(spec, out)) + _optuna_samples_left(spec, out)
    summary["out_of_time"] = spec.max_seconds is not None and time.monotonic() - started >= spec.max_seconds
    return summary


# ----------------------------------------------------------------------------------------------------- the folder


def _prepare_folder(sweep, out: Path, resume: bool) -> SweepSpec:
    from evolino.atomic import write_text
    from evolino.sweep.space import sweep_to_toml

    copy = out / SWEEP_FILE
    if resume:
        if not copy.is_file():
            raise ConfigError(f"{out} is not a sweep folder (no {SWEEP_FILE}); start the sweep with "
                              "`python -m evolino sweep SWEEP.toml --out DIR`")
        spec = load_sweep(copy)
        if sweep is not None and _as_spec(sweep) != spec:
            raise ConfigError(f"the sweep given differs from the one in {out}: resume continues the sweep of its "
                              "folder (leave out the sweep file, or start a new sweep in another folder)")
        return spec
    if sweep is None:
        raise ConfigError("no sweep file given")
    spec = _as_spec(sweep)
    if copy.exists() or (out / TRIALS_FOLDER).exists():
        raise ConfigError(f"{out} already holds a sweep: continue it with `python -m evolino sweep --resume {out}`, "
                          "or choose another --out")
    (out / TRIALS_FOLDER).mkdir(parents=True, exist_ok=True)
    write_text(copy, sweep_to_toml(spec))
    if spec.search != "optuna":
        write_text(out / PLAN_FILE, json.dumps({"sweep": spec.as_dict(),
                                                "trials": [t.as_dict() for t in plan_trials(spec)]}, indent=1))
    return spec


def _remove_new_sweep(out: Path, created: bool) -> None:
    import shutil

    for name in (SWEEP_FILE, PLAN_FILE):
        (out / name).unlink(missing_ok=True)
    for name in (TRIALS_FOLDER, TUNE_FOLDER):
        shutil.rmtree(out / name, ignore_errors=True)
    if created and not any(out.iterdir()):
        out.rmdir()


def _as_spec(sweep) -> SweepSpec:
    return sweep if isinstance(sweep, SweepSpec) else load_sweep(sweep)


def _optuna_samples_left(spec: SweepSpec, out: Path) -> int:
    if spec.search != "optuna":
        return 0
    return max(spec.samples - sum(r.get("status") in DONE_STATES for r in trial_records(out).values()), 0)


def skipped_line(spec: SweepSpec, out: Path, shown: int = 4) -> str:
    """What ``--resume`` skips: the trials done (finished, stopped, error), counted, the first few named."""
    done = [name for name, record in trial_records(out).items() if record.get("status") in DONE_STATES]
    if spec.search == "optuna":
        left = _optuna_samples_left(spec, out)
        ahead = f"{left} sample{'s' * (left != 1)} of {spec.samples} left to run"
    else:
        left = len(_pending_trials(spec, out))
        ahead = f"{left} of {len(plan_trials(spec))} trials left to run"
    if not done:
        return f"sweep: resuming: no trial is done yet; {ahead}"
    names = ", ".join(done[:shown]) + (f" and {len(done) - shown} more" if len(done) > shown else "")
    return f"sweep: resuming: skipping {len(done)} trial{'s' * (len(done) != 1)} already done ({names}); {ahead}"


def trial_line(name: str, record: dict | None, status: str, error: float | None, done: int | None = None,
               total: int | None = None) -> str:
    """The line printed as a trial ends: its name, settings and seed, status and validation error (or, for a trial
    that did not finish, the best fitness it reported)."""
    record = record or {}
    settings = ", ".join(f"{key}={_short(value)}" for key, value in (record.get("settings") or {}).items())
    seed = record.get("seed")
    what = ", ".join(part for part in (settings, "" if seed is None else f"seed {seed}") if part)
    which = "validation error" if status == "finished" else "best fitness"
    value = "-" if error is None or finite_or_none(error) is None else f"{float(error):.3g}"
    count = f"[{done}/{total}] " if done is not None and total else ""
    return f"sweep: {count}{name}" + (f" ({what})" if what else "") + f": {status}, {which} {value}"


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else json.dumps(value) if isinstance(value, str) else str(value)


def _pending_trials(spec: SweepSpec, out: Path) -> list[Trial]:
    if spec.search == "optuna":
        return []
    records = trial_records(out)
    return [t for t in plan_trials(spec) if records.get(t.name, {}).get("status") not in DONE_STATES]


# --------------------------------------------------------------------------------------------------------- a trial


def _execute_trial(out: Path, spec: SweepSpec, trial: Trial, report) -> dict:
    """Run one trial into ``out/trials/NAME``; returns its record. ``report(metrics)`` receives the per-generation
    metrics. A trial cut off earlier goes on from its newest checkpoint when its folder has one (and its
    config.toml); otherwise its folder is cleared and it starts again."""
    from evolino.kernels import compiled_available, limit_compiled_threads

    folder = out / TRIALS_FOLDER / trial.name
    config = trial_config(spec, trial.settings, trial.seed, folder)
    record = {**trial.as_dict(), "status": "running", "folder": f"{TRIALS_FOLDER}/{trial.name}",
              "started": time.time()}
    write_record(out, trial.name, record)
    if compiled_available():
        limit_compiled_threads(1)  # one CPU per trial: a full-width thread pool per trial would oversubscribe

    def per_generation(row: dict) -> None:
        report({"score": row["best_ever"], "generation": row["generation"]})

    # What the run prints (its summary line, warnings) goes to trials/NAME.log, not into the sweep's own output; a
    # resumed trial adds to the log of its first part.
    log_path = out / TRIALS_FOLDER / f"{trial.name}.log"
    newest = _newest_checkpoint(folder)
    with open(log_path, "w" if newest is None else "a") as log, contextlib.redirect_stdout(log), \
            contextlib.redirect_stderr(log):
        run = None if newest is None else _resume_trial(folder, newest, per_generation)
        if run is None:
            from evolino.run_folder import clear_run
            from evolino.runs import start_run

            clear_run(folder)
            run = start_run(config, overwrite=True, quiet=True, callbacks=(per_generation,), handle_sigint=False)
        else:
            record["resumed_from_generation"] = newest
    result = json.loads((folder / "result.json").read_text())
    record.update(status="error" if run.interrupted else "finished", exit_status=130 if run.interrupted else 0,
                  ended=time.time(),
                  validation_error=result.get("validation_error"), test_error=result.get("test_error"))
    write_record(out, trial.name, record)
    final = {"score": error_or_inf(result.get("validation_error")), "generation": result.get("generations"),
             "fitness": error_or_inf(result.get("fitness")),
             "validation_error": error_or_inf(result.get("validation_error")),
             "test_error": error_or_inf(result.get("test_error"))}
    report(final)
    return record


def _newest_checkpoint(folder: Path) -> int | None:
    """The generation of the newest checkpoint of a trial folder that also holds its config.toml (what resuming
    needs), or None."""
    from evolino.checkpoint import checkpoint_files, checkpoint_generation

    files = checkpoint_files(folder) if (folder / "config.toml").is_file() else []
    return checkpoint_generation(files[0]) if files else None


def _resume_trial(folder: Path, newest: int, per_generation):
    """Resume a trial cut off mid-run from its newest usable checkpoint (:func:`evolino.runs.resume_run`); None,
    said in the trial's log, when its checkpoints do not serve (it then starts again)."""
    from evolino.checkpoint import CheckpointError
    from evolino.runs import resume_run

    print(f"evolino: the trial was cut off; resuming it from its newest checkpoint (generation {newest})")
    try:
        return resume_run(folder, quiet=True, callbacks=(per_generation,), handle_sigint=False)
    except (CheckpointError, ConfigError) as exc:
        print(f"evolino: cannot resume the trial ({exc}); starting it again")
        return None


def _trainable(out: Path, spec: SweepSpec, planned: dict[str, Trial]):
    """The function Tune runs for each trial: a planned trial by name, or a setting Optuna proposed."""

    def trainable(params: dict) -> None:
        from ray import tune

        if "trial" in params:
            trial = planned[params["trial"]]
        else:
            settings = {key: params[_tune_key(key)] for key in spec.keys}
            trial = Trial(f"trial_{tune.get_context().get_trial_id()}", settings, spec.seeds[0])
        _execute_trial(out, spec, trial, tune.report)

    return trainable


def _tune_key(key: str) -> str:
    return key.replace(".", "__")  # Tune reads dots in parameter names as nesting


# ------------------------------------------------------------------------------------------------------------- Tune


def _run_on_tune(spec: SweepSpec, out: Path, trials: list[Trial], address, concurrent, num_cpus, timeout,
                 verbose, echo: bool = True) -> None:
    from evolino.backends.ray_cluster import ray_session

    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")  # the trial folders are the results
    if not verbose:
        os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # no experiment banner
        # Tune's analysis looks for the result files of the loggers switched off above, and says so; on Ctrl-C Tune
        # suggests its own Tuner.restore, where the sweep's --resume is the way on
        for name in ("ray.tune.analysis.experiment_analysis", "ray.tune.tune"):
            logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")
    with ray_session(address, timeout, num_cpus):
        from ray import tune

        planned = {t.name: t for t in trials}
        stopped: set[str] = set()
        tune_config, param_space = _search(spec, out, trials, concurrent, stopped)
        storage = out / TUNE_FOLDER
        storage.mkdir(exist_ok=True)
        total = len(trials) if spec.search != "optuna" else _optuna_samples_left(spec, out)
        records = _record_callback(out, stopped, total if echo else None)
        tuner = tune.Tuner(
            tune.with_resources(_trainable(out, spec, planned), {"cpu": 1}),
            param_space=param_space, tune_config=tune_config,
            run_config=tune.RunConfig(storage_path=str(storage), name=f"run-{_next_run(storage)}",
                                      verbose=1 if verbose else 0, callbacks=[records],
                                      failure_config=tune.FailureConfig(max_failures=0)))
        tuner.fit()
    for name, record in trial_records(out).items():  # Tune has ended every trial: those still "running" were cut off
        if record.get("status") == "running":
            write_record(out, name, {**record, "status": "interrupted"})
    if records.unseen:
        raise ClusterError(f"the trials ran, but their folders are not in {out} on this machine (first: "
                           f"{records.unseen[0]}): on a cluster the sweep folder must be on a filesystem every node "
                           "shares (the compose file's /home/ray/work volume, NFS)")


def _recording_asha(stopped: set[str]):
    """ASHA that notes the trials it stops: those are done, unlike trials cut off by the time budget or Ctrl-C."""
    from ray.tune.schedulers import ASHAScheduler, TrialScheduler

    class RecordingASHA(ASHAScheduler):
        def on_trial_result(self, tune_controller, trial, result: dict) -> str:
            decision = super().on_trial_result(tune_controller, trial, result)
            if decision == TrialScheduler.STOP:
                stopped.add(_trial_name(trial))
            return decision

    return RecordingASHA


def _search(spec: SweepSpec, out: Path, trials: list[Trial], concurrent, stopped: set[str]):
    from ray import tune

    scheduler = None
    if spec.scheduler == "asha":
        # max_t lies beyond the last generation: a run that reached it still has its final report to make
        scheduler = _recording_asha(stopped)(metric="score", mode="min", time_attr="generation",
                                             max_t=spec.base.stop.generations + 1, grace_period=spec.grace_generations)
    common = dict(scheduler=scheduler, max_concurrent_trials=concurrent, reuse_actors=True,
                  time_budget_s=spec.max_seconds)
    if spec.search != "optuna":
        return (tune.TuneConfig(num_samples=1, **common),
                {"trial": tune.grid_search([t.name for t in trials])})
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    done = [r for r in trial_records(out).values() if r.get("status") in DONE_STATES]
    points = [{_tune_key(k): v for k, v in r["settings"].items()} for r in done]
    rewards = [error_or_inf(r.get("validation_error")) for r in done]
    space = {_tune_key(d.key): _distribution(d) for d in spec.dimensions}
    searcher = OptunaSearch(metric="score", mode="min", seed=spec.seed,
                            points_to_evaluate=points or None, evaluated_rewards=rewards or None)
    return tune.TuneConfig(search_alg=searcher, num_samples=_optuna_samples_left(spec, out), **common), space


def _distribution(dimension):
    from ray import tune

    if dimension.kind == "choice":
        return tune.choice(list(dimension.values))
    low, high = dimension.values
    return tune.uniform(low, high) if dimension.kind == "uniform" else tune.loguniform(low, high)


def _next_run(storage: Path) -> int:
    return 1 + sum(1 for p in storage.iterdir() if p.is_dir() and p.name.startswith("run-"))


def _record_callback(out: Path, stopped: set[str], total: int | None = None):
    """Driver side: marks trials that the scheduler stopped early, that failed, or that the time budget or Ctrl-C cut
    off (``interrupted``: not done, so --resume runs them), which cannot say so themselves; with ``total`` (the
    trials of this invocation), prints a line on stdout as each trial ends (:func:`trial_line`)."""
    from ray.tune import Callback

    class RecordCallback(Callback):
        def __init__(self) -> None:
            super().__init__()
            self.unseen: list[str] = []  # trials whose record the driver cannot see: no filesystem shared with it
            self.ended = 0

        def _mark(self, trial, status: str) -> None:
            name = _trial_name(trial)
            last = trial.last_result or {}
            try:
                record = json.loads((out / TRIALS_FOLDER / f"{name}.json").read_text())
            except FileNotFoundError:
                self.unseen.append(name)
                self._echo(name, None, status, last.get("score"))
                return
            except (OSError, json.JSONDecodeError):
                self._echo(name, None, status, last.get("score"))
                return
            if record.get("status") != "running":  # the trial finished and said so itself
                self._echo(name, record, record.get("status"), record.get("validation_error", last.get("score")))
                return
            record.update(status=status, stopped_at_generation=last.get("generation"), fitness=last.get("score"))
            write_record(out, name, record)
            self._echo(name, record, status, last.get("score"))

        def _echo(self, name: str, record: dict | None, status: str, error) -> None:
            if total is None:
                return
            self.ended += 1
            print(trial_line(name, record, status, error, self.ended, total), flush=True)

        def on_trial_complete(self, iteration, trials, trial, **info) -> None:
            self._mark(trial, "stopped" if _trial_name(trial) in stopped else "interrupted")

        def on_trial_error(self, iteration, trials, trial, **info) -> None:
            self._mark(trial, "error")

    return RecordCallback()


def _trial_name(trial) -> str:
    config = trial.config or {}
    return config["trial"] if "trial" in config else f"trial_{trial.trial_id}"
