"""`python -m evolino run --data FILE`: a run folder that needs nothing else, answers in the data's units, and bad data
that stops before any folder is written."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import evolino
from evolino.cli import main
from evolino.config import load_config
from evolino.forecasting import ForecastModel
from evolino.reporting import read_columns, read_numeric_csv

SMALL = ["--cells", "3", "--population", "8", "--generations", "6", "--quiet", "--no-plots"]


def _series(path, steps=160, seed=0):
    rng = np.random.default_rng(seed)
    y = 50 + 20 * np.sin(0.4 * np.arange(steps)) + rng.normal(0, 2, steps)  # not standardised: units matter
    np.savetxt(path, y, delimiter=",", header="level", comments="", fmt="%.6f")
    return y


@pytest.fixture(scope="module")
def data_run(tmp_path_factory):
    """A run on a CSV that is deleted afterwards; every later command has only the folder."""
    folder = tmp_path_factory.mktemp("data")
    csv = folder / "series.csv"
    y = _series(csv)
    assert main(["run", "--data", str(csv), "--out", str(folder / "r"), *SMALL]) == 0
    csv.unlink()
    return folder, y


def test_the_folder_holds_the_data_the_task_and_a_config_that_names_them(data_run):
    folder, y = data_run
    run = folder / "r"
    assert {"data.npz", "task.npz", "task.json", "config.toml", "result.json", "model.npz"} <= \
        {p.name for p in run.iterdir()}
    config = load_config(run / "config.toml")
    assert config.task.data == str((run / "data.npz").resolve()) and config.task.target == ["level"]
    assert 'data = "data.npz"' in (run / "config.toml").read_text()  # relative to the folder, for other machines
    description = json.loads((run / "task.json").read_text())
    assert description["info"]["source"].endswith("series.csv") and description["steps"]["train"] == [112]
    result = json.loads((run / "result.json").read_text())
    assert result["metric"] == "nrmse" and result["holdout"] == 0.2 and result["readout_lags"] >= 1
    assert {"ar", "persistence", "mean"} <= set(result["baselines"])
    assert result["test_one_step_error"] is not None and "validation_error" in result and "train_error" not in result
    # a forecast: the transform and the final model chosen on the backtest, the interval's coverage
    assert result["final"] in ("linear", "network") and result["transform"]["name"]
    assert result["backtest"]["chosen"] == result["final"] and len(result["backtest"]["origins"]) == 5
    assert 0 <= result["interval"]["coverage"] <= 1 and result["interval"]["level"] == 0.9


def test_resume_report_generate_predict_and_rerun_work_on_the_folder_alone(data_run, tmp_path, capsys):
    folder, y = data_run
    run = tmp_path / "r"
    shutil.copytree(folder / "r", run)
    assert main(["resume", str(run), "--generations", "8", "--quiet"]) == 0
    assert json.loads((run / "result.json").read_text())["generations"] == 8
    assert 'data = "data.npz"' in (run / "config.toml").read_text()
    assert main(["report", str(run)]) == 0 and (run / "test_window.png").is_file()

    assert main(["generate", str(run), "--steps", "20"]) == 0
    generated = read_numeric_csv(run / "generated.csv")
    assert (run / "generated.csv").read_text().startswith("level\n")
    assert generated.shape == (20, 1) and 20 < generated.mean() < 80  # in the data's units, not standardised

    csv = tmp_path / "again.csv"
    np.savetxt(csv, np.column_stack([np.arange(y.size), y]), delimiter=",", header="t,level", comments="")
    assert main(["predict", str(run), "--csv", str(csv)]) == 0  # the column is found by its name
    predictions = read_columns(run / "predictions.csv")["level"]
    model = ForecastModel.load(run / "model.npz")
    np.testing.assert_allclose(predictions, model.predict(y[:, None])[:, 0], rtol=1e-12)
    assert np.isnan(predictions[: model.settle_steps]).all() and np.isfinite(predictions[model.settle_steps:]).all()
    assert np.nanmean(np.abs(predictions - y)) < 10  # one-step predictions of a series of amplitude 20

    assert main(["run", "--config", str(run / "config.toml"), "--out", str(tmp_path / "r2"), "--quiet",
                 "--no-plots"]) == 0
    first, second = (json.loads((d / "result.json").read_text()) for d in (run, tmp_path / "r2"))
    for key in ("fitness", "validation_error", "test_error", "test_one_step_error", "ridge", "baselines"):
        assert first[key] == second[key], key  # the same run again, from the folder's own copy of the data


def test_test_outputs_are_in_the_datas_units_with_the_trivial_models_beside(data_run):
    folder, y = data_run
    columns = read_columns(folder / "r" / "test_outputs.csv")
    np.testing.assert_allclose(columns["target_level"], y[136:], atol=1e-6)
    assert {"evolino_level", "evolino_one_step_level", "ar_level", "persistence_level", "mean_level"} <= set(columns)
    np.testing.assert_allclose(columns["persistence_level"], y[135], atol=1e-6)  # the last known value, held


def test_task_options_reach_a_named_task(tmp_path):
    out = tmp_path / "mso"
    assert main(["run", "--task", "mso2", "--task-opt", "test_end=500", *SMALL, "--out", str(out)]) == 0
    assert load_config(out / "config.toml").task.options == {"test_end": 500}
    assert len(read_columns(out / "test_outputs.csv")["target_output_0"]) == 100


@pytest.mark.slow
def test_a_task_registered_by_a_script_resumes_without_the_script(tmp_path):
    """The folder's task.npz stands in for the registration."""
    script = tmp_path / "mine.py"
    script.write_text(
        "import numpy as np, sys\n"
        "import evolino\n"
        "from evolino.cli import main\n"
        "@evolino.register_task('wave', 'a wave of my own')\n"
        "def wave():\n"
        "    y = np.sin(0.3 * np.arange(200))\n"
        "    return evolino.Task('wave', train=y[:120], validation=y[120:160], test=y[160:], washout=10,"
        " generative=True)\n"
        "sys.exit(main(sys.argv[1:]))\n")
    out = tmp_path / "wave"
    here = str(Path(evolino.__file__).resolve().parents[1])  # the script imports the evolino under test
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}
    first = subprocess.run([sys.executable, str(script), "run", "--task", "wave", *SMALL, "--out", str(out)],
                           capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    assert main(["resume", str(out), "--generations", "8", "--quiet", "--no-plots"]) == 0  # plain evolino
    assert main(["report", str(out)]) == 0 and main(["generate", str(out), "--steps", "5"]) == 0


@pytest.mark.parametrize("content, flags, message", [
    ("level\n1\n2\nabc\n" + "4\n" * 60, [], "'abc' is not a number"),
    ("", [], "is empty"),
    ("level,const\n" + "".join(f"{i},3\n" for i in range(60)), ["--inputs", "const"], "is constant"),
    ("level,u\n" + "".join(f"{i},{'nan' if i == 7 else i}\n" for i in range(60)), ["--inputs", "u"],
     "has missing or non-finite values"),
    ("level\n" + "".join(f"{i % 3}\n" for i in range(10)), ["--washout", "8"], "fewer than the washout"),
    ("level\n" + "".join(f"{i}\n" for i in range(60)), ["--target", "speed"], "no column 'speed'"),
    ("level\n" + "".join(f"{i}\n" for i in range(60)), ["--split", "0.5", "0.3", "0.3"], "add up to 1"),
    ("level\n" + "".join(f"{i}\n" for i in range(60)), ["--kind", "forecast"], "task.kind must be one of"),
])
def test_bad_data_is_one_line_exit_2_and_leaves_no_folder(tmp_path, capsys, content, flags, message):
    csv = tmp_path / "bad.csv"
    csv.write_text(content)
    out = tmp_path / "never"
    assert main(["run", "--data", str(csv), "--out", str(out), *flags, *SMALL]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.exists()


TINY = ["--cells", "2", "--population", "8", "--generations", "2", "--quiet", "--no-plots"]
GAPS = [16, 40, 41, 99, 150, 200, 208, 209, 230, 254, 260, 280]  # 0-based rows; 254 | 255: validation | test


def _gappy(path, rows=300):
    y = 50 + 20 * np.sin(0.4 * np.arange(rows)) + np.random.default_rng(1).normal(0, 2, rows)
    path.write_text("x\n" + "".join("\n" if t in GAPS else f"{v:.6f}\n" for t, v in enumerate(y)))
    return y


def test_empty_cells_stop_the_run_with_one_line_that_names_the_row(tmp_path, capsys):
    csv = tmp_path / "series.csv"
    _gappy(csv)
    assert main(["run", "--data", str(csv), "--out", str(tmp_path / "never"), *TINY]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"evolino: error: {csv}: target column 'x' is empty at data row 17 (file line 18) and in 11 more "
                   "rows; fill them, or let evolino interpolate (--missing interpolate)"]
    assert not (tmp_path / "never").exists()


def test_interpolated_steps_keep_their_place_and_are_not_scored(tmp_path):
    from evolino.run_folder import load_run_task

    csv = tmp_path / "series.csv"
    y = _gappy(csv)
    out = tmp_path / "r"
    assert main(["run", "--data", str(csv), "--missing", "interpolate", "--out", str(out), *TINY]) == 0
    task = load_run_task(out)
    parts = (*task.train, *task.validation, *task.test)
    assert sum(p.steps for p in parts) == 300 and task.test[0].steps == 45
    filled = np.concatenate([p.filled if p.filled is not None else np.zeros(p.steps, bool) for p in parts])
    assert np.flatnonzero(filled).tolist() == GAPS
    measured = ~filled[255:]
    assert np.flatnonzero(~task.test[0].scored).tolist() == [5, 25]
    columns = read_columns(out / "test_outputs.csv")
    np.testing.assert_allclose(columns["target_x"][measured], y[255:][measured], atol=1e-5)

    def nrmse(name, mask):
        target, output = columns["target_x"][mask], columns[name][mask]
        return np.sqrt(np.mean((output - target) ** 2) / np.var(target))

    result = json.loads((out / "result.json").read_text())
    everything = np.ones(45, dtype=bool)
    for name, reported in (("evolino_x", result["test_error"]), ("evolino_one_step_x", result["test_one_step_error"]),
                           ("ar_x", result["baselines"]["ar"]["test_error"]),
                           ("mean_x", result["baselines"]["mean"]["test_error"])):
        assert nrmse(name, measured) == pytest.approx(reported, rel=1e-4), name
        assert nrmse(name, everything) != pytest.approx(reported, rel=1e-4), name  # the filled steps would count
    assert json.loads((out / "task.json").read_text())["info"]["filled"] == [8, 2, 2]


def _monthly(path, months=96):
    stamps = np.datetime64("1949-01") + np.arange(months)
    y = 100 + 10 * np.sin(2 * np.pi * np.arange(months) / 12) + 0.5 * np.arange(months)
    path.write_text("month,passengers\n" + "".join(f"{s},{v:.4f}\n" for s, v in zip(stamps, y, strict=True)))


def test_a_date_column_is_the_index_of_a_run_and_its_folder(tmp_path):
    from evolino.tasks.data import read_table

    csv = tmp_path / "air.csv"
    _monthly(csv)
    out = tmp_path / "air"
    assert main(["run", "--data", str(csv), "--out", str(out), *TINY]) == 0
    info = json.loads((out / "task.json").read_text())["info"]
    assert info["time"] == {"column": "month", "frequency": "monthly", "season": 12, "first": "1949-01",
                            "last": "1956-12"}
    assert info["columns"]["targets"] == ["passengers"]
    assert load_config(out / "config.toml").task.time == "month"
    copy = read_table(out / "data.npz")  # the folder alone recreates the index
    assert copy.time_name == "month" and np.array_equal(copy.time, read_table(csv).time)
    bare = tmp_path / "bare.csv"  # no header: the date column is no value, so the one value column is found
    bare.write_text("".join(line + "\n" for line in csv.read_text().splitlines()[1:]))
    assert main(["predict", str(out), "--csv", str(bare), "--out", str(tmp_path / "p.csv")]) == 0
    assert read_columns(tmp_path / "p.csv")["passengers"].shape == (96,)
    csv.unlink()
    assert main(["run", "--config", str(out / "config.toml"), "--out", str(tmp_path / "again"), *TINY]) == 0
    assert json.loads((tmp_path / "again" / "task.json").read_text())["info"]["time"] == info["time"]


def test_time_names_a_column_of_years(tmp_path, capsys):
    csv = tmp_path / "nile.csv"
    flow = 1000.5 + np.random.default_rng(2).normal(0, 50, 100)
    csv.write_text("year,flow\n" + "".join(f"{1871 + i},{v:.2f}\n" for i, v in enumerate(flow)))
    out = tmp_path / "nile"
    assert main(["run", "--data", str(csv), "--time", "year", "--out", str(out), *TINY]) == 0
    info = json.loads((out / "task.json").read_text())["info"]
    assert info["columns"]["targets"] == ["flow"] and info["time"]["frequency"] == "yearly"
    capsys.readouterr()
    assert main(["run", "--data", str(csv), "--time", "flow", "--out", str(tmp_path / "never"), *TINY]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "time column 'flow', data row 1 (file line 2)" in err[0] and "is not a year" in err[0]


def test_a_constant_column_names_the_file_and_the_flags_that_fix_it(tmp_path, capsys):
    """The two messages met one after the other on a target that is constant: each names the file and a flag."""
    csv = tmp_path / "flat.csv"
    csv.write_text("level,u\n" + "".join(f"3,{i % 7}\n" for i in range(80)))
    flags = ["--kind", "map", "--target", "level", "--inputs", "u"]
    assert main(["run", "--data", str(csv), "--out", str(tmp_path / "a"), *flags, *SMALL]) == 2
    first = capsys.readouterr().err.strip()
    assert first.startswith(f"evolino: error: {csv}: target 'level' does not vary on the")
    assert "--metric rmse" in first and "--target COL" in first
    assert main(["run", "--data", str(csv), "--out", str(tmp_path / "b"), *flags, "--metric", "rmse", *SMALL]) == 2
    second = capsys.readouterr().err.strip()
    assert second.startswith(f"evolino: error: {csv}: target column 'level' is constant on the training part")
    assert "--target COL" in second and "--no-scale" in second
    csv.write_text("level,u\n" + "".join(f"{i % 5},3\n" for i in range(80)))
    assert main(["run", "--data", str(csv), "--out", str(tmp_path / "c"), *flags, *SMALL]) == 2
    third = capsys.readouterr().err.strip()
    assert third.startswith(f"evolino: error: {csv}: input column 'u' is constant on the training part")
    assert "--inputs COL" in third and "--no-scale" in third
    assert main(["run", "--data", str(csv), "--out", str(tmp_path / "d"), *flags, "--no-scale", *SMALL]) == 0
