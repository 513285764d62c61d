"""Command line: ``python -m evolino run | resume | report | predict | generate | tasks | optimizers``.

Every user error (unknown names, bad sizes, unwritable folders, an unreachable cluster) ends with one line on stderr
and exit status 2; an unexpected failure ends with one line and status 1 (set EVOLINO_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import argparse
import ast
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


_OPTION_WORDS = {"true": True, "false": False}  # as a config file writes them (TOML has no null)


def parse_options(pairs: list[str]) -> dict:
    """``["KEY=VALUE", ...]`` -> dict; values are true/false (any case), Python literals where they parse,
    strings otherwise."""
    options = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--opt expects KEY=VALUE, got {pair!r}")
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
                         description="Flags override the values of --config, which override the defaults.")
    run.add_argument("--config", default=None, metavar="TOML", help="run configuration file (e.g. DIR/config.toml "
                     "of an earlier run, to repeat it)")
    run.add_argument("--task", default=None, help="task name (see `python -m evolino tasks`), default mso2")
    run.add_argument("--optimizer", default=None, help="optimizer name, default cma")
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
    run.add_argument("--ridge", type=_finite_float, default=None, help="ridge strength of the readout")
    run.add_argument("--target-error", type=_finite_float, default=None, help="stop at this training error")
    run.add_argument("--max-evaluations", type=_positive_int, default=None, help="stop after this many evaluations")
    run.add_argument("--max-seconds", type=_finite_float, default=None, help="stop after this much wall-clock time")
    run.add_argument("--backend", default=None, help="serial or ray, default serial")
    run.add_argument("--address", default=None, help="Ray cluster address (auto, HOST:PORT, ray://...)")
    run.add_argument("--workers", type=_positive_int, default=None, help="cap on Ray evaluation actors")
    run.add_argument("--chunks-per-worker", type=_positive_int, default=None,
                     help="chunks per Ray actor and generation (default 1 on one node, 4 across nodes)")
    run.add_argument("--out", default=None, help="output folder, default runs/latest")
    run.add_argument("--checkpoint-every", type=_non_negative_int, default=None,
                     help="checkpoint every N generations (also at the end and on Ctrl-C), default 25")
    run.add_argument("--progress-every", type=_positive_int, default=None,
                     help="when piped, print a progress line every N generations, default 10")
    _add_display_flags(run)

    resume = sub.add_parser("resume", help="continue a run from its newest good checkpoint",
                            description="Continues DIR exactly as if it had never stopped; --generations raises "
                                        "(or lowers) the generation budget.")
    resume.add_argument("dir", help="run folder (the --out of `run`)")
    resume.add_argument("--generations", type=_positive_int, default=None, help="new generation budget (total)")
    _add_display_flags(resume)

    report = sub.add_parser("report", help="write PNG plots and report.md for a run folder")
    report.add_argument("dir", help="run folder")

    predict = sub.add_parser("predict", help="teacher-forced outputs of a saved model on a CSV file",
                             description="The CSV holds the model's inputs (if it has any), then its targets (fed "
                                         "back one step delayed, if it uses feedback), one row per step; a header "
                                         "line is optional.")
    predict.add_argument("dir", help="run folder (or a model.npz file)")
    predict.add_argument("--csv", required=True, help="input CSV file")
    predict.add_argument("--out", default=None, help="output CSV, default DIR/predictions.csv")

    generate = sub.add_parser("generate", help="closed-loop generation by a saved model, written as CSV")
    generate.add_argument("dir", help="run folder (or a model.npz file)")
    generate.add_argument("--steps", type=_positive_int, required=True, help="steps to generate")
    generate.add_argument("--history", default=None, help="CSV of the known past of the signal (one column per "
                          "output); default: the task's train + validation data from DIR/config.toml")
    generate.add_argument("--out", default=None, help="output CSV, default DIR/generated.csv")

    sub.add_parser("tasks", help="list the named tasks")
    sub.add_parser("optimizers", help="list the optimizers and their options")
    return parser


def _add_display_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress display, only the final summary")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots and report.md at the end")


# run flag -> config key. The defaults live in evolino.config.RunConfig (chosen so that `python -m evolino run`
# solves MSO2 to NRMSE <= 1e-5 well within a minute on a 2-core machine).
_FLAG_KEYS = {
    "task": "task.name", "optimizer": "optimizer.name", "cells": "network.cells",
    "population": "optimizer.population", "generations": "stop.generations", "seed": "seed",
    "feedback_scale": "network.feedback_scale", "init_scale": "network.init_scale", "rcond": "readout.rcond",
    "ridge": "readout.ridge", "target_error": "stop.target_error", "max_evaluations": "stop.max_evaluations",
    "max_seconds": "stop.max_seconds", "backend": "backend.name", "address": "backend.address",
    "workers": "backend.workers", "chunks_per_worker": "backend.chunks_per_worker", "out": "output.dir",
    "checkpoint_every": "output.checkpoint_every",
    "progress_every": "output.progress_every",
}


def config_flags() -> dict[str, str]:
    """Config key -> the flag of ``run`` that sets it."""
    flags = {key: "--" + dest.replace("_", "-") for dest, key in _FLAG_KEYS.items()}
    flags.update({"optimizer.options": "--opt", "output.plots": "--no-plots"})
    return flags


def resolve_run_config(args: argparse.Namespace):
    """Defaults, then the --config file, then the flags: the validated RunConfig of a ``run`` command."""
    from evolino.config import RunConfig, apply_overrides, load_config

    config = load_config(args.config) if args.config else RunConfig()
    overrides = {key: getattr(args, flag) for flag, key in _FLAG_KEYS.items()}
    if args.opt:
        overrides["optimizer.options"] = parse_options(args.opt)
    if args.no_plots:
        overrides["output.plots"] = False
    try:
        return apply_overrides(config, overrides)
    except EvolinoError as exc:
        named = [flag for key, flag in config_flags().items() if overrides.get(key) is not None and key in str(exc)]
        raise type(exc)(f"{named[0]}: {exc}" if named else str(exc)) from None


def _make_task(config):
    from evolino.errors import ConfigError
    from evolino.tasks import make_task

    try:
        return make_task(config.task.name, **config.task.options)
    except TypeError as exc:
        raise ConfigError(f"task.options: {exc}") from None


def _run_folder(path: str):
    from evolino.reporting import check_writable

    try:
        return check_writable(path)
    except OSError as exc:
        raise UsageError(f"cannot write to output folder {path!r}: {exc.strerror or exc}") from None


def _train(config, out, resume: bool, quiet: bool) -> int:
    """Fit (fresh or resumed) with progress and checkpoints in ``out``, then write every result file."""
    from evolino.config import estimator_params
    from evolino.progress import make_progress
    from evolino.reporting import write_report, write_run
    from evolino.trainer import Evolino

    task = _make_task(config)
    progress = make_progress(config.stop.generations, quiet=quiet, every=config.output.progress_every)
    estimator = Evolino(callbacks=[progress], checkpoint_dir=out, handle_sigint=True, **estimator_params(config))
    estimator.build_problem(task)  # fails early on a network/task mismatch
    try:
        result = estimator.fit(task, resume=resume)
    finally:
        progress.close()
    write_run(out, result, extra=_result_extra(config))
    if config.output.plots:
        write_report(out)
    print(f"{task.name}: {result.generations} generations, {result.evaluations} evaluations, "
          f"{result.wall_seconds:.1f}s; train error {result.train_error:.3e}, test {task.metric} "
          f"{result.test_error:.3e}; stopped by {result.stop_reason}; results in {out}/")
    if result.stop_reason == "interrupted":
        print(f"evolino: interrupted; continue with: python -m evolino resume {out}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _result_extra(config) -> dict:
    return {"feedback_scale": config.network.feedback_scale, "population": config.optimizer.population,
            "backend": config.backend.name, "optimizer_options": dict(config.optimizer.options)}


def command_run(args: argparse.Namespace) -> int:
    from evolino.checkpoint import clear_checkpoints
    from evolino.config import write_config

    config = resolve_run_config(args)
    out = _run_folder(config.output.dir)
    clear_checkpoints(out)  # a fresh run: never resume someone else's checkpoints later
    write_config(out / "config.toml", config)
    return _train(config, out, resume=False, quiet=args.quiet)


def command_resume(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from evolino.config import apply_overrides, load_config, write_config

    out = Path(args.dir)
    if not (out / "config.toml").is_file():
        raise UsageError(f"{out} is not a run folder (no config.toml)")
    config = load_config(out / "config.toml")
    config = apply_overrides(config, {"stop.generations": args.generations})
    config = replace(config, output=replace(config.output, dir=str(out),
                                            plots=config.output.plots and not args.no_plots))
    write_config(out / "config.toml", config)
    return _train(config, _run_folder(str(out)), resume=True, quiet=args.quiet)


def command_report(args: argparse.Namespace) -> int:
    from evolino.reporting import write_report

    out = Path(args.dir)
    if not (out / "result.json").is_file():
        raise UsageError(f"{out} has no result.json (run `python -m evolino run --out {out}` first)")
    paths = write_report(out)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _load_model(target: str):
    from evolino.model import EvolinoModel

    path = Path(target)
    model_path = path / "model.npz" if path.is_dir() else path
    if not model_path.is_file():
        raise UsageError(f"no model at {model_path}")
    try:
        return EvolinoModel.load(model_path), (path if path.is_dir() else path.parent)
    except (OSError, KeyError, ValueError) as exc:
        raise UsageError(f"cannot read model {model_path}: {exc}") from None


def command_predict(args: argparse.Namespace) -> int:
    from evolino.reporting import read_numeric_csv, write_matrix_csv

    model, folder = _load_model(args.dir)
    spec = model.spec
    data = read_numeric_csv(args.csv)
    n_in, n_fb = spec.n_inputs, spec.n_feedback
    if data.shape[1] != n_in + n_fb:
        raise UsageError(f"{args.csv} has {data.shape[1]} column(s); this model needs {n_in} input column(s)"
                         + (f" followed by {n_fb} target column(s)" if n_fb else ""))
    inputs = data[:, :n_in] if n_in else None
    targets = data[:, n_in:] if n_fb else None
    outputs = model.predict(inputs=inputs, targets=targets)
    out = Path(args.out) if args.out else folder / "predictions.csv"
    write_matrix_csv(out, outputs, "output")
    print(f"wrote {outputs.shape[0]} rows to {out}")
    return 0


def command_generate(args: argparse.Namespace) -> int:
    import numpy as np

    from evolino.reporting import read_numeric_csv, write_matrix_csv

    model, folder = _load_model(args.dir)
    if model.spec.n_inputs:
        raise UsageError("generate needs a model without external inputs (use predict for this model)")
    if not model.spec.feedback:
        raise UsageError("generate needs a model that feeds its output back (a generative task)")
    if args.history:
        history = read_numeric_csv(args.history)
    else:
        from evolino.config import load_config

        if not (folder / "config.toml").is_file():
            raise UsageError(f"no config.toml in {folder}: give the known past with --history CSV")
        task = _make_task(load_config(folder / "config.toml"))
        first = [task.train[0], *(task.validation[:1] if task.generative else [])]
        history = np.concatenate([pair.targets for pair in first])
    outputs = model.generate(history, args.steps)
    out = Path(args.out) if args.out else folder / "generated.csv"
    write_matrix_csv(out, outputs, "output")
    print(f"wrote {outputs.shape[0]} generated steps to {out}")
    return 0


def command_tasks(args: argparse.Namespace) -> int:
    from evolino.tasks import task_description, task_names

    for name in task_names():
        print(f"{name:12s} {task_description(name)}")
    return 0


def command_optimizers(args: argparse.Namespace) -> int:
    from evolino.optimizers import optimizer_names, optimizer_options

    for name in optimizer_names():
        options = ", ".join(f"{k}={v!r}" for k, v in optimizer_options(name).items())
        print(f"{name:10s} {options}")
    return 0


COMMANDS = {"run": command_run, "resume": command_resume, "report": command_report, "predict": command_predict,
            "generate": command_generate, "tasks": command_tasks, "optimizers": command_optimizers}


def main(argv: list[str] | None = None) -> int:
    # RAY_AUTH_MODE is made explicit by the Ray backend: "disabled" for a Ray it starts itself, "token" when joining a
    # cluster with RAY_AUTH_TOKEN(_PATH) set (evolino.backends.ray._set_auth_environment).
    started = time.perf_counter()
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, EvolinoError) as exc:
        print(f"evolino: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # invalid values found by the library (names, shapes, options)
        print(f"evolino: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"evolino: interrupted after {time.perf_counter() - started:.1f}s", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001  (one line, never a bare traceback)
        if os.environ.get("EVOLINO_DEBUG"):
            raise
        print(f"evolino: internal error: {type(exc).__name__}: {exc} (set EVOLINO_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 1
