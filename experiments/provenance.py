"""What every results file of experiments/ records: the versions, the machine and the command that made it."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

import evolino


def command_line(args: argparse.Namespace, positional: tuple[str, ...] = (), skip: tuple[str, ...] = ("out",)) -> str:
    """The command that repeats this run: the script, the ``positional`` arguments, then every other option as
    parsed (lists space-separated)."""

    def text(value) -> str:
        return " ".join(map(str, value)) if isinstance(value, list) else str(value)

    parts = [f"python experiments/{Path(sys.argv[0]).name}", *(text(getattr(args, key)) for key in positional)]
    parts += [f"--{key.replace('_', '-')} {text(value)}".rstrip() for key, value in vars(args).items()
              if key not in skip and key not in positional]
    return " ".join(parts)


def write_results(path: Path, payload: dict, command: str | None = None, **meta) -> None:
    """Write ``payload`` as JSON to ``path`` with a "meta" entry: versions, machine, ``command`` and ``meta``."""
    record = {"python": platform.python_version(), "numpy": np.__version__, "evolino": evolino.__version__,
              "machine": platform.machine(), "cpus": os.cpu_count(), **meta}
    if command is not None:
        record["command"] = command
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": record, **payload}, indent=2) + "\n")
    print(f"wrote {path}")
