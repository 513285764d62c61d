"""Reports: `run` writes PNG plots and report.md unless --no-plots; `report DIR` rebuilds them from the run's files."""

import json

import numpy as np
import pytest

from evolino.cli import main
from evolino.plots import plot_learning_curve, plot_test_window
from evolino.reporting import read_history, read_numeric_csv, write_matrix_csv

PNG = b"\x89PNG\r\n\x1a\n"
TINY = ["--task", "mso2", "--cells", "4", "--population", "8", "--generations", "5", "--quiet"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "run"
    assert main(["run", *TINY, "--out", str(out)]) == 0
    return out


def _png_size(path):
    data = path.read_bytes()
    assert data.startswith(PNG)
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")  # IHDR width, height


def test_run_writes_plots_and_a_report(run_dir):
    assert _png_size(run_dir / "learning_curve.png")[0] > 300 and _png_size(run_dir / "test_window.png")[0] > 300
    report = (run_dir / "report.md").read_text()
    result = json.loads((run_dir / "result.json").read_text())
    assert f"{result['test_error']:.3e}" in report and "![learning curve](learning_curve.png)" in report


def test_report_command_rebuilds_them(run_dir, capsys):
    for name in ("learning_curve.png", "test_window.png", "report.md"):
        (run_dir / name).unlink()
    assert main(["report", str(run_dir)]) == 0
    assert all((run_dir / name).is_file() for name in ("learning_curve.png", "test_window.png", "report.md"))
    assert "test_window.png" in capsys.readouterr().out


def test_no_plots_skips_them_and_the_report_needs_only_the_result_files(tmp_path):
    out = tmp_path / "run"
    assert main(["run", *TINY, "--out", str(out), "--no-plots"]) == 0
    assert not (out / "learning_curve.png").exists() and not (out / "report.md").exists()
    for name in ("config.toml", "task.npz", "task.json"):  # test_outputs.csv holds the targets too
        (out / name).unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "learning_curve.png").is_file() and (out / "test_window.png").is_file()
    (out / "test_outputs.csv").unlink()
    assert main(["report", str(out)]) == 0 and (out / "report.md").is_file()


def test_history_and_matrix_csv_round_trip(run_dir, tmp_path):
    history = read_history(run_dir / "history.csv")
    assert list(history["generation"]) == [1, 2, 3, 4, 5]
    assert np.all(np.diff(history["best_ever"]) <= 0)
    matrix = np.random.default_rng(0).normal(size=(6, 3)) * 1e-300
    write_matrix_csv(tmp_path / "m.csv", matrix, "x")
    assert np.array_equal(read_numeric_csv(tmp_path / "m.csv"), matrix)  # full precision, even subnormal-ish


def test_plot_functions_cope_with_infinite_errors_and_several_outputs(tmp_path):
    history = {"generation": np.arange(1, 5.0), "best": np.array([np.inf, 1.0, 0.5, 0.0]),
               "median": np.array([np.inf, np.inf, 2.0, 1.0]), "best_ever": np.array([np.inf, 1.0, 0.5, 0.0])}
    assert _png_size(plot_learning_curve(history, tmp_path / "curve.png"))
    targets = np.sin(np.arange(50.0))[:, None] * [1.0, 2.0]
    width, height = _png_size(plot_test_window(targets, targets + 1e-3, tmp_path / "window.png"))
    single_height = _png_size(plot_test_window(targets[:, :1], targets[:, :1], tmp_path / "one.png"))[1]
    assert height > single_height  # one panel per output


def test_a_test_window_with_targets_at_some_steps_only_plots_without_warnings(tmp_path):
    """Tasks with a target at the last step only (the long-lag problems) leave whole rows without a target."""
    import warnings

    targets = np.full((20, 2), np.nan)
    targets[-1] = [0.5, 1.0]
    outputs = np.zeros((20, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = plot_test_window(targets, outputs, tmp_path / "window.png", "last step only",
                                baselines={"mean": np.full((20, 2), 0.7)})
    assert path.is_file() and path.stat().st_size > 0


def test_the_repeat_command_of_the_report_works_from_the_folder_and_names_the_task(tmp_path, monkeypatch):
    """report.md's repeat command, run where report.md is, makes a new folder beside the run (not a nested copy
    of its relative output.dir) with the same result; a run of the default task names it in config.toml."""
    import re
    import shlex

    monkeypatch.chdir(tmp_path)
    assert main(["run", *[a for a in TINY if a not in ("--task", "mso2")], "--out", "runs/first"]) == 0
    folder = tmp_path / "runs" / "first"
    assert 'name = "mso2"' in (folder / "config.toml").read_text().split("[task]")[1].split("[")[0]
    command = re.search(r"from this folder, with `([^`]+)`", (folder / "report.md").read_text()).group(1)
    assert command == "python -m evolino run --config config.toml --out ../first-again"
    monkeypatch.chdir(folder)
    assert main([*shlex.split(command)[3:], "--quiet"]) == 0
    again = tmp_path / "runs" / "first-again"
    assert not (folder / "runs").exists() and (again / "result.json").is_file()
    first, second = (json.loads((d / "result.json").read_text()) for d in (folder, again))
    first.pop("wall_seconds"), second.pop("wall_seconds")
    assert first == second


def test_an_exact_ar_baseline_on_a_noise_free_task_is_a_note_not_a_warning(tmp_path, capsys):
    """MSO is a sum of sines, which AR(p) generates exactly: the comparison is said as a note (stderr, result.json,
    report.md); on a task with noise the same comparison stays a warning."""
    out = tmp_path / "mso"
    assert main(["run", *TINY, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    result = json.loads((out / "result.json").read_text())
    assert result["baselines"]["ar"]["test_error"] < 1e-6 < result["test_error"]  # a tiny network loses to AR
    assert "not better than" not in err and not any("baseline" in w for w in result["warnings"])
    note = next(line for line in err.splitlines() if line.startswith("evolino: note: "))
    assert f"the AR({result['baselines']['ar']['order']}) baseline is exact on this noise-free task" in note
    assert "MSO is linear at heart" in note and result["notes"] == [note.removeprefix("evolino: note: ")]
    assert f"**Note:** {result['notes'][0]}." in (out / "report.md").read_text()

    from types import SimpleNamespace

    from evolino.trainer import _exact_baseline, _notes

    ar = {"ar": {"test_error": 1e-14, "order": 4}, "mean": {"test_error": 1.0}}
    for noise_free, noted in ((True, True), (False, False)):
        task = SimpleNamespace(noise_free=noise_free)
        assert bool(_notes(task, SimpleNamespace(baselines=ar, test_error=2e-8))) is noted
        assert _exact_baseline(task, ("ar", 1e-14)) is noted  # ... and the warning is left out exactly then
    exact = SimpleNamespace(noise_free=True)
    assert _notes(exact, SimpleNamespace(baselines=ar, test_error=1e-15)) == []  # the network wins: nothing to say
    assert _notes(exact, SimpleNamespace(baselines={"ar": {"test_error": 1e-3, "order": 4}}, test_error=1e-2)) == []
