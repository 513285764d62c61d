"""What every results file of experiments/ records: the commit, the versions, the machine, the command and the date
that made it (:func:`evolino.provenance.provenance`, under the file's "meta" key); how errors go into JSON, which
has no infinity (:func:`finite_or_none`, back with :func:`error_or_inf`); and where a script's results go
(:func:`add_output_arguments`, :func:`output_path`): runs/<script>/ unless ``--write-results`` asks to replace the
committed file, so that a user's reproduction never changes the repository."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

from evolino.metrics import error_or_inf, finite_or_none  # noqa: F401  (the experiments import them from here)
from evolino.provenance import provenance

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "runs"


def command_line(args: argparse.Namespace, positional: tuple[str, ...] = (), skip: tuple[str, ...] = ()) -> str:
    """The command that repeats this run: the script, the ``positional`` arguments, then every other option as
    parsed (lists space-separated, quoted for a shell where needed, a true flag alone, paths relative to the
    repository; options left unset (None) or false flags are left out, so the command parses again and writes the
    same file)."""

    def one(value) -> str:
        if isinstance(value, Path) and value.resolve().is_relative_to(ROOT):
            value = value.resolve().relative_to(ROOT)
        return shlex.quote(str(value))  # a value with spaces (real_series.py's --variants) stays one argument

    def text(value) -> str:
        return " ".join(map(one, value)) if isinstance(value, list) else one(value)

    def option(key: str, value) -> str:
        flag = f"--{key.replace('_', '-')}"
        return flag if value is True else f"{flag} {text(value)}".rstrip()

    script = Path(sys.argv[0]).resolve()
    where = script.parent.name if script.parent.parent == ROOT else "experiments"  # benchmarks/ records its own
    if getattr(args, "write_results", False):
        skip = (*skip, "out")  # the committed file is where --write-results writes: --out would contradict it
    parts = [f"python {where}/{script.name}", *(text(getattr(args, key)) for key in positional)]
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


def add_output_arguments(parser: argparse.ArgumentParser, results: Path, smoke: str) -> None:
    """The options every results-writing script shares: ``--smoke`` (a tiny budget, ``smoke`` says which),
    ``--write-results`` (replace the committed ``results`` file) and ``--out`` (a results file elsewhere).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The script's parser.
    results : Path
        The committed results file (for a script with several, one of them: only the help text names it).
    smoke : str
        What the smoke budget is, for the help text.
    """
    group = parser.add_argument_group("where the results go")
    group.add_argument("--smoke", action="store_true", help=f"a check that the script runs: {smoke}")
    group.add_argument("--write-results", action="store_true",
                       help=f"replace the committed {_shown(results)} (default: a file under runs/)")
    group.add_argument("--out", type=Path, default=None, help="the results file (default: under runs/)")


def output_path(parser: argparse.ArgumentParser, args: argparse.Namespace, results: Path, script: str) -> Path:
    """Where this run's results go, set as ``args.out`` and returned: ``--out`` when given; the committed
    ``results`` with ``--write-results``; else runs/``script``/ under the committed file's name (a smoke run:
    runs/``script``/smoke/). A smoke run's sweep folder (``--sweep-dir``, when the script has one and it was not
    given) goes beside its results file, so that a smoke run leaves nothing behind outside its folder.

    ``script`` is the script's name (``Path(__file__).stem``): ``sys.argv[0]`` is not the script when a test calls
    its ``main``."""
    smoke = getattr(args, "smoke", False)
    if args.write_results:
        if smoke:
            parser.error("--smoke results are not the experiment's: leave out --write-results")
        if args.out is not None:
            parser.error(f"--write-results writes {_shown(results)}: leave out --out")
        args.out = results
    elif args.out is None:
        args.out = RUNS / script / ("smoke" if smoke else "") / results.name
    if smoke and hasattr(args, "sweep_dir"):
        from sweeps import DEFAULT_SWEEP_DIR  # only the scripts that run sweeps (and import sweeps) have one

        if Path(args.sweep_dir) == DEFAULT_SWEEP_DIR:
            args.sweep_dir = args.out.parent / "sweeps"
    return args.out


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


class _Tee(io.TextIOBase):
    def __init__(self, stream) -> None:
        self.stream, self.text = stream, io.StringIO()

    def write(self, text: str) -> int:
        self.text.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


@contextlib.contextmanager
def transcript() -> Iterator[list[str]]:
    """What is printed inside, printed as usual and also kept: the list yielded holds its lines once the block ends.
    For the benchmarks that report by printing tables, so that their results file holds the report as printed."""
    lines: list[str] = []
    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        try:
            yield lines
        finally:
            lines.extend(tee.text.getvalue().splitlines())

