"""Atomic writes: the new file appears whole or not at all, the temporary file never survives a failure (a full
disk included), and permissions are those of a plain open()."""

import errno
import os
import stat
import tempfile

import numpy as np
import pytest

from evolino.atomic import (
    atomic_file,
    atomic_path,
    disk_full,
    is_temporary,
    mount_point,
    remove_temporaries,
    write_bytes,
    write_text,
)


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_write_replaces_the_file_whole_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "result.json"
    target.write_text("old")
    write_text(target, "new contents\n")
    assert target.read_text() == "new contents\n" and _names(tmp_path) == ["result.json"]
    write_bytes(tmp_path / "blob.bin", b"\x00\x01")
    assert (tmp_path / "blob.bin").read_bytes() == b"\x00\x01"


class _DiskFullAfter:
    """A file handle whose writes fail with ENOSPC once ``budget`` bytes are written (the part that fits is)."""

    def __init__(self, handle, budget):
        self.handle, self.budget = handle, budget

    def write(self, data):
        if len(data) > self.budget:
            self.handle.write(data[: self.budget])
            self.budget = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.budget -= len(data)
        return self.handle.write(data)


def test_a_full_disk_leaves_the_old_file_and_no_temporary_and_names_the_target(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old model")
    with pytest.raises(OSError) as caught:
        with atomic_file(target, "wb") as handle:
            _DiskFullAfter(handle, 3).write(b"a new model that does not fit")
    assert disk_full(caught.value) and caught.value.filename == str(target)
    assert target.read_bytes() == b"old model" and _names(tmp_path) == ["model.npz"]


def test_any_exception_of_the_writer_removes_the_temporary_file(tmp_path):
    with pytest.raises(RuntimeError), atomic_file(tmp_path / "a.csv", "w") as handle:
        handle.write("half")
        raise RuntimeError("the writer failed")
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "b.png") as tmp:
        tmp.write_bytes(b"half a png")
        raise KeyboardInterrupt
    assert _names(tmp_path) == []


def test_writers_that_open_by_name_get_a_temporary_path_with_the_extension(tmp_path):
    with atomic_path(tmp_path / "out.csv") as tmp:
        assert tmp.suffix == ".csv" and tmp.parent == tmp_path and is_temporary(tmp.name)
        np.savetxt(tmp, np.eye(2), delimiter=",")
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "out.csv", delimiter=","), np.eye(2))
    assert _names(tmp_path) == ["out.csv"]


def test_new_files_get_the_permissions_of_a_plain_open(tmp_path):
    (tmp_path / "plain").write_text("x")
    write_text(tmp_path / "atomic", "x")
    mode = stat.S_IMODE(os.stat(tmp_path / "plain").st_mode)
    assert stat.S_IMODE(os.stat(tmp_path / "atomic").st_mode) == mode and mode & 0o044  # readable by others (umask)


def test_temporaries_of_a_killed_writer_are_recognised_and_removed(tmp_path):
    with pytest.raises(RuntimeError), atomic_file(tmp_path / "x.json", "w"):
        raise RuntimeError
    for name in ("result.json", "notes.tmp", ".hidden"):
        (tmp_path / name).write_text("keep")
    left = []
    for suffix in (".tmp", ".tmp.png"):  # as atomic_file and atomic_path name them
        fd, name = tempfile.mkstemp(dir=tmp_path, prefix=".history.csv.", suffix=suffix)
        os.close(fd)
        left.append(os.path.basename(name))
    assert all(is_temporary(name) for name in left) and not is_temporary("notes.tmp")
    assert sorted(p.name for p in remove_temporaries(tmp_path)) == sorted(left)
    assert _names(tmp_path) == [".hidden", "notes.tmp", "result.json"]


def test_disk_full_and_mount_point():
    assert disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not disk_full(OSError(errno.EACCES, "Permission denied")) and not disk_full(ValueError("x"))
    assert mount_point("/definitely/not/there/file.txt") == mount_point("/")
    assert os.path.ismount(mount_point(os.getcwd()))
