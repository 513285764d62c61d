"""The trial records of a sweep folder: ``DIR/trials/NAME.json``, one per trial that has started.

A record holds the trial's settings, seed and status (running, finished, stopped, error). The trial writes its own
(running, finished) and the driver's Ray Tune callback writes stopped and error, each atomically, so that a driver
killed with -9 loses at most the trials that were running. :mod:`evolino.sweep.runner` writes them and
:mod:`evolino.sweep.summary` reads them; neither imports the other.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from evolino.atomic import write_text

__all__ = ["TRIALS_FOLDER", "DONE_STATES", "trial_records", "write_record"]

TRIALS_FOLDER = "trials"
DONE_STATES = ("finished", "stopped", "error")


def trial_records(out: str | os.PathLike) -> dict[str, dict]:
    """``{name: record}`` of every trial that has started, in name order."""
    folder = Path(out) / TRIALS_FOLDER
    records = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            records[path.stem] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):  # only atomic writes make these files: not expected, but not fatal
            continue
    return records


def write_record(out: str | os.PathLike, name: str, record: dict) -> None:
    """Write (atomically) the record of the trial ``name`` in the sweep folder ``out``."""
    write_text(Path(out) / TRIALS_FOLDER / f"{name}.json", json.dumps(record, indent=1))
