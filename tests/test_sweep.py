"""Sweeps: sweep files (parsing, planning, one-line errors), trials on a local Ray Tune equal to runs made alone, the
summary, kill -9 of the driver and --resume, ASHA and Optuna. The loopback cluster with token authentication runs
a sweep in tests/test_ray_cluster.py."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from evolino.cli import main
from evolino.config import load_config
from evolino.errors import ConfigError
from evolino.sweep import load_sweep, plan_trials, sweep_from_dict

pytest.importorskip("ray.tune")

BASE = """[task]
name = "mso2"
options = { train_end = 100, validation_end = 150, test_end = 250, washout = 20 }
[network]
cells = 4
[optimizer]
population = 8
[stop]
generations = GENERATIONS
[output]
checkpoint_every = 0
plots = false
"""
GRID = """
[sweep]
seeds = 2
[sweep.space]
"network.feedback_scale" = [1e-4, 1e-2]
"""
ENV = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def _sweep_file(folder: Path, sweep: str, generations: int = 15, name: str = "sweep.toml") -> Path:
    path = folder / name
    path.write_text(BASE.replace("GENERATIONS", str(generations)) + sweep)
    return path


def _sweep(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evolino", "sweep", *map(str, args)], env=ENV, capture_output=True,
                          text=True, timeout=timeout)


def _without_times(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "wall_seconds"} for row in rows]


# ---------------------------------------------------------------------------------------------------- sweep files


def test_a_grid_is_crossed_and_run_once_per_seed_in_a_fixed_order(tmp_path):
    spec = load_sweep(_sweep_file(tmp_path, GRID.replace('[1e-4, 1e-2]', '[1e-4, 1e-2]\n"network.cells" = [3, 5]')))
    trials = plan_trials(spec)
    assert [t.name for t in trials] == [f"trial_{i:04d}" for i in range(8)]
    assert [(t.settings["network.feedback_scale"], t.settings["network.cells"], t.seed) for t in trials] == [
        (fs, cells, seed) for fs in (1e-4, 1e-2) for cells in (3, 5) for seed in (0, 1)]
    assert spec.base.network.cells == 4 and spec.base.stop.generations == 15  # the base run is the file's own


def test_random_draws_lie_in_their_ranges_and_repeat_with_the_sweep_seed(tmp_path):
    text = """
[sweep]
search = "random"
samples = 50
seed = 7
[sweep.space]
"network.feedback_scale" = { loguniform = [1e-6, 1e-2] }
"network.init_scale" = { uniform = [0.05, 0.5] }
"readout.ridge" = { choice = [0, 1e-8, "auto"] }
"""
    spec = load_sweep(_sweep_file(tmp_path, text))
    trials = plan_trials(spec)
    assert len(trials) == 50 and plan_trials(spec) == trials
    scales = np.array([t.settings["network.feedback_scale"] for t in trials])
    inits = np.array([t.settings["network.init_scale"] for t in trials])
    assert scales.min() >= 1e-6 and scales.max() <= 1e-2 and inits.min() >= 0.05 and inits.max() <= 0.5
    assert np.log10(scales).min() < -5 and np.log10(scales).max() > -3  # spread on the log scale, not the linear
    assert {t.settings["readout.ridge"] for t in trials} == {0, 1e-8, "auto"}
    other = load_sweep(_sweep_file(tmp_path, text.replace("seed = 7", "seed = 8"), name="other.toml"))
    assert [t.settings for t in plan_trials(other)] != [t.settings for t in trials]


def test_a_base_file_and_dotted_keys_written_as_tables_work(tmp_path):
    (tmp_path / "run.toml").write_text(BASE.replace("GENERATIONS", "9"))
    (tmp_path / "sweep.toml").write_text('[sweep]\nbase = "run.toml"\n[sweep.space]\nnetwork.cells = [2, 3]\n')
    spec = load_sweep(tmp_path / "sweep.toml")
    assert spec.base.stop.generations == 9 and [t.settings for t in plan_trials(spec)] == [
        {"network.cells": 2}, {"network.cells": 3}]


BAD_FILES = {
    "unknown key": ('[sweep]\nseeds = 2\nmax_trials = 3\n', "unknown key 'sweep.max_trials'"),
    "unknown run key": ('[sweep]\n[sweep.space]\n"network.cels" = [1, 2]\n', "network.cels"),
    "empty range": ('[sweep]\nsearch = "random"\n[sweep.space]\n"network.init_scale" = { uniform = [0.5, 0.5] }\n',
                    "is empty"),
    "log range through zero": ('[sweep]\nsearch = "random"\n[sweep.space]\n'
                               '"network.feedback_scale" = { loguniform = [0, 1] }\n', "above zero"),
    "no trials": ("[sweep]\n", "no trials"),
    "empty grid": ('[sweep]\n[sweep.space]\n"network.cells" = []\n', "non-empty list"),
    "value out of range": ('[sweep]\n[sweep.space]\n"network.cells" = [0, 2]\n', "network.cells must be"),
    "range under grid search": ('[sweep]\n[sweep.space]\n"network.init_scale" = { uniform = [0.1, 0.2] }\n',
                                'search = "random"'),
    "no seeds": ("[sweep]\nseeds = []\n", "sweep.seeds"),
    "ray backend": ('[backend]\nname = "ray"\n[sweep]\nseeds = 2\n', "serial backend"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_sweep_file_is_one_line_exit_2_and_creates_nothing(case, tmp_path, capsys):
    text, words = BAD_FILES[case]
    path = tmp_path / "bad.toml"
    path.write_text(BASE.replace("GENERATIONS", "5") + text)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("evolino: error: ") and words in err[0], err
    assert not (tmp_path / "out").exists()


def test_resume_of_a_folder_that_holds_no_sweep_is_one_line(tmp_path, capsys):
    assert main(["sweep", "--resume", str(tmp_path / "nothing")]) == 2
    assert "not a sweep folder" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="no \\[sweep\\] table"):
        sweep_from_dict({"seed": 1})


# ------------------------------------------------------------------------------------ a trial cut off, then resumed


class _CutOff(Exception):
    """What a trial meets when its process is cut off (here: raised from Tune's report at a given generation)."""


def _cut_at(generation: int):
    def report(metrics: dict) -> None:
        if metrics.get("generation") == generation and "validation_error" not in metrics:
            raise _CutOff
    return report


def _without_time_column(text: str) -> list[list[str]]:
    rows = [line.split(",") for line in text.splitlines()]
    drop = rows[0].index("wall_seconds")
    return [row[:drop] + row[drop + 1:] for row in rows]


def _trial_setup(tmp_path: Path):
    from evolino.sweep.runner import TRIALS_FOLDER

    path = tmp_path / "sweep.toml"
    path.write_text(BASE.replace("GENERATIONS", "6").replace("checkpoint_every = 0", "checkpoint_every = 2") + GRID)
    spec = load_sweep(path)
    trial = plan_trials(spec)[1]
    for name in ("whole", "cut"):
        (tmp_path / name / TRIALS_FOLDER).mkdir(parents=True)
    return spec, trial


def _same_run(first: Path, second: Path) -> None:
    one, two = (json.loads((d / "result.json").read_text()) for d in (first, second))
    one.pop("wall_seconds"), two.pop("wall_seconds")
    assert one == two
    assert (first / "model.npz").read_bytes() == (second / "model.npz").read_bytes()
    assert _without_time_column((first / "history.csv").read_text()) == \
        _without_time_column((second / "history.csv").read_text())
    assert (first / "config.toml").read_text().replace(str(first), "X") == \
        (second / "config.toml").read_text().replace(str(second), "X")


def test_a_trial_cut_off_mid_run_goes_on_from_its_newest_checkpoint_with_the_uninterrupted_result(tmp_path):
    from evolino.checkpoint import checkpoint_files, checkpoint_generation
    from evolino.sweep.runner import _execute_trial

    spec, trial = _trial_setup(tmp_path)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    _execute_trial(whole, spec, trial, lambda metrics: None)
    with pytest.raises(_CutOff):
        _execute_trial(cut, spec, trial, _cut_at(5))  # cut off in generation 5: the newest checkpoint is of 4
    folder = cut / "trials" / trial.name
    assert json.loads((cut / "trials" / f"{trial.name}.json").read_text())["status"] == "running"
    assert checkpoint_generation(checkpoint_files(folder)[0]) == 4 and not (folder / "result.json").exists()
    reports: list[dict] = []
    record = _execute_trial(cut, spec, trial, reports.append)
    assert record["status"] == "finished" and record["resumed_from_generation"] == 4
    assert [m["generation"] for m in reports] == [5, 6, 6]  # only the generations after the checkpoint ran again
    assert "resuming it from its newest checkpoint (generation 4)" in (cut / "trials" / f"{trial.name}.log").read_text()
    _same_run(whole / "trials" / trial.name, folder)


def test_a_trial_whose_checkpoints_do_not_read_back_starts_again(tmp_path):
    from evolino.checkpoint import checkpoint_files
    from evolino.sweep.runner import _execute_trial

    spec, trial = _trial_setup(tmp_path)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    _execute_trial(whole, spec, trial, lambda metrics: None)
    with pytest.raises(_CutOff):
        _execute_trial(cut, spec, trial, _cut_at(5))
    folder = cut / "trials" / trial.name
    for path in checkpoint_files(folder):
        path.write_bytes(b"truncated")
    reports: list[dict] = []
    record = _execute_trial(cut, spec, trial, reports.append)
    assert "resumed_from_generation" not in record and [m["generation"] for m in reports][:2] == [1, 2]
    assert "starting it again" in (cut / "trials" / f"{trial.name}.log").read_text()
    _same_run(whole / "trials" / trial.name, folder)


# ----------------------------------------------------------------------------------------- what the driver prints


def test_a_trial_line_names_the_trial_its_settings_status_and_error():
    from evolino.sweep.runner import trial_line

    record = {"settings": {"network.feedback_scale": 0.0001, "optimizer.name": "cma"}, "seed": 1}
    assert trial_line("trial_0003", record, "finished", 2.3812e-08, 2, 4) == (
        'sweep: [2/4] trial_0003 (network.feedback_scale=0.0001, optimizer.name="cma", seed 1): finished, '
        "validation error 2.38e-08")
    assert trial_line("trial_x", record, "stopped", None).endswith("stopped, best fitness -")
    assert trial_line("trial_x", None, "error", float("inf")) == "sweep: trial_x: error, best fitness -"


def test_resume_says_which_trials_it_skips_as_done(tmp_path):
    from evolino.sweep.records import write_record
    from evolino.sweep.runner import skipped_line

    spec = load_sweep(_sweep_file(tmp_path, GRID.replace("seeds = 2", "seeds = 3")))
    out = tmp_path / "out"
    (out / "trials").mkdir(parents=True)
    assert skipped_line(spec, out) == "sweep: resuming: no trial is done yet; 6 of 6 trials left to run"
    names = [t.name for t in plan_trials(spec)]
    for name, status in zip(names, ("finished", "stopped", "error", "finished", "finished", "interrupted"),
                            strict=True):
        write_record(out, name, {"status": status})
    assert skipped_line(spec, out) == (f"sweep: resuming: skipping 5 trials already done ({', '.join(names[:4])} and "
                                       "1 more); 1 of 6 trials left to run")


# ------------------------------------------------------------------------------------------------ sweeps that run


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    done = _sweep(_sweep_file(folder, GRID), "--out", folder / "out")
    assert done.returncode == 0, done.stderr[-3000:]
    return folder / "out", done


@pytest.mark.slow
def test_every_trial_equals_the_run_of_its_config_made_alone(grid_sweep, tmp_path):
    out, done = grid_sweep
    assert "4 of 4 trials finished" in done.stdout
    for trial in sorted(p for p in (out / "trials").iterdir() if p.is_dir()):
        alone = tmp_path / trial.name
        assert main(["run", "--config", str(trial / "config.toml"), "--out", str(alone), "--quiet"]) == 0
        swept, single = (json.loads((d / "result.json").read_text()) for d in (trial, alone))
        swept.pop("wall_seconds"), single.pop("wall_seconds")
        assert swept == single
        assert (trial / "model.npz").read_bytes() == (alone / "model.npz").read_bytes()
        history = (trial / "history.csv").read_text().splitlines()
        assert len(history) == 1 + 15  # every generation was reported and written


@pytest.mark.slow
def test_the_summary_ranks_settings_by_median_validation_error_and_writes_the_best_config(grid_sweep):
    out, _ = grid_sweep
    summary = json.loads((out / "summary.json").read_text())
    results = {p.name: json.loads((p / "result.json").read_text()) for p in (out / "trials").iterdir() if p.is_dir()}
    plan = {t["name"]: t for t in json.loads((out / "plan.json").read_text())["trials"]}
    by_setting: dict[float, list[float]] = {}
    for name, result in results.items():
        by_setting.setdefault(plan[name]["settings"]["network.feedback_scale"], []).append(result["validation_error"])
    medians = sorted((float(np.median(v)), k) for k, v in by_setting.items())
    assert [(s["median_validation_error"], s["network.feedback_scale"]) for s in summary["settings"]] == medians
    validation = [row["validation_error"] for row in summary["trials"]]
    assert validation == sorted(validation) and len(validation) == 4
    assert all(row["test_error"] == results[row["trial"]]["test_error"] for row in summary["trials"])
    best = summary["best"]
    assert plan[best["trial"]]["settings"]["network.feedback_scale"] == medians[0][1]
    assert best["validation_error"] == min(results[n]["validation_error"] for n in plan
                                           if plan[n]["settings"]["network.feedback_scale"] == medians[0][1])
    config = load_config(out / "best_config.toml")
    assert config.output.dir == "runs/sweep-best" and config.seed == best["seed"]
    assert config.network.feedback_scale == medians[0][1]
    assert len((out / "summary.csv").read_text().splitlines()) == 5
    assert (out / "error_vs_settings.png").stat().st_size > 1000
    assert "| trial_" in (out / "summary.md").read_text()
    assert summary["meta"]["versions"]["evolino"]


@pytest.mark.slow
def test_the_sweep_prints_a_line_per_trial_and_its_summary_line(grid_sweep):
    out, done = grid_sweep
    lines = done.stdout.strip().splitlines()
    records = _records(out)
    assert len(lines) == 5 and lines[-1].startswith("sweep: 4 of 4 trials finished")
    assert sorted(line.split()[2] for line in lines[:4]) == sorted(records)
    assert [line.split()[1] for line in lines[:4]] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    for line in lines[:4]:
        record = records[line.split()[2]]
        assert f"network.feedback_scale={record['settings']['network.feedback_scale']:.4g}, seed {record['seed']})" \
            in line
        assert line.endswith(f": finished, validation error {record['validation_error']:.3g}")


@pytest.mark.slow
def test_a_new_sweep_into_a_sweep_folder_is_refused(grid_sweep):
    out, _ = grid_sweep
    again = _sweep(out / "sweep.toml", "--out", out)
    assert again.returncode == 2 and "already holds a sweep" in again.stderr


def _records(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (out / "trials").glob("*.json")}


@pytest.mark.slow
def test_kill_9_of_the_driver_then_resume_runs_only_unfinished_trials(tmp_path):
    """The driver is killed once two trials are done; resume keeps them (their files untouched) and the summary
    equals that of the same sweep run without interruption."""
    sweep = _sweep_file(tmp_path, GRID.replace("seeds = 2", "seeds = 3"), generations=120)
    out = tmp_path / "killed"
    printed = tmp_path / "driver.out"
    with open(printed, "w") as stdout:
        driver = subprocess.Popen([sys.executable, "-m", "evolino", "sweep", str(sweep), "--out", str(out),
                                   "--max-concurrent", "1"], env=ENV, stdout=stdout,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        # a line per trial as it ends, long before the sweep does
        while printed.read_text().count(": finished, validation error") < 2:
            assert driver.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "no two trials finished in time"
            time.sleep(0.2)
        driver.kill()  # SIGKILL: no handler, no cleanup
        driver.wait(30)
    finally:
        try:
            os.killpg(driver.pid, signal.SIGKILL)  # the local Ray the driver left behind
        except ProcessLookupError:
            pass
    finished = {n for n, r in _records(out).items() if r["status"] == "finished"}
    assert 2 <= len(finished) < 6
    stamps = {n: (out / "trials" / n / "result.json").stat().st_mtime_ns for n in finished}
    resumed = _sweep("--resume", out)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "6 of 6 trials finished" in resumed.stdout
    skipped = resumed.stdout.splitlines()[0]
    assert skipped.startswith(f"sweep: resuming: skipping {len(finished)} trials already done (")
    assert all(name in skipped for name in sorted(finished)[:4])
    assert skipped.endswith(f"; {6 - len(finished)} of 6 trials left to run")
    assert all((out / "trials" / n / "result.json").stat().st_mtime_ns == stamps[n] for n in finished)
    whole = _sweep(sweep, "--out", tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr[-3000:]
    first, second = (json.loads((d / "summary.json").read_text()) for d in (out, tmp_path / "whole"))
    assert _without_times(first["trials"]) == _without_times(second["trials"])
    assert first["settings"] == second["settings"] and first["best"]["trial"] == second["best"]["trial"]


@pytest.mark.slow
def test_optuna_with_asha_runs_its_samples_and_resume_adds_none(tmp_path):
    text = """
[sweep]
search = "optuna"
samples = 4
scheduler = "asha"
grace_generations = 3
[sweep.space]
"network.feedback_scale" = { loguniform = [1e-5, 1e-1] }
"readout.ridge" = { choice = [0, 1e-8] }
"""
    out = tmp_path / "optuna"
    done = _sweep(_sweep_file(tmp_path, text, generations=12), "--out", out)
    assert done.returncode == 0, done.stderr[-3000:]
    records = _records(out)
    assert len(records) == 4 and all(r["status"] in ("finished", "stopped") for r in records.values())
    finished = [n for n, r in records.items() if r["status"] == "finished"]
    assert finished and all((out / "trials" / n / "result.json").is_file() for n in finished)
    for record in records.values():
        scale = record["settings"]["network.feedback_scale"]
        assert 1e-5 <= scale <= 1e-1 and record["settings"]["readout.ridge"] in (0, 1e-8)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["best"]["trial"] in finished
    assert math.isfinite(summary["best"]["validation_error"])
    again = _sweep("--resume", out)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(_records(out)) == 4  # the budget was spent: nothing new ran


def test_listed_settings_go_together_and_are_crossed_with_the_grid_and_seeds(tmp_path):
    text = """
[sweep]
seeds = [3, 4]
settings = [{ "task.name" = "mso1", "network.cells" = 3 }, { "task.name" = "mso2", "network.cells" = 5 }]
[sweep.space]
"readout.rcond" = [1e-14, 1e-10]
"""
    spec = load_sweep(_sweep_file(tmp_path, text))
    plan = [(t.settings["task.name"], t.settings["network.cells"], t.settings["readout.rcond"], t.seed)
            for t in plan_trials(spec)]
    assert plan == [(task, cells, rcond, seed) for task, cells in (("mso1", 3), ("mso2", 5))
                    for rcond in (1e-14, 1e-10) for seed in (3, 4)]
    from evolino.sweep.space import sweep_to_toml

    (tmp_path / "again.toml").write_text(sweep_to_toml(spec))  # what --resume reads back
    assert load_sweep(tmp_path / "again.toml") == spec
    bad = _sweep_file(tmp_path, text.replace('"network.cells" = 5', '"network.cells" = 0'), name="bad.toml")
    with pytest.raises(ConfigError, match=r"settings\[1\].*network.cells"):
        load_sweep(bad)


@pytest.mark.slow
def test_an_experiment_script_runs_through_a_sweep_with_the_estimators_numbers(tmp_path):
    """experiments/mso.py table: its runs are sweep trials, and their errors those of Evolino.fit made alone."""
    import evolino

    out = tmp_path / "table.json"
    done = subprocess.run([sys.executable, "experiments/mso.py", "table", "--tasks", "mso2", "--seeds", "0", "1",
                           "--generations", "4", "--sweep-dir", str(tmp_path / "runs"), "--out", str(out)],
                          cwd=Path(__file__).resolve().parents[1], env=ENV, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    assert [(r["task"], r["seed"]) for r in rows] == [("mso2", 0), ("mso2", 1)]
    assert "--sweep-dir" not in json.loads(out.read_text())["meta"]["command"]
    for row in rows:
        alone = evolino.Evolino(cells=10, generations=4, seed=row["seed"], optimizer=row["optimizer"], population=40,
                                feedback_scale=1e-4, rcond=1e-14, init_scale=0.1).fit(evolino.make_task("mso2")).result_
        assert row["test_error"] == alone.test_error and row["validation_error"] == alone.validation_error


@pytest.mark.slow
def test_ctrl_c_ends_the_sweep_with_exit_130_and_a_way_on(tmp_path):
    out = tmp_path / "stopped"
    driver = subprocess.Popen([sys.executable, "-m", "evolino", "sweep", str(_sweep_file(tmp_path, GRID, 400)),
                               "--out", str(out)], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(r.get("status") == "running" for r in _records(out).values() if (out / "trials").exists()):
        assert driver.poll() is None and time.monotonic() < deadline, "no trial started"
        time.sleep(0.2)
    driver.send_signal(signal.SIGINT)
    stdout, stderr = driver.communicate(timeout=120)
    assert driver.returncode == 130, stderr[-2000:]
    assert stderr.strip().splitlines()[-1].endswith(f"continue with: python -m evolino sweep --resume {out}")
    statuses = [r["status"] for r in _records(out).values()]
    assert "interrupted" in statuses and "running" not in statuses
    rows = json.loads((out / "summary.json").read_text())["trials"]
    assert len(rows) == 4 and {row["status"] for row in rows} <= {"interrupted", "pending", "finished"}


def test_an_unreachable_cluster_is_one_line_and_leaves_no_sweep_behind(tmp_path):
    from tests.ray_fixtures import free_port

    out = tmp_path / "nowhere"
    done = _sweep(_sweep_file(tmp_path, GRID), "--out", out, "--address", f"127.0.0.1:{free_port()}",
                  "--connect-timeout", "3", timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evolino: error: ") and "127.0.0.1" in lines[0], lines
    assert not out.exists()  # so the same command works once the cluster is up


@pytest.mark.parametrize(("values", "scale"), [
    ([1e-4, 1e-2], "log"),                      # a factor of 100
    ([1e-5, 1e-4, 1e-3, 1e-5], "log"),          # repeats (seeds) do not matter
    ([0.001, 0.01], "linear"),                  # two values a factor of 10 apart: nothing to space
    ([0.05, 0.5, 1.0], "linear"),               # a factor of 20 is not more, nor evenly spaced in log terms
    ([1, 2, 4, 8], "log"),                      # evenly spaced in log terms, a factor of 8
    ([5, 10, 20], "log"),
    ([4, 8, 12], "linear"),                     # evenly spaced: linear
    ([1, 30], "log"),
    ([1, 20], "linear"),
    ([0, 1e-8, 1e-6], "symlog"),                # a ridge of 0 beside log-spaced ones
    ([0, 1e-8], "linear"),
    ([-1, 1, 100], "linear"),
    ([3, 3], "linear"),
])
def test_the_plot_takes_a_log_axis_for_log_spaced_settings(values, scale):
    from evolino.sweep.summary import axis_scale

    assert axis_scale(values) == scale
