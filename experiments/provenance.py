"""What every results file of experiments/ records: the commit, the versions, the machine, the command and the date
that made it (:func:`evolino.provenance.provenance`, under the file's "meta" key); and how errors go into JSON, which
has no infinity (:func:`finite_or_none`, back with :func:`error_or_inf`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evolino.metrics import error_or_inf, finite_or_none  # noqa: F401  (the experiments import them from here)
from evolino.provenance import provenance

ROOT = Path(__file__).resolve().parent.parent


def command_line(args: argparse.Namespace, positional: tuple[str, ...] = (), skip: tuple[str, ...] = ()) -> str:
    """The command that repeats this run: the script, the ``positional`` arguments, then every other option as
    parsed (lists space-separated, a true flag alone, paths relative to the repository; options left unset (None)
    or false flags are left out, so the command parses again and writes the same file)."""

    def one(value) -> str:
        if isinstance(value, Path) and value.resolve().is_relative_to(ROOT):
            return str(value.resolve().relative_to(ROOT))
        return str(value)

    def text(value) -> str:
        return " ".join(map(one, value)) if isinstance(value, list) else one(value)

    def option(key: str, value) -> str:
        flag = f"--{key.replace('_', '-')}"
        return flag if value is True else f"{flag} {text(value)}".rstrip()

    parts = [f"python experiments/{Path(sys.argv[0]).name}", *(text(getattr(args, key)) for key in positional)]
    parts += [option(key, value) for key, value in vars(args).items()
              if key not in skip and key not in positional and value is not None and value is not False]
    return " ".join(parts)


def write_results(path: Path, payload: dict, command: str | None = None, **meta) -> None:
    """Write ``payload`` as JSON to ``path`` with a "meta" entry: the provenance of the run (commit, versions,
    machine, ``command`` or else ``sys.argv``, date) and the extra entries ``meta``."""
    record = {**provenance(command), **meta}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": record, **payload}, indent=2) + "\n")
    print(f"wrote {path}")



