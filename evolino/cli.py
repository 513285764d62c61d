"""Command line: ``python -m evolino run | resume | report | predict | generate | tasks | optimizers``.

Every user error (unknown names, bad sizes, unwritable folders, an unreachable cluster) ends with one line on stderr
and exit status 2; an unexpected failure ends with one line and status 1 (set EVOLINO_DEBUG=1 for the traceback).

Which exceptions are the user's (exit 2):

* :class:`~evolino.errors.EvolinoError` and its subclasses (ConfigError, RunError, ClusterError, CheckpointError, ...),
  and the command line's own usage errors (argparse's, :class:`UsageError`);
* a ``ValueError`` raised by a ``raise`` statement of evolino's own code (:func:`_raised_by_evolino`): the library
  checks its arguments with ``raise ValueError(...)`` in hundreds of places, which are validation by construction;
  converting each to a ConfigError would touch every module for no change in what the user sees;
* a full disk (``OSError`` ENOSPC), with what was kept.

Everything else is a bug, including a ``ValueError`` raised inside numpy or another library (a ``LinAlgError``, a
shape mismatch) or by an operation of evolino's that is not a ``raise`` (a failed unpacking, ``float("x")`` on
unchecked text): one line ``evolino: internal error: ...``, exit status 1. ``EVOLINO_DEBUG=1`` lets either kind
propagate, so the traceback is printed.
"""

from __future__ import annotations

import argparse
import ast
import functools
import os
import sys
import time
from pathlib import Path

from evolino.errors import EvolinoError

__all__ = ["main", "build_parser"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A problem with what the user asked for; reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse prints usage + message; we want one line
        raise UsageError(message)


def _int_at_least(minimum: int, words: str):
    """An argparse type: an integer >= ``minimum``, described as ``words`` in the error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected {words}, got {text!r}")
        return value

    return parse


_positive_int = _int_at_least(1, "a positive integer")
_non_negative_int = _int_at_least(0, "a non-negative integer")


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _or_words(parse, *words: str):
    """An argparse type: one of ``words``, else what ``parse`` makes of the text."""

    def parse_or_word(text: str):
        return text.strip().lower() if text.strip().lower() in words else parse(text)

    return parse_or_word


def _column(text: str) -> str | int:
    """A column: a 0-based index if the text is a non-negative integer, else a name (a header name wins later)."""
    return int(text) if text.strip().isdigit() else text


def _split(values: list[str]) -> list[float | int]:
    """--split 0.7 0.15 0.15, or 0.7,0.15,0.15, or counts: three numbers."""
    items = [item for value in values for item in value.split(",") if item.strip()]
    try:
        numbers = [int(item) if item.strip().isdigit() else _finite_float(item) for item in items]
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"--split: {exc}") from None
    if len(numbers) != 3:
        raise UsageError(f"--split expects three numbers (train, validation, test), got {len(numbers)}")
    return numbers


_OPTION_WORDS = {"true": True, "false": False}  # as a config file writes them (TOML has no null)


def parse_options(pairs: list[str], flag: str = "--opt") -> dict:
    """``["KEY=VALUE", ...]`` -> dict; values are true/false (any case), Python literals where they parse,
    strings otherwise."""
    options = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag} expects KEY=VALUE, got {pair!r}")
        word = text.strip().lower()
        if word in _OPTION_WORDS:
            value = _OPTION_WORDS[word]
        else:
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                value = text
        options[key.strip().replace("-", "_")] = value
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m evolino", description="Evolino: evolve LSTM hidden weights, "
                     "compute output weights by least squares.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run Evolino on a task; writes config.toml, result.json, history.csv, model.npz, "
                         "checkpoints, plots and report.md into --out",
                         description="Flags override the values of --config, which override the defaults. A folder "
                                     "that holds the files of another run is refused unless --overwrite.")
    run.add_argument("--config", default=None, metavar="TOML", help="run configuration file (e.g. DIR/config.toml "
                     "of an earlier run, to repeat it)")
    run.add_argument("--task", default=None, help="task name (see `python -m evolino tasks`), default mso2; with "
                     "--data, a label for the data")
    run.add_argument("--task-opt", action="append", default=[], metavar="KEY=VALUE",
                     help="option of a named task (repeatable), e.g. --task-opt test_end=1000")
    data = run.add_argument_group("your own data (see docs/your-data.md)")
    data.add_argument("--data", default=None, metavar="FILE", help="CSV (header optional), NPY or NPZ file; rows are "
                      "time steps")
    data.add_argument("--kind", default=None, help="generate (continue the series closed-loop; default), predict "
                      "(--horizon steps ahead), map (inputs to targets) or classify (a label column)")
    data.add_argument("--target", nargs="+", type=_column, default=None, metavar="COL",
                      help="target column(s) by name or 0-based index (default: all columns not used otherwise)")
    data.add_argument("--inputs", nargs="+", type=_column, default=None, metavar="COL", help="input column(s)")
    data.add_argument("--sequence", type=_column, default=None, metavar="COL",
                      help="column whose consecutive equal values mark one sequence")
    data.add_argument("--time", type=_column, default=None, metavar="COL",
                      help="column of dates, the time index (default: the first column of ISO dates; name a column "
                      "of years to use it)")
    data.add_argument("--horizon", type=_positive_int, default=None, help="predict: steps ahead, default 1")
    data.add_argument("--split", nargs="+", default=None, metavar="X",
                      help="train validation test: fractions adding up to 1 or counts, default 0.7 0.15 0.15")
    data.add_argument("--washout", type=_non_negative_int, default=None, help="steps neither fitted nor scored at "
                      "the start of a run from a zero state")
    data.add_argument("--no-scale", action="store_true", help="do not standardise the columns")
    data.add_argument("--no-shuffle", action="store_true", help="sequences: deal them to train / validation / test "
                      "in file order (default for classify: shuffled, stratified by class)")
    data.add_argument("--split-seed", type=_non_negative_int, default=None, help="seed of that shuffle, default 0")
    data.add_argument("--test", default=None, metavar="FILE", help="a separate file of sequences (the same columns) "
                      "scored as the test part; the data file is split into training and validation parts only")
    data.add_argument("--metric", default=None, help="nrmse, rmse, mse, mae or error_rate")
    data.add_argument("--missing", default=None, help="empty target cells: error (default) or interpolate")
    data.add_argument("--header", action=argparse.BooleanOptionalAction, default=None,
                      help="whether the CSV's first line names the columns (default: detected)")
    data.add_argument("--validation-windows", type=_positive_int, default=None,
                      help="generate: free runs across the validation part, default 5")
    data.add_argument("--free-run-steps", type=_positive_int, default=None,
                      help="generate: length of each validation free run, default the test length")
    forecast = run.add_argument_group("forecasts of your own series (--kind generate; see docs/forecasting.md)")
    forecast.add_argument("--season", type=_non_negative_int, default=None,
                          help="season length in steps, 0 for none (default: from the dates, else the "
                          "autocorrelation)")
    forecast.add_argument("--transform", default=None, help="auto (default: chosen on the backtest), none, log, diff, "
                          "seasonal-diff, diff+seasonal-diff, or log+ any of the differences")
    forecast.add_argument("--ensemble", type=_or_words(_positive_int, "auto"), default=None,
                          help="networks averaged in the forecast, or auto (default: 1, 3 or 5 chosen on the "
                          "backtest)")
    forecast.add_argument("--origins", type=_positive_int, default=None, help="forecast origins of the backtest, "
                          "default 5")
    forecast.add_argument("--interval", type=_finite_float, default=None, help="level of the prediction intervals "
                          "whose test coverage is reported, default 0.9")
    run.add_argument("--holdout", type=_finite_float, default=None, help="fraction of the training part evolution "
                     "is scored on; the validation part then chooses the final ridge (0: fitness = validation error)"
                     "; default 0 on benchmark tasks, 0.2 otherwise")
    run.add_argument("--optimizer", default=None, help="optimizer name, default sep-cma; evosax:NAME and "
                     "nevergrad:NAME for the libraries' (python -m evolino optimizers lists all)")
    run.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                     help="optimizer option (repeatable), e.g. --opt sigma0=0.1 --opt separable=true")
    run.add_argument("--cells", type=_positive_int, default=None, help="LSTM memory cells, default 10")
    run.add_argument("--population", type=_positive_int, default=None, help="genomes per generation, default 40")
    run.add_argument("--generations", type=_positive_int, default=None, help="generation budget, default 300")
    run.add_argument("--seed", type=_non_negative_int, default=None, help="seed of the whole run, default 0")
    run.add_argument("--feedback-scale", type=_finite_float, default=None, help="scale of the fed-back output")
    run.add_argument("--init-scale", type=_finite_float, default=None,
                     help="initial weights N(0, X^2), also the optimizer's initial step size")
    run.add_argument("--rcond", type=_finite_float, default=None, help="pseudo-inverse singular-value cutoff")
    run.add_argument("--ridge", type=_or_words(_finite_float, "auto", "validation"), default=None,
                     help="ridge strength on the readout's cell weights, or auto (generalized cross-validation) or "
                     "validation (best on validation), per genome; default 0 on benchmark tasks, auto otherwise")
    run.add_argument("--pool", default=None, metavar="POOLS",
                     help="sequence labels: what the readout sees during evolution, last, mean, max or several "
                     "joined by + (default last+mean+max)")
    run.add_argument("--lags", type=_or_words(_non_negative_int, "auto"), default=None,
                     help="steps of inputs and fed-back values the readout sees directly, or auto; default 0 on "
                     "benchmark tasks, auto otherwise")
    run.add_argument("--target-error", type=_finite_float, default=None,
                     help="stop at this fitness (the error evolution minimises)")
    run.add_argument("--max-evaluations", type=_positive_int, default=None, help="stop after this many evaluations")
    run.add_argument("--max-seconds", type=_finite_float, default=None, help="stop after this much wall-clock time")
    run.add_argument("--backend", default=None, help="serial or ray, default serial")
    run.add_argument("--address", default=None, help="Ray cluster address (auto, HOST:PORT, ray://...)")
    run.add_argument("--workers", type=_positive_int, default=None, help="cap on Ray evaluation actors")
    run.add_argument("--chunks-per-worker", type=_positive_int, default=None,
                     help="chunks per Ray actor and generation (default 1 on one node, 4 across nodes)")
    run.add_argument("--out", default=None, help="output folder, default runs/latest")
    run.add_argument("--overwrite", action="store_true", help="replace the files of an earlier run in --out (every "
                     "one of them: results, plots, task, data copy, config, checkpoints); without it such a folder "
                     "is refused, except the default runs/latest, which always holds the latest run")
    run.add_argument("--checkpoint-every", type=_non_negative_int, default=None,
                     help="checkpoint every N generations (also at the end and on Ctrl-C), default 25")
    run.add_argument("--keep-checkpoints", type=_positive_int, default=None,
                     help="how many checkpoints to keep (the newest), default 2")
    run.add_argument("--progress-every", type=_positive_int, default=None,
                     help="when piped, print a progress line every N generations, default 10")
    _add_display_flags(run)

    resume = sub.add_parser("resume", help="continue a run from its newest good checkpoint (checkpoints are pickles: "
                            "resume only folders you trust)",
                            description="Continues DIR exactly as if it had never stopped (from scratch if it "
                                        "stopped before its first checkpoint); --generations raises (or lowers) the "
                                        "generation budget. Checkpoints are pickles, and loading one runs code that "
                                        "its author chose: a checkpoint from someone else is code from someone "
                                        "else. A folder that belongs to another user is refused unless --force.")
    resume.add_argument("dir", help="run folder (the --out of `run`)")
    resume.add_argument("--generations", type=_positive_int, default=None, help="new generation budget (total)")
    resume.add_argument("--force", action="store_true", help="resume a folder (or checkpoints) of another user: "
                        "only if you trust them, since loading a checkpoint runs code its author chose")
    _add_display_flags(resume)

    report = sub.add_parser("report", help="write PNG plots and report.md for a run folder")
    report.add_argument("dir", help="run folder")

    predict = sub.add_parser("predict", help="teacher-forced outputs of a saved model on a CSV file",
                             description="The CSV holds the model's inputs and, if it feeds them back, its targets, "
                                         "one row per step, in original units. With a header that names the "
                                         "columns the model was trained on, they are picked by name; otherwise the "
                                         "inputs come first, then the targets.")
    predict.add_argument("dir", help="run folder (or a model.npz file)")
    predict.add_argument("--csv", required=True, help="input CSV file")
    predict.add_argument("--out", default=None, help="output CSV, default DIR/predictions.csv")

    generate = sub.add_parser("generate", help="closed-loop generation by a saved model, written as CSV")
    generate.add_argument("dir", help="run folder (or a model.npz file)")
    generate.add_argument("--steps", type=_positive_int, required=True, help="steps to generate")
    generate.add_argument("--history", default=None, help="CSV of the known past of the signal (one column per "
                          "output, picked by name when the header has the model's names)")
    generate.add_argument("--after", choices=("all", "validation"), default="all",
                          help="without --history: continue after all the task's data (default) or after its "
                          "validation part (regenerating the test window)")
    generate.add_argument("--interval", type=_finite_float, default=None, metavar="LEVEL",
                          help="forecast runs: also write the bounds of the prediction interval at this level "
                          "(e.g. 0.9), from the backtest's residuals per horizon step")
    generate.add_argument("--out", default=None, help="output CSV, default DIR/generated.csv")

    sweep = sub.add_parser("sweep", help="many runs at once as Ray Tune trials: seeds, grids, random or Optuna "
                           "search; writes every trial's run folder and a summary ranked by validation error "
                           "into --out",
                           description="SWEEP is a run configuration plus a [sweep] table (see docs/sweeps.md). Each "
                                       "trial is an ordinary run on one CPU; trials run side by side on this machine "
                                       "or on the Ray cluster at --address. --resume DIR continues an interrupted "
                                       "sweep, running only the trials that had not finished.")
    sweep.add_argument("sweep_file", nargs="?", default=None, metavar="SWEEP", help="the sweep file (TOML)")
    sweep.add_argument("--out", default=None, help="sweep folder (required unless --resume)")
    sweep.add_argument("--resume", default=None, metavar="DIR", help="continue the sweep in DIR")
    sweep.add_argument("--address", default=None, help="Ray cluster address (auto, HOST:PORT, ray://...); default: a "
                       "local Ray on this machine's cores")
    sweep.add_argument("--max-concurrent", type=_positive_int, default=None,
                       help="trials at once (default: as many as the cluster has CPUs)")
    sweep.add_argument("--connect-timeout", type=_finite_float, default=20.0,
                       help="seconds to wait for the Ray cluster, default 20")
    sweep.add_argument("--verbose", action="store_true", help="show Ray Tune's own progress table")

    sub.add_parser("tasks", help="list the named tasks")
    sub.add_parser("optimizers", help="list the optimizers and their options")
    return parser


def _add_display_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress display, only the final summary")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots and report.md at the end")


# run flag -> config key. The defaults live in evolino.config.RunConfig (chosen so that `python -m evolino run`
# solves MSO2 to NRMSE <= 1e-5 well within a minute on a 2-core machine).
_FLAG_KEYS = {
    "task": "task.name", "data": "task.data", "kind": "task.kind", "target": "task.target",
    "inputs": "task.inputs", "sequence": "task.sequence", "time": "task.time", "horizon": "task.horizon",
    "washout": "task.washout",
    "metric": "task.metric", "missing": "task.missing", "header": "task.header",
    "validation_windows": "task.validation_windows", "free_run_steps": "task.free_run_steps",
    "split_seed": "task.split_seed", "test": "task.test",
    "holdout": "task.holdout",
    "optimizer": "optimizer.name", "cells": "network.cells",
    "population": "optimizer.population", "generations": "stop.generations", "seed": "seed",
    "feedback_scale": "network.feedback_scale", "init_scale": "network.init_scale", "rcond": "readout.rcond",
    "ridge": "readout.ridge", "lags": "readout.lags", "pool": "readout.pool", "target_error": "stop.target_error",
    "max_evaluations": "stop.max_evaluations",
    "max_seconds": "stop.max_seconds", "backend": "backend.name", "address": "backend.address",
    "workers": "backend.workers", "chunks_per_worker": "backend.chunks_per_worker", "out": "output.dir",
    "checkpoint_every": "output.checkpoint_every", "keep_checkpoints": "output.keep_checkpoints",
    "progress_every": "output.progress_every", "season": "forecast.season", "transform": "forecast.transform",
    "ensemble": "forecast.ensemble", "origins": "forecast.origins", "interval": "forecast.interval",
}


def config_flags() -> dict[str, str]:
    """Config key -> the flag of ``run`` that sets it."""
    flags = {key: "--" + dest.replace("_", "-") for dest, key in _FLAG_KEYS.items()}
    flags.update({"optimizer.options": "--opt", "output.plots": "--no-plots", "task.options": "--task-opt",
                  "task.split": "--split", "task.scale": "--no-scale", "task.shuffle": "--no-shuffle"})
    return flags


def resolve_run_config(args: argparse.Namespace):
    """Defaults, then the --config file, then the flags: the validated RunConfig of a ``run`` command.

    A flag that switches between a registered task (--task without --data) and a data file (--data) replaces the
    config file's whole [task] table."""
    from dataclasses import replace

    from evolino.config import RunConfig, TaskSettings, apply_overrides, load_config

    config = load_config(args.config) if args.config else RunConfig()
    if args.data is not None or (args.task is not None and config.task.data is not None):
        config = replace(config, task=TaskSettings())
    elif args.task is not None and args.task != config.task.name:
        config = replace(config, task=TaskSettings(name=args.task))
    overrides = {key: getattr(args, flag) for flag, key in _FLAG_KEYS.items()}
    if args.opt:
        overrides["optimizer.options"] = parse_options(args.opt)
    if args.task_opt:
        overrides["task.options"] = parse_options(args.task_opt, "--task-opt")
    if args.split is not None:
        overrides["task.split"] = _split(args.split)
    if args.no_scale:
        overrides["task.scale"] = False
    if args.no_shuffle:
        overrides["task.shuffle"] = False
    if args.no_plots:
        overrides["output.plots"] = False
    for key in ("task.target", "task.inputs"):
        if overrides.get(key) is not None:
            overrides[key] = list(overrides[key])
    try:
        return apply_overrides(config, overrides)
    except EvolinoError as exc:
        named = [flag for key, flag in config_flags().items() if overrides.get(key) is not None and key in str(exc)]
        raise type(exc)(f"{named[0]}: {exc}" if named else str(exc)) from None


def command_run(args: argparse.Namespace) -> int:
    """A fresh run into a folder of its own (:func:`evolino.runs.start_run`)."""
    from evolino.runs import start_run

    return _exit_status(start_run(resolve_run_config(args), overwrite=args.overwrite, quiet=args.quiet))


def command_resume(args: argparse.Namespace) -> int:
    """Continue a run folder from its newest checkpoint (:func:`evolino.runs.resume_run`)."""
    from evolino.runs import resume_run

    return _exit_status(resume_run(args.dir, generations=args.generations, plots=not args.no_plots, quiet=args.quiet,
                                   trust=args.force))


def _exit_status(run) -> int:
    return EXIT_INTERRUPTED if run.interrupted else 0


def command_report(args: argparse.Namespace) -> int:
    from evolino.reporting import write_report
    from evolino.run_folder import load_run_task

    out = Path(args.dir)
    if not (out / "result.json").is_file():
        raise UsageError(f"{out} has no result.json (run `python -m evolino run --out {out}` first)")
    try:
        task = load_run_task(out)
    except EvolinoError:
        task = None  # a folder without its task: the report has no test-window plot
    paths = write_report(out, task)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _load_model(target: str):
    """(model, folder): the run's network (:class:`evolino.model.EvolinoModel`) or, for a forecast run, its
    :class:`evolino.forecasting.ForecastModel`."""
    from evolino.forecasting.model import ForecastModel, is_forecast_model
    from evolino.model import EvolinoModel

    path = Path(target)
    model_path = path / "model.npz" if path.is_dir() else path
    if not model_path.is_file():
        raise UsageError(f"no model at {model_path}")
    kind = ForecastModel if is_forecast_model(model_path) else EvolinoModel
    try:
        return kind.load(model_path), (path if path.is_dir() else path.parent)
    except (OSError, KeyError, ValueError) as exc:
        raise UsageError(f"cannot read model {model_path}: {exc}") from None


def _model_columns(table, names: tuple[str, ...], count: int, role: str, first: int = 0, total: int = 0):
    """(T, count) array of the columns ``names`` of a table (by name when its header has them all; otherwise by
    position from ``first`` among the columns other than the dates, and then the table must have exactly ``total``
    of them), or None when ``count`` is 0.
    """
    import numpy as np

    if count == 0:
        return None
    if names and all(name in table.names for name in names):
        positions = [table.names.index(name) for name in names]
    else:
        values = [j for j, name in enumerate(table.names) if name != table.time_name]  # a date column is no value
        if len(values) != total:
            raise UsageError(f"{table.source} has {len(values)} column(s) of values; this model needs {total} "
                             f"({', '.join(names) if names else 'by position'}) or a header naming them")
        positions = values[first : first + count]
    data = np.stack([table.numbers(j, role) for j in positions], axis=1)
    if not np.isfinite(data).all():
        raise UsageError(f"{table.source}: the {role} columns have empty or non-finite cells")
    return data


def command_predict(args: argparse.Namespace) -> int:
    import numpy as np

    from evolino.reporting import write_matrix_csv
    from evolino.tasks.data import read_table

    model, folder = _load_model(args.dir)
    table = read_table(args.csv)
    sequence = _sequence_column(folder) if getattr(model, "classes", ()) else None
    if sequence is not None:  # sequence labels: one row per sequence, each from a zero state
        return _predict_labels(args, model, folder, table, sequence)
    if not hasattr(model, "genome"):  # a forecast model: one-step predictions of the series in the CSV
        levels = _model_columns(table, model.target_names, model.n_outputs, "target", model.n_inputs,
                                model.n_inputs + model.n_outputs)
        inputs = _model_columns(table, model.input_names, model.n_inputs, "input", 0,
                                model.n_inputs + model.n_outputs)
        outputs = model.predict(levels, inputs)
        out = Path(args.out) if args.out else folder / "predictions.csv"
        write_matrix_csv(out, outputs, "output", model.target_names)
        settle = int(np.isnan(outputs).any(axis=1).sum())
        print(f"wrote {outputs.shape[0]} one-step predictions to {out} (the first {settle}, which lack the past "
              "the model looks at, are empty)")
        return 0
    spec = model.spec
    total = spec.n_inputs + spec.n_feedback
    inputs = _model_columns(table, model.input_names, spec.n_inputs, "input", 0, total)
    targets = _model_columns(table, model.target_names, spec.n_feedback, "target", spec.n_inputs, total)
    outputs = model.predict(inputs=inputs, targets=targets)
    outputs[: model.settle_steps] = np.nan  # the network settling from its zero state: not predictions
    out = Path(args.out) if args.out else folder / "predictions.csv"
    write_matrix_csv(out, outputs, "output", model.target_names)
    print(f"wrote {outputs.shape[0]} rows to {out} (the first {min(model.settle_steps, len(outputs))}, while the "
          "network settles from its zero state, are empty)")
    return 0


def _sequence_column(folder: Path) -> str | None:
    """The sequence column of a run folder's data (None without one, or without a config)."""
    from evolino.config import load_config

    if not (folder / "config.toml").is_file():
        return None
    sequence = load_config(folder / "config.toml", registered=False).task.sequence
    return None if sequence is None else str(sequence)


def _predict_labels(args: argparse.Namespace, model, folder: Path, table, sequence: str) -> int:
    """``predict`` for sequence labels: the CSV's rows grouped into sequences by the ``sequence`` column, each run
    from a zero state; one row per sequence: its id, the predicted label and the class probabilities."""
    import numpy as np

    from evolino.atomic import write_text
    from evolino.tasks.data import sequence_bounds

    if sequence not in table.names:
        raise UsageError(f"{table.source} has no column {sequence!r}, the sequence column the model was trained "
                         "with")
    inputs = _model_columns(table, model.input_names, model.spec.n_inputs, "input", 0, model.spec.n_inputs)
    ids = table.columns[table.names.index(sequence)]
    bounds = sequence_bounds(table, table.names.index(sequence))
    names = [*model.classes]
    lines = [",".join([_csv_text(sequence), "label", *(_csv_text(f"p_{c}") for c in names)])]
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        probabilities = model.predict_proba(inputs[a:b])
        label = names[int(np.argmax(probabilities))]
        identity = ids[a] if ids.dtype.kind != "f" else (int(ids[a]) if float(ids[a]).is_integer() else ids[a])
        lines.append(",".join([_csv_text(str(identity)), _csv_text(label), *(f"{p:.17g}" for p in probabilities)]))
    out = Path(args.out) if args.out else folder / "predictions.csv"
    write_text(out, "\n".join(lines) + "\n")
    print(f"wrote {len(bounds) - 1} sequence labels with their class probabilities to {out}")
    return 0


def _csv_text(text: str) -> str:
    return f'"{text}"' if any(c in text for c in ',"\n') else text


def command_generate(args: argparse.Namespace) -> int:
    import numpy as np

    from evolino.reporting import write_matrix_csv
    from evolino.run_folder import load_run_task

    model, folder = _load_model(args.dir)
    if not hasattr(model, "genome"):
        return _generate_forecast(args, model, folder)
    if args.interval is not None:
        raise UsageError("--interval needs a forecast run (run --data FILE); this folder holds a network of a "
                         "benchmark task")
    if model.spec.n_inputs:
        raise UsageError("generate needs a model without external inputs (use predict for this model)")
    if not model.spec.feedback:
        raise UsageError("generate needs a model that feeds its output back (a generative task)")
    if args.history:
        from evolino.tasks.data import read_table

        history = _model_columns(read_table(args.history), model.target_names, model.spec.n_outputs, "history", 0,
                                 model.spec.n_outputs)
    else:
        if not (folder / "task.npz").is_file() and not (folder / "config.toml").is_file():
            raise UsageError(f"no task in {folder}: give the known past with --history CSV")
        task = load_run_task(folder)
        parts = [*task.seen_before_test()[:1], *(task.test[:1] if args.after == "all" else [])]
        history = task.to_original(np.concatenate([pair.targets for pair in parts]))
    outputs = model.generate(history, args.steps)
    out = Path(args.out) if args.out else folder / "generated.csv"
    write_matrix_csv(out, outputs, "output", model.target_names)
    print(f"wrote {outputs.shape[0]} generated steps (after {history.shape[0]} known ones) to {out}")
    return 0


def _generate_forecast(args: argparse.Namespace, model, folder: Path) -> int:
    """``generate`` for a forecast run: the steps after the data (or after its validation part), in the data's units,
    with the dates after the data's last one and, with --interval, the bounds of the prediction interval."""
    import numpy as np

    from evolino.reporting import write_matrix_csv
    from evolino.run_folder import load_run_task

    if model.n_inputs:
        raise UsageError("this forecast takes input columns, which are not known beyond the data: use predict for "
                         "one-step predictions")
    task = None
    if args.history:
        from evolino.tasks.data import read_table

        history = _model_columns(read_table(args.history), model.target_names, model.n_outputs, "history", 0,
                                 model.n_outputs)
    else:
        if not (folder / "task.npz").is_file() and not (folder / "config.toml").is_file():
            raise UsageError(f"no task in {folder}: give the known past with --history CSV")
        task = load_run_task(folder)
        parts = [task.train[0], *task.validation[:1], *(task.test[:1] if args.after == "all" else [])]
        history = task.to_original(np.concatenate([pair.targets for pair in parts]))
    forecast = model.forecast(history, args.steps)
    columns, names = [forecast], list(model.target_names) or [f"output_{j}" for j in range(model.n_outputs)]
    header = list(names)
    if args.interval is not None:
        lower, upper = model.interval(forecast, args.interval)
        columns += [lower, upper]
        header += [f"{name}_lower" for name in names] + [f"{name}_upper" for name in names]
    dates = _future_dates(folder, history.shape[0], args.steps) if task is not None else None
    out = Path(args.out) if args.out else folder / "generated.csv"
    write_matrix_csv(out, np.concatenate(columns, axis=1), "output", header, index=dates,
                     index_name=(model.time or {}).get("column") or "date")
    beyond = model.residual_horizon
    note = ""
    if args.interval is not None and args.steps > beyond:
        note = (f"; the bounds of the steps after {beyond} (the backtest's horizon) grow as the square root of the "
                "horizon")
    print(f"wrote {forecast.shape[0]} forecast steps (after {history.shape[0]} known ones) to {out}" + note)
    return 0


def _future_dates(folder: Path, known: int, steps: int) -> list[str] | None:
    """The dates of the ``steps`` steps after the first ``known`` rows of the run's data (``data.npz``), or None
    when the data have no regular dates."""
    from evolino.tasks.dates import format_times as iso
    from evolino.tasks.dates import future_times, infer_frequency
    from evolino.tasks.table import read_table

    if not (folder / "data.npz").is_file():
        return None
    times = read_table(folder / "data.npz").time
    frequency = None if times is None or len(times) < known else infer_frequency(times)
    if frequency is None:
        return None
    return list(iso(future_times(times[known - 1], frequency, steps), frequency))


def command_tasks(args: argparse.Namespace) -> int:
    from evolino.tasks import task_description, task_names

    names = task_names()
    width = max(map(len, names))
    for name in names:
        print(f"{name:{width}s} {task_description(name)}")
    return 0


def command_optimizers(args: argparse.Namespace) -> int:
    from evolino.optimizers import families, optimizer_names, optimizer_options

    def line(name: str) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in optimizer_options(name).items())
        return f"{name:10s} {options}"

    for name in optimizer_names():
        print(line(name))
    for prefix, family in families().items():
        if not family.available():
            print(f"{prefix}:NAME   (not installed: pip install \"evolino[{prefix}]\" adds every {family.module} "
                  f"{family.what})")
            continue
        for member in family.names():
            print(line(f"{prefix}:{member}"))
    return 0


def command_sweep(args: argparse.Namespace) -> int:
    from evolino.reporting import check_writable

    if (args.resume is None) == (args.out is None):
        raise UsageError("give --out DIR for a new sweep, or --resume DIR to continue one")
    if args.resume is None and args.sweep_file is None:
        raise UsageError("no sweep file: python -m evolino sweep SWEEP.toml --out DIR")
    from evolino.sweep.space import load_sweep

    if args.sweep_file is not None:
        load_sweep(args.sweep_file)  # a bad sweep file is one line before anything is created or started
    out = args.resume or args.out
    if args.resume is not None and not Path(out, "sweep.toml").is_file():
        raise UsageError(f"{out} is not a sweep folder (no sweep.toml)")
    from evolino.errors import require_extra

    require_extra("ray.tune", "tune", "a sweep (it runs on Ray Tune)")
    from evolino.sweep.runner import run_sweep

    existed = Path(out).exists()
    try:
        check_writable(out)
    except OSError as exc:
        raise UsageError(f"cannot write to sweep folder {out!r}: {exc.strerror or exc}") from None
    try:
        summary = run_sweep(args.sweep_file, out, resume=args.resume is not None, address=args.address,
                            max_concurrent=args.max_concurrent, connect_timeout=args.connect_timeout,
                            verbose=args.verbose)
    except EvolinoError:
        if not existed and Path(out).is_dir() and not any(Path(out).iterdir()):
            Path(out).rmdir()  # nothing was written: the same command works again
        raise
    done = [row for row in summary["trials"] if row["status"] == "finished"]
    best = summary["best"]
    line = f"sweep: {len(done)} of {len(summary['trials'])} trials finished"
    if best is not None:
        line += (f"; best {best['trial']} (validation {best['validation_error']:.4g}, test "
                 f"{best['test_error'] if best['test_error'] is None else format(best['test_error'], '.4g')})")
    print(line + f"; summary in {out}/summary.md")
    if summary["left"]:
        why = "the sweep's time budget ran out" if summary["out_of_time"] else "interrupted"
        print(f"evolino: {summary['left']} trials did not run to their end ({why}); continue with: python -m evolino "
              f"sweep --resume {out}", file=sys.stderr)
        return 0 if summary["out_of_time"] else EXIT_INTERRUPTED
    return 0


COMMANDS = {"run": command_run, "resume": command_resume, "sweep": command_sweep, "report": command_report,
            "predict": command_predict, "generate": command_generate, "tasks": command_tasks,
            "optimizers": command_optimizers}


def main(argv: list[str] | None = None) -> int:
    # RAY_AUTH_MODE is made explicit by the Ray backend: "disabled" for a Ray it starts itself, "token" when joining a
    # cluster with RAY_AUTH_TOKEN(_PATH) set (evolino.backends.ray_cluster.set_auth_environment).
    started = time.perf_counter()
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, EvolinoError) as exc:
        print(f"evolino: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # invalid values found by the library's checks (names, shapes, options), or a bug
        if not _raised_by_evolino(exc):
            return _internal_error(exc)
        if os.environ.get("EVOLINO_DEBUG"):
            raise
        print(f"evolino: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"evolino: interrupted after {time.perf_counter() - started:.1f}s", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of our output went away (`evolino tasks | head -1`): nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so that the exit flush does not fail too
        return 0
    except OSError as exc:
        from evolino.atomic import disk_full

        if not disk_full(exc):  # a full disk outside a run (report, predict, generate): the files are written
            return _internal_error(exc)  # atomically, so nothing is half written; say so in one line
        where = f" (writing {exc.filename})" if exc.filename else ""
        print(f"evolino: error: {exc.strerror}{where}; nothing was half written: free some space and run the command "
              "again", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001  (one line, never a bare traceback)
        return _internal_error(exc)


_PACKAGE = Path(__file__).resolve().parent


def _raised_by_evolino(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by a ``raise`` statement in evolino's own source: the innermost frame of its
    traceback is in the evolino package and the statement there is a ``raise`` (so a check of the library, not an
    error of numpy's or of an operation that failed)."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    filename = tb.tb_frame.f_code.co_filename
    try:
        inside = Path(filename).resolve().is_relative_to(_PACKAGE)
    except (OSError, ValueError):
        return False
    return inside and tb.tb_lineno in _raise_lines(filename)


@functools.lru_cache(maxsize=64)
def _raise_lines(filename: str) -> frozenset[int]:
    """Every line that a ``raise`` statement of the source file ``filename`` spans (empty when it cannot be read)."""
    try:
        tree = ast.parse(Path(filename).read_text(encoding="utf-8"), filename)
    except (OSError, SyntaxError, ValueError):
        return frozenset()
    return frozenset(line for node in ast.walk(tree) if isinstance(node, ast.Raise)
                     for line in range(node.lineno, (node.end_lineno or node.lineno) + 1))


def _internal_error(exc: BaseException) -> int:
    """One line for a bug (the traceback with EVOLINO_DEBUG=1); exit status 1."""
    if os.environ.get("EVOLINO_DEBUG"):
        raise exc
    print(f"evolino: internal error: {type(exc).__name__}: {exc} (set EVOLINO_DEBUG=1 for the traceback)",
          file=sys.stderr)
    return 1
