"""Atomic file writes: the one way evolino puts a file on disk.

A reader (or a run killed at any instant, or a full disk) sees either the old file or the complete new one, never
half a file under the final name::

    write to a unique temporary name in the same folder (".NAME.XXXXXXXX.tmp", or ".NAME.XXXXXXXX.tmp.EXT" for
    writers that pick the format from the extension), flush, fsync, os.replace onto NAME, fsync the folder

and on any failure (``ENOSPC``, ``EDQUOT``, an exception of the writer, Ctrl-C) the temporary file is removed and the
error goes on unchanged. The temporary name is unique per call, so two writers of one folder never collide, and
:func:`remove_temporaries` finds what a killed process left behind. New files get the permissions ``open()`` would
give them (``0o666`` minus the umask), not the ``0o600`` of :func:`tempfile.mkstemp`.

:func:`disk_full` tells whether an ``OSError`` means that the file system is out of space, and :func:`mount_point`
names that file system, for the one-line message of the command line.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["atomic_file", "atomic_path", "write_bytes", "write_text", "fsync_folder", "remove_temporaries",
           "is_temporary", "disk_full", "mount_point"]

_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp(\.[A-Za-z0-9]+)?$")
_FULL = {errno.ENOSPC, errno.EDQUOT}


def _umask() -> int:
    """The process umask, read without changing it where the platform allows (Linux: /proc)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: the classic read-by-setting, restored at once
    os.umask(mask)
    return mask


def fsync_folder(folder: str | os.PathLike) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened or synced)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temporary(path: Path, keep_suffix: bool) -> tuple[int, Path]:
    """A new empty file beside ``path`` with a unique name; (descriptor, path)."""
    suffix = ".tmp" + (path.suffix if keep_suffix else "")
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
    except (AttributeError, OSError):  # platforms without fchmod: mkstemp's mode stays
        pass
    return fd, Path(name)


def _name_target(exc: BaseException, tmp: Path, path: Path) -> None:
    """An OSError raised while writing names the file being written, not its temporary name (or nothing)."""
    if isinstance(exc, OSError) and exc.filename in (None, str(tmp)):
        exc.filename = str(path)


def _discard(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _commit(tmp: Path, path: Path) -> None:
    os.replace(tmp, path)
    fsync_folder(path.parent)


@contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb", newline: str | None = None) -> Iterator[IO]:
    """Open a temporary file for writing that becomes ``path`` when the block ends without an exception.

    ``mode`` is "wb" or "w" (text, UTF-8, ``newline`` as for :func:`open`). On an exception the temporary file is
    removed and the exception propagates; ``path`` is untouched.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_file writes new files: mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    fd, tmp = _temporary(path, keep_suffix=False)
    try:
        text = {"encoding": "utf-8", "newline": newline} if mode == "w" else {}
        with open(fd, mode, **text) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _commit(tmp, path)
    except BaseException as exc:
        _discard(tmp)
        _name_target(exc, tmp, path)
        raise


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path, with ``path``'s extension, for a writer that opens files by name (matplotlib's savefig,
    ``numpy.savetxt``); it becomes ``path`` when the block ends without an exception, and is removed otherwise."""
    path = Path(path)
    fd, tmp = _temporary(path, keep_suffix=True)
    os.close(fd)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        _commit(tmp, path)
    except BaseException as exc:
        _discard(tmp)
        _name_target(exc, tmp, path)
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_file(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_file(path, "w") as handle:
        handle.write(text)
    return Path(path)


def is_temporary(name: str) -> bool:
    """Whether a file name is one of this module's temporary names."""
    return bool(_TEMPORARY.match(name))


def remove_temporaries(folder: str | os.PathLike, keep: Callable[[Path], bool] = lambda path: False) -> list[Path]:
    """Remove the temporary files a killed writer left in ``folder`` (not recursive); returns what was removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in folder.iterdir():
        if is_temporary(path.name) and path.is_file() and not keep(path):
            _discard(path)
            removed.append(path)
    return removed


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the file system is out of space (or the user's quota is used up)."""
    return isinstance(exc, OSError) and exc.errno in _FULL


def mount_point(path: str | os.PathLike) -> Path:
    """The mount point of the file system that holds ``path`` (or would hold it, if it does not exist yet)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path
