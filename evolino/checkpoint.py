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
payload, then the pickled payload: ``{"format_version": 2, "environment": ..., "state": bytes}``, the state pickled
on its own inside it, so that the environment is read before any of the libraries' objects are unpickled. Each file
is written atomically (:mod:`evolino.atomic`), so a crash (even SIGKILL) or a full disk leaves either the old set of
files or the new one, never half a file under a checkpoint's name; the newest ``keep`` checkpoints are kept, and older
ones are removed only after the new one is on disk. On reading, a truncated or corrupt file is reported and the
previous good checkpoint is used; when none is good, one line says so and how to start the run again.

**The environment.** The optimizer's state is pickled with its library's internals (pycma's objects, rebuilt through
their private attributes), so another version of a library could fail to load it or, worse, continue the run
differently without a word. A checkpoint therefore records the versions of numpy, cma and deap (and evosax with JAX,
or nevergrad, when the optimizer is theirs; numba with the compiled kernels, JAX with the JAX kernel) and the kernel
(:func:`evolino.kernels.resolve_kernel`) it was written with (:func:`checkpoint_environment`). Resuming with any of
them different is refused (:class:`CheckpointMismatchError`, one line naming both versions) before the state is
unpickled. Checkpoints written before the record existed (format 1) are resumed unchecked, with a warning.

**Checkpoints are pickles, and unpickling runs code that the file's author chose.** Load only checkpoints you (or
someone you trust) wrote: ``python -m evolino resume`` refuses a folder that belongs to another user unless told
``--force`` (:func:`foreign_owner`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import pickle
import re
import struct
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from evolino.atomic import atomic_file, is_temporary, remove_temporaries
from evolino.errors import EvolinoError

__all__ = ["CheckpointError", "CheckpointMismatchError", "CHECKPOINT_FOLDER", "checkpoint_environment",
           "write_checkpoint", "CheckpointWriter", "read_checkpoint", "load_latest",
           "checkpoint_files", "checkpoint_generation", "clear_checkpoints", "holds_checkpoint_files", "task_digest",
           "foreign_owner", "note"]

CHECKPOINT_FOLDER = "checkpoints"
FORMAT_VERSION = 2
_OLD_FORMAT = 1  # the whole state in one pickle, no environment: read, and resumed unchecked with a warning
_MAGIC = b"EVOLINO-CHECKPOINT\n"
_HEADER = struct.Struct("<Q32s")
_NAME = re.compile(r"^gen-(\d+)\.ckpt$")


class CheckpointError(EvolinoError):
    """No usable checkpoint (missing, corrupt, truncated, of another format, or of another run)."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint written with other library versions or another kernel than this process has: refused, since the
    resumed run could fail or differ from the uninterrupted one (not skipped for an older checkpoint: those were
    written with the same environment)."""


def _installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def checkpoint_environment(optimizer: str, kernel: str) -> dict:
    """What a checkpoint of a run with ``optimizer`` (its name, e.g. "sep-cma", "evosax:CMA_ES") on the resolved
    ``kernel`` ("numpy", "compiled", "compiled-scalar", "jax") records of this process: ``{"libraries": {name:
    version or None}, "kernel": kernel}``. A resume compares each recorded library with the installed one."""
    names = ["numpy", "cma", "deap"]
    family = str(optimizer).split(":", 1)[0].strip().lower() if ":" in str(optimizer) else ""
    if family == "evosax":
        names += ["evosax", "jax"]
    elif family == "nevergrad":
        names.append("nevergrad")
    if kernel in ("compiled", "compiled-scalar"):
        names.append("numba")
    elif kernel == "jax" and "jax" not in names:
        names.append("jax")
    return {"libraries": {name: _installed_version(name) for name in names}, "kernel": kernel}


def environment_mismatches(recorded: dict, current: dict) -> list[str]:
    """What differs between a checkpoint's recorded environment and ``current`` (:func:`checkpoint_environment`),
    each as "cma 4.0.0 (this install has cma 4.5.0)"; every recorded library is compared, also those ``current`` does
    not name."""
    differ = []
    now = dict(current.get("libraries", {}))
    for name, version in sorted(recorded.get("libraries", {}).items()):
        installed = now[name] if name in now else _installed_version(name)
        if installed != version:
            written = f"{name} {version}" if version else f"no {name}"
            differ.append(f"{written} (this install has {f'{name} {installed}' if installed else f'no {name}'})")
    kernel, this = recorded.get("kernel"), current.get("kernel")
    if kernel and this and kernel != this:
        differ.append(f"the {kernel} kernel (this process would use the {this} kernel: EVOLINO_KERNEL={kernel} "
                      "chooses it)")
    return differ


def restart_advice(folder: str | os.PathLike) -> str:
    """How to start the run in ``folder`` again from generation 0 (its config.toml, when it has one)."""
    folder = Path(folder)
    if (folder / "config.toml").is_file():
        return (f"start the run again with: python -m evolino run --config {folder / 'config.toml'} --out {folder} "
                "--overwrite")
    return "start the run again without resume"


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


def write_checkpoint(folder: str | os.PathLike, state: dict, generation: int, keep: int = 2,
                     environment: dict | None = None) -> Path:
    """Write ``state`` as the checkpoint of ``generation`` in run folder ``folder``; keep the newest ``keep``.
    ``environment`` (:func:`checkpoint_environment`) is recorded beside it, and checked by a resume.

    Returns the checkpoint's path. On any failure (a full disk, ...) nothing but the temporary file changed, and
    that is removed: the checkpoints already on disk stay as they were.
    """
    return _write_payload(folder, _payload(state, environment), generation, keep)


def _payload(state: dict, environment: dict | None) -> bytes:
    """The pickled payload of a checkpoint file: a snapshot of ``state`` as it is now."""
    inner = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    return pickle.dumps({"format_version": FORMAT_VERSION, "environment": environment, "state": inner},
                        protocol=pickle.HIGHEST_PROTOCOL)


def _write_payload(folder: str | os.PathLike, payload: bytes, generation: int, keep: int) -> Path:
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    root = Path(folder) / CHECKPOINT_FOLDER
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"gen-{generation:06d}.ckpt"
    with atomic_file(path, "wb") as handle:
        handle.write(_MAGIC + _HEADER.pack(len(payload), hashlib.sha256(payload).digest()))
        handle.write(payload)
    for old in checkpoint_files(folder)[keep:]:
        old.unlink(missing_ok=True)
    return path


class CheckpointWriter:
    """Writes a run's checkpoints on one thread beside it, one at a time and in order (a context manager).

    :meth:`write` pickles the state in the caller's thread, so the checkpoint is the state as it was then, and
    leaves the file (SHA-256, two fsyncs, removing old ones) to the thread: 1-2 ms each, 2.5% of a default MSO2 run
    with its 12 checkpoints when written in the run's own thread. A failure (a full disk, ...) is raised by the next
    :meth:`write` or by :meth:`wait`; leaving the ``with`` block waits for the last file, so a checkpoint written
    before ``fit`` returns is on disk when it returns.
    """

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future | None = None

    def write(self, folder: str | os.PathLike, state: dict, generation: int, keep: int = 2,
              environment: dict | None = None) -> None:
        """:func:`write_checkpoint`, carried out on the writer's thread."""
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        self.wait()
        payload = _payload(state, environment)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evolino-checkpoint")
        self._pending = self._pool.submit(_write_payload, folder, payload, generation, keep)

    def wait(self) -> Path | None:
        """Wait for the checkpoint being written; its path (None if there is none), or its error raised."""
        pending, self._pending = self._pending, None
        return None if pending is None else pending.result()

    def __enter__(self) -> CheckpointWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None:
                self.wait()
            else:  # the run's own error goes on; the last checkpoint still lands if it can
                with contextlib.suppress(Exception):
                    self.wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None


def read_checkpoint(path: str | os.PathLike, environment: dict | None = None) -> dict:
    """Read and verify one checkpoint file; raises CheckpointError saying what is wrong with it.

    With ``environment`` (:func:`checkpoint_environment` of this process), a checkpoint that recorded another one is
    refused with :class:`CheckpointMismatchError` before its state is unpickled. The state comes back with
    ``format_version`` and ``environment`` (None when it was not recorded) added."""
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
    outer = _unpickle(path, payload)
    version = outer.get("format_version") if isinstance(outer, dict) else None
    if version == _OLD_FORMAT:
        return {**outer, "environment": None}
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path} has an unsupported checkpoint format")
    recorded = outer.get("environment")
    if environment is not None and recorded:
        differ = environment_mismatches(recorded, environment)
        if differ:
            libraries = any(not item.startswith("the ") for item in differ)
            fix = "resume it with those versions installed" if libraries else "resume it with that kernel"
            if path.parent.name == CHECKPOINT_FOLDER:
                fix += f", or {restart_advice(path.parent.parent)}"
            raise CheckpointMismatchError(f"{path} was written with {', '.join(differ)}: resumed here, the run could "
                                          f"fail or go on differently; {fix}")
    state = _unpickle(path, outer.get("state"))
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} has an unsupported checkpoint format")
    return {**state, "format_version": FORMAT_VERSION, "environment": recorded}


def _unpickle(path: Path, payload) -> object:
    try:
        return pickle.loads(payload)
    except Exception as exc:  # noqa: BLE001  (a class that no longer exists, ...)
        raise CheckpointError(f"{path} cannot be unpickled: {type(exc).__name__}: {exc}") from None


def note(message: str) -> None:
    """Tell the user something about checkpoints (one line on stderr)."""
    print(f"evolino: {message}", file=sys.stderr, flush=True)


def _warn(message: str) -> None:
    note(f"warning: {message}")


def load_latest(folder: str | os.PathLike, report: Callable[[str], None] = _warn,
                environment: dict | None = None) -> tuple[dict, Path]:
    """The newest checkpoint of ``folder`` that reads back intact; bad newer ones are reported (once a good one is
    found) and skipped. ``environment``: see :func:`read_checkpoint` (a mismatch is raised at once).

    Raises CheckpointError when there is none: one message naming each file's problem and how to start again.
    """
    files = checkpoint_files(folder)
    if not files:
        raise CheckpointError(f"no checkpoint in {Path(folder) / CHECKPOINT_FOLDER}")
    problems = []
    for path in files:
        try:
            state = read_checkpoint(path, environment)
        except CheckpointMismatchError:
            raise
        except CheckpointError as exc:
            problems.append((path, str(exc)))
            continue
        for _, problem in problems:
            report(f"{problem}; using the previous checkpoint")
        return state, path
    named = "; ".join(problem.replace(str(bad), bad.name) for bad, problem in problems)
    raise CheckpointError(f"no usable checkpoint in {Path(folder) / CHECKPOINT_FOLDER} ({named}): "
                          f"{restart_advice(folder)}")


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
