"""One run per folder: `run` refuses a folder holding another run's files (or, with --overwrite, clears every one of
them first), a run that fails before training wrote anything takes back its folder, history.csv grows line by line
during the run, and a file that is not a model is said to be one."""

import csv
import json

import numpy as np
import pytest

from evolino.checkpoint import checkpoint_files
from evolino.cli import main
from evolino.model import EvolinoModel
from evolino.run_folder import RUN_FILES, run_files

SMALL = ["--cells", "3", "--population", "8", "--quiet"]
TINY = ["--task", "mso1", "--task-opt", "train_end=100", "--task-opt", "validation_end=150", "--task-opt",
        "test_end=250", "--task-opt", "washout=20", *SMALL]


def _series(path, steps=300):
    t = np.arange(steps)
    path.write_text("value\n" + "\n".join(f"{v:.6f}" for v in np.sin(0.2 * t) + 0.1 * np.cos(0.05 * t)) + "\n")
    return path


def test_a_second_run_is_refused_then_with_overwrite_replaces_every_file_of_the_first(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--data", str(_series(tmp_path / "series.csv")), *SMALL, "--generations", "4",
                 "--checkpoint-every", "1", "--out", str(out)]) == 0
    assert main(["predict", str(out), "--csv", str(tmp_path / "series.csv")]) == 0
    assert main(["generate", str(out), "--steps", "5"]) == 0
    (out / "notes.txt").write_text("the user's own file")
    first = {name: (out / name).read_bytes() for name in RUN_FILES if (out / name).is_file()}
    assert {"data.npz", "report.md", "learning_curve.png", "predictions.csv", "generated.csv"} <= set(first)
    capsys.readouterr()

    assert main(["run", *TINY, "--generations", "2", "--out", str(out), "--no-plots"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds the files of another run" in err[0] and "--overwrite" in err[0]
    assert {name: (out / name).read_bytes() for name in first} == first  # untouched

    assert main(["run", *TINY, "--generations", "2", "--out", str(out), "--no-plots", "--overwrite"]) == 0
    left = set(run_files(out))
    assert left == {"config.toml", "result.json", "history.csv", "model.npz", "test_outputs.csv", "task.npz",
                    "task.json", "checkpoints/"}  # no data.npz, plots, report, predictions of the first run
    assert [p.name for p in checkpoint_files(out)] == ["gen-000002.ckpt"]  # none of the first run's
    assert json.loads((out / "result.json").read_text())["generations"] == 2
    assert (out / "notes.txt").read_text() == "the user's own file"


def test_the_default_folder_holds_the_latest_run_and_is_replaced_whole(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", *TINY, "--generations", "3", "--checkpoint-every", "1"]) == 0
    assert (tmp_path / "runs" / "latest" / "report.md").is_file()
    capsys.readouterr()
    assert main(["run", *TINY, "--generations", "2", "--no-plots"]) == 0
    assert "replacing the earlier run in runs/latest" in capsys.readouterr().err
    latest = tmp_path / "runs" / "latest"
    assert not (latest / "report.md").exists() and [p.name for p in checkpoint_files(latest)] == ["gen-000002.ckpt"]


@pytest.mark.parametrize("existing", [False, True])
def test_a_failed_cluster_connect_leaves_no_folder_behind(tmp_path, capsys, existing):
    out = tmp_path / "new" / "deeper" / "run"
    if existing:
        out.mkdir(parents=True)
        (out / "notes.txt").write_text("kept")
    status = main(["run", *TINY, "--generations", "2", "--backend", "ray", "--address", "127.0.0.1:1",
                   "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "cannot reach a Ray cluster" in err[0]
    if existing:  # a folder that was there stays, with nothing of the failed run in it
        assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    else:
        assert not (tmp_path / "new").exists()


def test_history_csv_grows_line_by_line_during_the_run(tmp_path, monkeypatch):
    out = tmp_path / "run"
    seen = []

    class Watcher:  # stands in for the progress display, which comes after the history writer
        def __call__(self, row):
            with open(out / "history.csv", newline="") as handle:
                rows = list(csv.DictReader(handle))
            seen.append((row["generation"], len(rows), rows[-1]["best_ever"] == repr(row["best_ever"])))

        def close(self):
            pass

    from evolino.reporting import HistoryWriter

    closed, close = [], HistoryWriter.close  # the file stays open for the run: it must be closed at its end
    monkeypatch.setattr(HistoryWriter, "close", lambda self: (close(self), closed.append(self._handle is None)))
    monkeypatch.setattr("evolino.progress.make_progress", lambda *args, **kwargs: Watcher())
    assert main(["run", *TINY, "--generations", "5", "--out", str(out), "--no-plots"]) == 0
    assert seen == [(g, g, True) for g in range(1, 6)] and closed and all(closed)
    with open(out / "history.csv", newline="") as handle:
        assert [int(row["generation"]) for row in csv.DictReader(handle)] == [1, 2, 3, 4, 5]


def test_a_file_that_is_not_a_model_says_so_and_never_suggests_unpickling(tmp_path, capsys):
    for name, content in (("text.npz", b"generation,best\n1,0.5\n"), ("empty.npz", b""),
                          ("pickled.bin", b"\x80\x05\x95\x00\x00\x00")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match="not an evolino model file") as caught:
            EvolinoModel.load(tmp_path / name)
        assert "allow_pickle" not in str(caught.value) and "unsafe" not in str(caught.value)
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(ValueError, match="not an evolino model file"):
        EvolinoModel.load(tmp_path / "other.npz")
    assert main(["generate", str(tmp_path / "text.npz"), "--steps", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not an evolino model file" in err[0] and "allow_pickle" not in err[0]


def test_a_history_line_is_the_csv_modules_line():
    from evolino.reporting import _history_line, _history_lines

    numbers = {"generation": 3, "evaluations": 120, "best": 1.5e-8, "mean": float("inf"), "median": float("nan"),
               "worst": -0.0, "best_ever": 1e300, "wall_seconds": 0.1234, "step_size": 0.25}
    for row in (numbers, {**numbers, "step_size": "a,b"}, {**numbers, "worst": None}):
        assert _history_line(row) == _history_lines([row], header=False)
