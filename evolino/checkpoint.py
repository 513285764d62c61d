"""Checkpoints of a run: everything needed to continue it exactly, written atomically, verified on reading.

A checkpoint holds the optimizer's full state (pickled: its arrays, its pycma/DEAP internals and its
``numpy.random.Generator``, the run's only source of randomness after the initial mean), the generation counter, the
best-ever genome and error, the history rows, the elapsed evaluation time, the search settings and the SHA-256 of
the task (:func:`task_digest`), so that a checkpoint is never continued by another search or on other data. Since
nothing else carries state between generations, a run continued from a checkpoint asks, evaluates and tells exactly
what the uninterrupted run would. CMA-ES keeps its state compact (no matrix that can be recomputed, see
:mod:`evolino.optimizers.cmaes`): 75 MB for a 30-cell network (3930 weights) and population 200, where pycma's
objects pickled as they are took 267 MB.

File layout: ``DIR/checkpoints/gen-000042.ckpt`` = magic line, 8-byte payload length, 32-byte SHA-256 of the
payload, then the pickled payload. Each file is written atomically (:mod:`evolino.atomic`), so a crash (even
SIGKILL) or a full disk leaves either the old set of files or the new one, never half a file under a checkpoint's
name; the newest ``keep`` checkpoints are kept, and older ones are removed only after the new one is on disk. On
reading, a truncated or corrupt file is reported and the previous good checkpoint is used.

**Checkpoints are pickles, and unpickling runs code that the file's author chose.** Load only checkpoints you (or
someone you trust) wrote: ``python -m evolino resume`` refuses a folder that belongs to another user unless told
``--force`` (:func:`foreign_owner`).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import struct
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from evolino.atomic import atomic_file, is_temporary, remove_temporaries
from evolino.errors import EvolinoError

__all__ = ["CheckpointError", "CHECKPOINT_FOLDER", "write_checkpoint", "read_checkpoint", "load_latest",
           "checkpoint_files", "checkpoint_generation", "clear_checkpoints", "holds_checkpoint_files", "task_digest",
           "foreign_owner", "note"]

CHECKPOINT_FOLDER = "checkpoints"
FORMAT_VERSION = 1
_MAGIC = b"EVOLINO-CHECKPOINT\n"
_HEADER = struct.Struct("<Q32s")
_NAME = re.compile(r"^gen-(\d+)\.ckpt$")


class CheckpointError(EvolinoError):
    """No usable checkpoint (missing, corrupt, truncated, of another format, or of another run)."""


def checkpoint_files(folder: str | os.PathLike) -> list[Path]:
    """Checkpoint files of run folder ``folder``, newest (highest generation) first."""
    root = Path(folder) / CHECKPOINT_FOLDER
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def checkpoint_generation(path: str | os.PathLike) -> int:
    """The generation a checkpoint file was written after, from its name."""
    match = _NAME.match(Path(path).name)
    if match is None:
        raise ValueError(f"{path} is not named like a checkpoint (gen-NNNNNN.ckpt)")
    return int(match.group(1))


def write_checkpoint(folder: str | os.PathLike, state: dict, generation: int, keep: int = 2) -> Path:
    """Write ``state`` as the checkpoint of ``generation`` in run folder ``folder``; keep the newest ``keep``.

    Returns the checkpoint's path. On any failure (a full disk, ...) nothing but the temporary file changed, and
    that is removed: the checkpoints already on disk stay as they were.
    """
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    root = Path(folder) / CHECKPOINT_FOLDER
    root.mkdir(parents=True, exist_ok=True)
    payload = pickle.dumps({"format_version": FORMAT_VERSION, **state}, protocol=pickle.HIGHEST_PROTOCOL)
    path = root / f"gen-{generation:06d}.ckpt"
    with atomic_file(path, "wb") as handle:
        handle.write(_MAGIC + _HEADER.pack(len(payload), hashlib.sha256(payload).digest()))
        handle.write(payload)
    for old in checkpoint_files(folder)[keep:]:
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


def note(message: str) -> None:
    """Tell the user something about checkpoints (one line on stderr)."""
    print(f"evolino: {message}", file=sys.stderr, flush=True)


def _warn(message: str) -> None:
    note(f"warning: {message}")


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
    """Remove the checkpoints of run folder ``folder`` and what a killed writer left there; the folder
    ``checkpoints/`` goes too when nothing else is in it."""
    root = Path(folder) / CHECKPOINT_FOLDER
    if not root.is_dir():
        return
    for path in root.iterdir():
        if _NAME.match(path.name):
            path.unlink(missing_ok=True)
    remove_temporaries(root)
    try:
        root.rmdir()
    except OSError:  # a file of the user's: leave the folder
        pass


def holds_checkpoint_files(folder: str | os.PathLike) -> bool:
    """Whether ``DIR/checkpoints`` holds checkpoints or temporary files of a checkpoint writer."""
    root = Path(folder) / CHECKPOINT_FOLDER
    return root.is_dir() and any(_NAME.match(p.name) or is_temporary(p.name) for p in root.iterdir())


def task_digest(task) -> str:
    """SHA-256 (hex) of a task: its description (protocol, sizes, scaling) and every array of every sequence.

    Equal for a task and the same task saved and loaded again (``task.npz``); differs when any number differs.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps(task.describe(), sort_keys=True, default=str).encode())
    for split in ("train", "validation", "test"):
        for pair in getattr(task, split):
            for array in (pair.targets, pair.inputs):
                if array is None:
                    digest.update(b"none")
                    continue
                array = np.ascontiguousarray(array)
                digest.update(f"{array.dtype.str}{array.shape}".encode())
                digest.update(array.tobytes())
    return digest.hexdigest()


def _owner_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"


def foreign_owner(folder: str | os.PathLike) -> str | None:
    """A description of the first of ``folder``, its ``checkpoints/`` and its checkpoint files that belongs to
    another user than this process's, or None when all are this user's (or the platform has no owners)."""
    if not hasattr(os, "getuid"):
        return None
    me = os.getuid()
    folder = Path(folder)
    for path in [folder, folder / CHECKPOINT_FOLDER, *checkpoint_files(folder)]:
        try:
            uid = path.stat().st_uid
        except OSError:
            continue
        if uid != me:
            return f"{path} belongs to {_owner_name(uid)}"
    return None
