"""Command line: ``python -m evolino run | tasks``.

Every user error (unknown names, bad sizes, unwritable folders, an unreachable cluster) ends with one line on stderr
and exit status 2; an unexpected failure ends with one line and status 1 (set EVOLINO_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time

from evolino.errors import EvolinoError

__all__ = ["main", "build_parser"]

EXIT_USAGE = 2


class UsageError(Exception):
    """A problem with what the user asked for; reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse prints usage + message; we want one line
        raise UsageError(message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def parse_options(pairs: list[str]) -> dict:
    """``["KEY=VALUE", ...]`` -> dict; values are Python literals where they parse, strings otherwise."""
    options = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--opt expects KEY=VALUE, got {pair!r}")
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

    run = sub.add_parser("run", help="run Evolino on a task and write result.json, history.csv, model.npz")
    run.add_argument("--task", default="mso2", help="task name (see `python -m evolino tasks`), default mso2")
    run.add_argument("--optimizer", default="cma", help="optimizer name, default cma")
    run.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                     help="optimizer option (repeatable), e.g. --opt sigma0=0.1")
    run.add_argument("--cells", type=_positive_int, default=10, help="LSTM memory cells, default 10")
    run.add_argument("--population", type=_positive_int, default=None,
                     help="genomes per generation (default: the optimizer's, 40 for CMA-ES)")
    run.add_argument("--generations", type=_positive_int, default=None, help="generation budget")
    run.add_argument("--seed", type=_non_negative_int, default=0, help="seed of the whole run, default 0")
    run.add_argument("--feedback-scale", type=_finite_float, default=None, help="scale of the fed-back output")
    run.add_argument("--rcond", type=_finite_float, default=None, help="pseudo-inverse singular-value cutoff")
    run.add_argument("--ridge", type=_finite_float, default=None, help="ridge strength of the readout")
    run.add_argument("--target-error", type=_finite_float, default=None, help="stop at this training error")
    run.add_argument("--backend", default="serial", help="serial or ray, default serial")
    run.add_argument("--address", default=None, help="Ray cluster address (auto, HOST:PORT, ray://...)")
    run.add_argument("--workers", type=_positive_int, default=None, help="cap on Ray evaluation actors")
    run.add_argument("--out", default="runs/latest", help="output folder, default runs/latest")
    run.add_argument("--quiet", action="store_true", help="print only the final summary")

    sub.add_parser("tasks", help="list the named tasks")
    sub.add_parser("optimizers", help="list the optimizers and their options")
    return parser


# Defaults of a run that depend on the task and optimizer; chosen so that `python -m evolino run` solves MSO2
# to NRMSE <= 1e-5 well within a minute on a 2-core machine.
RUN_DEFAULTS = {"population": 40, "generations": 300, "feedback_scale": 1e-4, "rcond": 1e-14, "ridge": 0.0}


def _estimator_kwargs(args: argparse.Namespace) -> dict:
    kwargs = {
        "cells": args.cells,
        "optimizer": args.optimizer,
        "seed": args.seed,
        "optimizer_options": parse_options(args.opt),
        "backend": args.backend,
        "target_error": args.target_error,
    }
    for key, default in RUN_DEFAULTS.items():
        value = getattr(args, key)
        kwargs[key] = default if value is None else value
    if args.rcond is not None and not 0 <= args.rcond < 1:
        raise UsageError(f"--rcond must be in [0, 1), got {args.rcond}")
    if args.ridge is not None and args.ridge < 0:
        raise UsageError(f"--ridge must be >= 0, got {args.ridge}")
    backend_options = {}
    if args.address is not None:
        backend_options["address"] = args.address
    if args.workers is not None:
        backend_options["workers"] = args.workers
    if backend_options and args.backend != "ray":
        raise UsageError("--address and --workers need --backend ray")
    kwargs["backend_options"] = backend_options
    return kwargs


def _progress_printer(quiet: bool):
    def show(row: dict) -> None:
        if not quiet:
            print(f"gen {row['generation']:5d}  evals {row['evaluations']:7d}  best {row['best']:.3e}  "
                  f"mean {row['mean']:.3e}  best-ever {row['best_ever']:.3e}  {row['wall_seconds']:7.1f}s",
                  flush=True)
    return show


def command_run(args: argparse.Namespace) -> int:
    from evolino.backends import backend_names
    from evolino.optimizers import check_options, optimizer_names
    from evolino.reporting import check_writable, write_run
    from evolino.tasks import make_task
    from evolino.trainer import Evolino

    kwargs = _estimator_kwargs(args)
    if args.optimizer not in optimizer_names():
        raise UsageError(f"unknown optimizer {args.optimizer!r}; choose one of {', '.join(optimizer_names())}")
    if args.backend not in backend_names():
        raise UsageError(f"unknown backend {args.backend!r}; choose one of {', '.join(backend_names())}")
    check_options(args.optimizer, kwargs["optimizer_options"])
    task = make_task(args.task)
    estimator = Evolino(callbacks=[_progress_printer(args.quiet)], **kwargs)
    estimator.build_problem(task)  # fails early on a network/task mismatch
    try:
        out = check_writable(args.out)
    except OSError as exc:
        raise UsageError(f"cannot write to output folder {args.out!r}: {exc.strerror or exc}") from None

    result = estimator.fit(task)
    write_run(out, result, extra={"feedback_scale": kwargs["feedback_scale"], "population": kwargs["population"],
                                  "backend": args.backend, "optimizer_options": kwargs["optimizer_options"]})
    print(f"{task.name}: {result.generations} generations, {result.evaluations} evaluations, "
          f"{result.wall_seconds:.1f}s; train error {result.train_error:.3e}, test {task.metric} "
          f"{result.test_error:.3e}; results in {out}/")
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


COMMANDS = {"run": command_run, "tasks": command_tasks, "optimizers": command_optimizers}


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
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
        return 130
    except Exception as exc:  # noqa: BLE001  (one line, never a bare traceback)
        if os.environ.get("EVOLINO_DEBUG"):
            raise
        print(f"evolino: internal error: {type(exc).__name__}: {exc} (set EVOLINO_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 1
