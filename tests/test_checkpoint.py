"""Checkpoints: a run killed with SIGKILL (or stopped with Ctrl-C) and resumed ends exactly like the uninterrupted
run; truncated or corrupt checkpoints are reported and the previous good one is used."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from evolino.checkpoint import (
    CheckpointError,
    CheckpointWriter,
    checkpoint_files,
    load_latest,
    read_checkpoint,
    write_checkpoint,
)
from evolino.cli import main

TINY = """seed = 3
[task]
name = "mso1"
options = { train_end = 100, validation_end = 150, test_end = 250, washout = 20 }
[network]
cells = 3
[optimizer]
population = 8
[stop]
generations = 40
[output]
checkpoint_every = 1
plots = false
"""


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "tiny.toml"
    path.write_text(TINY)
    return path


@pytest.fixture(scope="module")
def reference_run(tiny_config, tmp_path_factory):
    """The uninterrupted run."""
    out = tmp_path_factory.mktemp("reference")
    assert main(["run", "--config", str(tiny_config), "--out", str(out), "--quiet"]) == 0
    return out


def _result(folder):
    data = json.loads((folder / "result.json").read_text())
    data.pop("wall_seconds")  # the only wall-clock field
    return data


def _history(folder):
    with open(folder / "history.csv", newline="") as handle:
        return [{k: v for k, v in row.items() if k != "wall_seconds"} for row in csv.DictReader(handle)]


def assert_same_run(a, b):
    assert _result(a) == _result(b)
    with np.load(a / "model.npz") as ma, np.load(b / "model.npz") as mb:
        assert sorted(ma.files) == sorted(mb.files)
        for name in ma.files:
            assert np.array_equal(ma[name], mb[name]), name  # bit for bit
    assert _history(a) == _history(b)
    assert (a / "test_outputs.csv").read_bytes() == (b / "test_outputs.csv").read_bytes()


def _start(tiny_config, out):
    return subprocess.Popen([sys.executable, "-m", "evolino", "run", "--config", str(tiny_config), "--out", str(out),
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_checkpoint(proc, out, generation, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = checkpoint_files(out)
        if files and int(files[0].stem.split("-")[1]) >= generation:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.002)
    raise AssertionError("no checkpoint appeared")


@pytest.mark.parametrize("kill_after", [3, 17])
def test_sigkill_then_resume_ends_identical_to_uninterrupted_run(tiny_config, reference_run, tmp_path, kill_after):
    out = tmp_path / "killed"
    proc = _start(tiny_config, out)
    _wait_for_checkpoint(proc, out, kill_after)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "result.json").exists()  # it really died mid-run
    assert main(["resume", str(out), "--quiet", "--no-plots"]) == 0
    assert_same_run(reference_run, out)


def test_ctrl_c_finishes_the_generation_saves_and_exits_130_then_resumes_exactly(tiny_config, reference_run,
                                                                                 tmp_path):
    out = tmp_path / "interrupted"
    proc = _start(tiny_config, out)
    _wait_for_checkpoint(proc, out, 5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    result = json.loads((out / "result.json").read_text())
    assert result["stop_reason"] == "interrupted" and 5 <= result["generations"] < 40
    assert (out / "model.npz").exists() and "resume" in err and "Traceback" not in err
    assert main(["resume", str(out), "--quiet", "--no-plots"]) == 0
    assert_same_run(reference_run, out)


def test_resume_with_more_generations_equals_a_longer_run(tiny_config, tmp_path):
    short, longer = tmp_path / "short", tmp_path / "long"
    assert main(["run", "--config", str(tiny_config), "--out", str(short), "--generations", "6", "--quiet"]) == 0
    assert main(["resume", str(short), "--generations", "9", "--quiet"]) == 0
    assert main(["run", "--config", str(tiny_config), "--out", str(longer), "--generations", "9", "--quiet"]) == 0
    assert_same_run(short, longer)
    assert "generations = 9" in (short / "config.toml").read_text()


def test_truncated_or_corrupt_newest_checkpoint_falls_back_to_the_previous_one(tiny_config, tmp_path, capsys):
    out, reference = tmp_path / "run", tmp_path / "reference"
    common = ["--config", str(tiny_config), "--generations", "6", "--checkpoint-every", "2", "--quiet"]
    assert main(["run", *common, "--out", str(reference)]) == 0
    assert main(["run", *common, "--out", str(out)]) == 0
    newest, previous = checkpoint_files(out)
    assert newest.name == "gen-000006.ckpt" and previous.name == "gen-000004.ckpt"

    newest.write_bytes(newest.read_bytes()[:-100])  # truncated
    with pytest.raises(CheckpointError, match="truncated"):
        read_checkpoint(newest)
    messages = []
    state, used = load_latest(out, report=messages.append)
    assert used == previous and state["generation"] == 4
    assert len(messages) == 1 and "truncated" in messages[0] and newest.name in messages[0]

    # resume from generation 4 reaches generation 6 exactly as the uninterrupted run did
    capsys.readouterr()
    assert main(["resume", str(out), "--quiet"]) == 0
    assert "truncated" in capsys.readouterr().err
    assert_same_run(reference, out)


def test_checksum_catches_a_flipped_byte_and_no_good_checkpoint_is_a_clear_error(tmp_path, capsys):
    path = write_checkpoint(tmp_path, {"generation": 1, "payload": np.arange(100.0)}, 1)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt"):
        read_checkpoint(path)
    (tmp_path / "config.toml").write_text(TINY)
    status = main(["resume", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and err[-1].startswith("evolino: error: no usable checkpoint") and "corrupt" in err[-1]


def test_writer_keeps_only_the_newest_and_leaves_no_temporary_files(tmp_path):
    for generation in range(1, 6):
        write_checkpoint(tmp_path, {"generation": generation}, generation, keep=2)
    names = sorted(os.listdir(tmp_path / "checkpoints"))
    assert names == ["gen-000004.ckpt", "gen-000005.ckpt"]
    assert read_checkpoint(tmp_path / "checkpoints" / "gen-000005.ckpt")["generation"] == 5


def test_background_writer_writes_the_state_as_it_was_and_raises_its_failures(tmp_path, monkeypatch):
    state = {"generation": 1, "history": [1.0]}
    with CheckpointWriter() as writer:
        writer.write(tmp_path / "a", state, 1, keep=2)
        state["history"].append(2.0)  # changed after the write: the file keeps the state of the call
        write_checkpoint(tmp_path / "b", {"generation": 1, "history": [1.0]}, 1, keep=2)
        for generation in (2, 3):
            writer.write(tmp_path / "a", {"generation": generation}, generation, keep=2)
    # leaving the block waited for the last file; the same bytes as the writer in the caller's thread
    assert (tmp_path / "a/checkpoints/gen-000001.ckpt").exists() is False  # keep=2: the oldest went, in order
    assert sorted(os.listdir(tmp_path / "a/checkpoints")) == ["gen-000002.ckpt", "gen-000003.ckpt"]
    writer = CheckpointWriter()
    writer.write(tmp_path / "c", {"generation": 1, "history": [1.0]}, 1, keep=2)
    assert writer.wait() == tmp_path / "c/checkpoints/gen-000001.ckpt"
    assert (tmp_path / "c/checkpoints/gen-000001.ckpt").read_bytes() == \
        (tmp_path / "b/checkpoints/gen-000001.ckpt").read_bytes()

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("evolino.checkpoint.atomic_file", full)
    writer.write(tmp_path / "c", {"generation": 2}, 2, keep=2)  # fails on the writer's thread ...
    with pytest.raises(OSError, match="No space left"):
        writer.write(tmp_path / "c", {"generation": 3}, 3, keep=2)  # ... and is raised by the next call
    with pytest.raises(OSError, match="No space left"), writer:
        writer.write(tmp_path / "c", {"generation": 4}, 4, keep=2)  # or by leaving the block
    assert sorted(os.listdir(tmp_path / "c/checkpoints")) == ["gen-000001.ckpt"]


def test_resume_refuses_a_checkpoint_of_a_different_search(tiny_config, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--config", str(tiny_config), "--out", str(out), "--generations", "2", "--quiet",
                 "--no-plots"]) == 0
    text = (out / "config.toml").read_text().replace("cells = 3", "cells = 4")
    (out / "config.toml").write_text(text)
    assert main(["resume", str(out), "--quiet"]) == 2
    assert "different run" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------- full disks, task, owner


def _disk_full_on(calls_to_fail):
    """A stand-in for evolino.atomic.atomic_file whose n-th calls (1-based) run out of space half-way."""
    import errno
    import itertools
    from contextlib import contextmanager

    from evolino.atomic import atomic_file

    count = itertools.count(1)

    @contextmanager
    def failing(path, mode="wb", newline=None):
        call = next(count)
        with atomic_file(path, mode, newline) as handle:
            if call in calls_to_fail:
                handle.write(b"the part that fit" if "b" in mode else "the part that fit")
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            yield handle

    return failing


def _leftovers(folder):
    return [p for p in folder.rglob("*") if ".tmp" in p.name]


@pytest.mark.parametrize("module, calls, newest", [("evolino.checkpoint", {2}, 2),  # the checkpoint of generation 4
                                                   ("evolino.model", {1}, 6)])  # model.npz, after the last one
def test_a_full_disk_is_one_line_exit_2_and_the_folder_resumes_exactly(tiny_config, tmp_path, capsys, monkeypatch,
                                                                       module, calls, newest):
    out, reference = tmp_path / "run", tmp_path / "reference"
    common = ["--config", str(tiny_config), "--generations", "6", "--checkpoint-every", "2", "--quiet"]
    assert main(["run", *common, "--out", str(reference)]) == 0
    capsys.readouterr()
    with monkeypatch.context() as patch:
        patch.setattr(f"{module}.atomic_file", _disk_full_on(calls))
        assert main(["run", *common, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0] and f"(generation {newest}) is intact" in err[0]
    assert f"python -m evolino resume {out}" in err[0] and "Traceback" not in err[0]
    assert checkpoint_files(out)[0].name == f"gen-{newest:06d}.ckpt" and not _leftovers(out)
    assert not (out / "result.json").exists()
    assert main(["resume", str(out), "--quiet"]) == 0
    assert f"resuming from generation {newest}" in capsys.readouterr().err
    assert_same_run(reference, out)


def test_a_full_disk_before_training_takes_the_new_folder_back(tiny_config, tmp_path, capsys, monkeypatch):
    out = tmp_path / "new" / "run"
    monkeypatch.setattr("evolino.atomic.atomic_file", _disk_full_on({1}))  # task.npz, the run's first file
    assert main(["run", "--config", str(tiny_config), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0] and "task.npz" in err[0]
    assert "nothing of the run was kept" in err[0] and not (tmp_path / "new").exists()


def test_resume_refuses_a_checkpoint_of_other_task_data(tiny_config, tmp_path, capsys):
    from evolino.tasks import Task

    out = tmp_path / "run"
    assert main(["run", "--config", str(tiny_config), "--out", str(out), "--generations", "2", "--quiet",
                 "--no-plots"]) == 0
    task = Task.load(out / "task.npz")
    task.train[0].targets[30, 0] += 1e-9  # one number of the data differs
    task.save(out / "task.npz")
    capsys.readouterr()
    assert main(["resume", str(out), "--generations", "3", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "other task data" in err[0] and "gen-000002.ckpt" in err[0]


def test_a_run_killed_before_its_first_checkpoint_starts_again_on_resume(tiny_config, tmp_path, capsys):
    out, reference = tmp_path / "killed", tmp_path / "reference"
    proc = subprocess.Popen([sys.executable, "-m", "evolino", "run", "--config", str(tiny_config), "--out", str(out),
                             "--generations", "100000", "--checkpoint-every", "0", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not ((out / "history.csv").is_file() and len((out / "history.csv").read_text().splitlines()) >= 4):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.005)  # history.csv grows line by line: generation 3 is done, and no checkpoint yet
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not checkpoint_files(out)
    assert main(["resume", str(out), "--generations", "6", "--quiet", "--no-plots"]) == 0
    err = capsys.readouterr().err
    assert "stopped before its first one): starting it again from generation 0" in err
    assert main(["run", "--config", str(tiny_config), "--out", str(reference), "--generations", "6",
                 "--checkpoint-every", "0", "--quiet", "--no-plots"]) == 0
    assert_same_run(reference, out)  # history.csv included: the killed run's lines are gone


def test_resume_refuses_a_folder_of_another_user_unless_forced(tiny_config, tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert main(["run", "--config", str(tiny_config), "--out", str(out), "--generations", "2", "--quiet",
                 "--no-plots"]) == 0
    me = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: me + 1)
    capsys.readouterr()
    assert main(["resume", str(out), "--generations", "3", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "belongs to" in err[0] and "pickles" in err[0] and "--force" in err[0]
    assert main(["resume", str(out), "--generations", "3", "--quiet", "--force"]) == 0
    assert json.loads((out / "result.json").read_text())["generations"] == 3


def test_keep_checkpoints_chooses_how_many_stay(tiny_config, tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--config", str(tiny_config), "--out", str(out), "--generations", "5", "--quiet",
                 "--no-plots", "--keep-checkpoints", "3"]) == 0
    assert [p.name for p in checkpoint_files(out)] == ["gen-000005.ckpt", "gen-000004.ckpt", "gen-000003.ckpt"]
    assert "keep_checkpoints = 3" in (out / "config.toml").read_text()
    assert main(["resume", str(out), "--generations", "7", "--quiet"]) == 0
    assert [p.name for p in checkpoint_files(out)] == ["gen-000007.ckpt", "gen-000006.ckpt", "gen-000005.ckpt"]
    with pytest.raises(ValueError, match="keep"):
        write_checkpoint(tmp_path, {}, 1, keep=0)


def test_a_full_disk_while_writing_a_report_is_one_line_exit_2(tiny_config, tmp_path, capsys, monkeypatch):
    import errno

    out = tmp_path / "run"
    assert main(["run", "--config", str(tiny_config), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()

    def full(path, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("evolino.reporting.write_text", full)
    assert main(["report", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0] and "report.md" in err[0]
    assert "nothing was half written" in err[0] and not _leftovers(out)
