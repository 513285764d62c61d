"""The Evolino runs of an experiment as one sweep (``evolino.sweep``): side by side on this machine's cores, or on a
Ray cluster with ``--address``, each an ordinary run folder under ``--sweep-dir``.

An experiment script describes its runs as a base configuration (nested run-config keys), a list of settings that
go together (``{"task.name": "mso3", "network.cells": 15}``), a grid and seeds; :func:`evolino_runs` runs them and
returns one dict per run with the settings, the seed, the run's result.json and its folder. A sweep folder that
already holds this sweep is resumed (only unfinished runs run), so an interrupted experiment continues where it
stopped; ``--fresh`` starts it again. A sweep is resumed only by the code that started it: the folder records the
git commit (``code.json``), and a folder of another commit, of a checkout with uncommitted changes, or of unknown
code is started again (saying so), so that a results file never carries runs of older code under a newer commit.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from evolino.provenance import git_state
from evolino.sweep import run_sweep, sweep_from_dict
from evolino.sweep.runner import SWEEP_FILE, TRIALS_FOLDER, trial_records

DEFAULT_SWEEP_DIR = Path("runs") / "experiments"
# Options that say where and how the runs go, not what they compute: left out of the recorded command.
SWEEP_ONLY = ("sweep_dir", "address", "max_concurrent", "fresh")
CODE_FILE = "code.json"  # the git commit of the code that started the sweep's runs
# Experiments keep only results: no checkpoints (a run is minutes) and no plots per run.
QUIET_OUTPUT = {"checkpoint_every": 0, "plots": False}


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("running the Evolino runs (a sweep: docs/sweeps.md)")
    group.add_argument("--address", default=None, help="Ray cluster address (default: local Ray on this machine)")
    group.add_argument("--max-concurrent", type=int, default=None, help="runs at once (default: the CPUs)")
    group.add_argument("--sweep-dir", type=Path, default=DEFAULT_SWEEP_DIR,
                       help=f"where the run folders go (default {DEFAULT_SWEEP_DIR}/NAME)")
    group.add_argument("--fresh", action="store_true", help="start the sweep again instead of resuming it")


def evolino_runs(name: str, base: dict, args: argparse.Namespace, *, seeds: list[int],
                 settings: list[dict] | None = None, grid: dict | None = None) -> list[dict]:
    """Run every (setting x grid point x seed) once; returns ``[{"settings", "seed", "result", "folder"}]`` in
    plan order.

    Parameters
    ----------
    name : str
        The sweep's folder under ``args.sweep_dir``.
    base : dict
        Nested run-config tables, e.g. ``{"task": {"name": "mso2"}, "stop": {"generations": 300}}``.
    seeds, settings, grid
        ``sweep.seeds``, ``sweep.settings`` and the grid of ``[sweep.space]`` (dotted key -> list of values).
    """
    sweep = {"seeds": list(seeds), "space": {key: list(values) for key, values in (grid or {}).items()}}
    if settings:
        sweep["settings"] = [dict(s) for s in settings]
    base = {**base, "output": {**QUIET_OUTPUT, **base.get("output", {})}}
    spec = sweep_from_dict({**base, "sweep": sweep})
    out = Path(args.sweep_dir) / name
    code = git_state()
    stale = _stale(out, code)
    if stale:
        print(f"sweep {name}: {stale}; starting it again in {out}", flush=True)
    if (args.fresh or stale) and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / CODE_FILE).write_text(json.dumps({"commit": code["commit"], "dirty": code["dirty"]}) + "\n")
    resume = (out / SWEEP_FILE).is_file()
    run_sweep(spec, out, resume=resume, address=args.address, max_concurrent=args.max_concurrent)
    runs = []
    for trial_name, record in trial_records(out).items():
        if record.get("status") != "finished":
            raise RuntimeError(f"{out / TRIALS_FOLDER / trial_name} did not finish ({record.get('status')}): see "
                               f"{out / TRIALS_FOLDER / trial_name}.log")
        folder = out / TRIALS_FOLDER / trial_name
        runs.append({"settings": record["settings"], "seed": record["seed"], "folder": folder,
                     "result": json.loads((folder / "result.json").read_text())})
    return runs


def _stale(out: Path, code: dict) -> str:
    """Why the sweep in ``out`` may not be resumed by this code (``git_state()``), or "" when it may (or there is
    nothing to resume)."""
    if not (out / SWEEP_FILE).is_file():
        return ""
    if code["commit"] is None or code["dirty"] is not False:
        return "this checkout has uncommitted changes (or is not a git checkout), so its runs cannot be matched"
    try:
        made = json.loads((out / CODE_FILE).read_text())
    except (OSError, ValueError):
        return "its runs were made by code of an unknown commit"
    if made.get("commit") != code["commit"] or made.get("dirty") is not False:
        changes = " with uncommitted changes" if made.get("dirty") else ""
        return f"its runs were made at commit {str(made.get('commit'))[:10]}{changes}"
    return ""
