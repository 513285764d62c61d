"""Checkpoints of a run: everything needed to continue it exactly, written atomically, verified on reading.

A checkpoint holds the optimizer's full state (pickled: its arrays, its pycma/DEAP internals and its
``numpy.random.Generator``, the run's only source of randomness after the initial mean), the generation counter, the
best-ever genome and error, the history rows and the elapsed evaluation time. Since nothing else carries state between
generations, a run continued from a checkpoint asks, evaluates and tells exactly what the uninterrupted run would.

File layout: ``DIR/checkpoints/gen-000042.ckpt`` = magic line, 8-byte payload length, 32-byte SHA-256 of the
payload, then the pickled payload. Each file is written to a temporary name, flushed, fsync'ed and moved into place
with ``os.replace``, so a crash (even SIGKILL) leaves either the old set of files or the new one, never half a file
under a checkpoint's name; the newest ``keep`` checkpoints are kept. On reading, a truncated or corrupt file is
reported and the previous good checkpoint is used.

Checkpoints are pickles: load only checkpoints you wrote yourself (as with any pickle).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import struct
import sys
from collections.abc import Callable
from pathlib import Path

from evolino.errors import EvolinoError

__all__ = ["CheckpointError", "CHECKPOINT_FOLDER", "write_checkpoint", "read_checkpoint", "load_latest",
           "checkpoint_files", "clear_checkpoints"]

CHECKPOINT_FOLDER = "checkpoints"
FORMAT_VERSION = 1
_MAGIC = b"EVOLINO-CHECKPOINT\n"
_HEADER = struct.Struct("<Q32s")
_NAME = re.compile(r"^gen-(\d+)\.ckpt$")


class CheckpointError(EvolinoError):
    """No usable checkpoint (missing, corrupt, truncated, or of another format)."""


def checkpoint_files(folder: str | os.PathLike) -> list[Path]:
    """Checkpoint files of run folder ``folder``, newest (highest generation) first."""
    root = Path(folder) / CHECKPOINT_FOLDER
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not supported on this platform / file system
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_checkpoint(folder: str | os.PathLike, state: dict, generation: int, keep: int = 2) -> Path:
    """Write ``state`` as the checkpoint of ``generation`` in run folder ``folder``; keep the newest ``keep``.

    Returns the checkpoint's path.
    """
    root = Path(folder) / CHECKPOINT_FOLDER
    root.mkdir(parents=True, exist_ok=True)
    payload = pickle.dumps({"format_version": FORMAT_VERSION, **state}, protocol=pickle.HIGHEST_PROTOCOL)
    path = root / f"gen-{generation:06d}.ckpt"
    tmp = root / f".{path.name}.{os.getpid()}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(_MAGIC + _HEADER.pack(len(payload), hashlib.sha256(payload).digest()) + payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_folder(root)
    for old in checkpoint_files(folder)[max(keep, 1):]:
        old.unlink(missing_ok=True)
    return path


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Read and verify one checkpoint file; raises CheckpointError saying what is wrong with it."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    start = len(_MAGIC) + _HEADER.size
    if not data.startswith(_MAGIC) or len(data) < start:
        raise CheckpointError(f"{path} is not an evolino checkpoint (or is truncated to {len(data)} bytes)")
    length, digest = _HEADER.unpack(data[len(_MAGIC):start])
    payload = data[start:]
    if len(payload) != length:
        raise CheckpointError(f"{path} is truncated ({len(payload)} of {length} payload bytes)")
    if hashlib.sha256(payload).digest() != digest:
        raise CheckpointError(f"{path} is corrupt (checksum mismatch)")
    try:
        state = pickle.loads(payload)
    except Exception as exc:  # noqa: BLE001  (a class that no longer exists, ...)
        raise CheckpointError(f"{path} cannot be unpickled: {type(exc).__name__}: {exc}") from None
    if not isinstance(state, dict) or state.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} has an unsupported checkpoint format")
    return state


def _warn(message: str) -> None:
    print(f"evolino: warning: {message}", file=sys.stderr, flush=True)


def load_latest(folder: str | os.PathLike, report: Callable[[str], None] = _warn) -> tuple[dict, Path]:
    """The newest checkpoint of ``folder`` that reads back intact; bad newer ones are reported and skipped.

    Raises CheckpointError when there is none.
    """
    files = checkpoint_files(folder)
    if not files:
        raise CheckpointError(f"no checkpoint in {Path(folder) / CHECKPOINT_FOLDER}")
    problems = []
    for path in files:
        try:
            state = read_checkpoint(path)
        except CheckpointError as exc:
            problems.append(str(exc))
            report(f"{exc}; trying the previous checkpoint")
            continue
        return state, path
    raise CheckpointError(f"no usable checkpoint in {Path(folder) / CHECKPOINT_FOLDER}: {'; '.join(problems)}")


def clear_checkpoints(folder: str | os.PathLike) -> None:
    """Remove the checkpoints of run folder ``folder`` (a fresh run into an old folder)."""
    root = Path(folder) / CHECKPOINT_FOLDER
    if root.is_dir():
        for path in root.iterdir():
            if _NAME.match(path.name) or path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)
