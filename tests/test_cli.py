"""The command line: run (config written and repeatable), progress display, predict, generate, listings."""

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios

import numpy as np
import pytest

from evolino.cli import main
from evolino.config import load_config
from evolino.model import EvolinoModel
from evolino.reporting import read_columns, read_numeric_csv
from evolino.tasks import make_task

TASK_OPTIONS = "{ train_end = 100, validation_end = 150, test_end = 250, washout = 20 }"
TINY = f"""seed = 1
[task]
name = "mso2"
options = {TASK_OPTIONS}
[network]
cells = 4
[optimizer]
population = 8
[stop]
generations = 12
[output]
checkpoint_every = 0
progress_every = 5
plots = false
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    (folder / "tiny.toml").write_text(TINY)
    assert main(["run", "--config", str(folder / "tiny.toml"), "--out", str(folder / "run"), "--quiet"]) == 0
    return folder / "run"


def test_run_writes_its_resolved_config_and_repeating_it_gives_the_same_run(run_dir, tmp_path):
    config = load_config(run_dir / "config.toml")
    assert config.network.cells == 4 and config.stop.generations == 12 and config.readout.rcond == 1e-14
    assert config.output.dir == str(run_dir)
    again = tmp_path / "again"
    assert main(["run", "--config", str(run_dir / "config.toml"), "--out", str(again), "--quiet"]) == 0
    first, second = (json.loads((d / "result.json").read_text()) for d in (run_dir, again))
    first.pop("wall_seconds"), second.pop("wall_seconds")
    assert first == second
    assert (run_dir / "model.npz").read_bytes() == (again / "model.npz").read_bytes()
    assert load_config(again / "config.toml").output.dir == str(again)  # only the folder differs


def test_history_has_every_column_and_one_row_per_generation(run_dir):
    with open(run_dir / "history.csv") as handle:
        header = handle.readline().strip().split(",")
    assert header == ["generation", "evaluations", "best", "mean", "median", "worst", "best_ever", "wall_seconds",
                      "step_size"]
    data = read_numeric_csv(run_dir / "history.csv")
    assert data.shape == (12, 9) and np.array_equal(data[:, 0], np.arange(1, 13))
    assert np.array_equal(data[:, 1], 8 * np.arange(1, 13)) and (data[:, 8] > 0).all()  # CMA-ES has a sigma


def test_flag_overrides_the_config_file(run_dir, tmp_path):
    out = tmp_path / "override"
    assert main(["run", "--config", str(run_dir / "config.toml"), "--out", str(out), "--generations", "3",
                 "--opt", "sigma0=0.05", "--quiet", "--no-plots"]) == 0
    config = load_config(out / "config.toml")
    assert config.stop.generations == 3 and config.optimizer.options == {"sigma0": 0.05}
    assert json.loads((out / "result.json").read_text())["generations"] == 3


def test_piped_progress_prints_plain_lines_and_quiet_prints_only_the_summary(run_dir, tmp_path, capsys):
    assert main(["run", "--config", str(run_dir / "config.toml"), "--out", str(tmp_path / "a")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    progress = [line for line in lines if line.startswith("gen ")]
    assert [line.split()[1] for line in progress] == ["1/12", "5/12", "10/12", "12/12"]  # progress_every = 5
    assert all("best" in line and "evals/s" in line and "ETA" in line for line in progress)
    assert progress[0].endswith("ETA --:--") and not progress[1].endswith("--:--")  # no ETA from start-up time
    assert main(["run", "--config", str(run_dir / "config.toml"), "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1


def test_a_terminal_gets_a_live_progress_bar(run_dir, tmp_path):
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 160, 0, 0))  # a 160-column terminal
    proc = subprocess.Popen([sys.executable, "-m", "evolino", "run", "--config", str(run_dir / "config.toml"),
                             "--out", str(tmp_path / "tty")], stdout=follower, stderr=follower, close_fds=True,
                            env={**os.environ, "COLUMNS": "160"})
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the pty closes when the process exits
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=60) == 0
    screen = b"".join(chunks).decode(errors="replace")
    assert "\r" in screen and "12/12" in screen and ("gen/s" in screen or "s/gen" in screen)
    assert "evals/s" in screen and "best-ever" in screen and "gen     1/" not in screen  # a bar, not lines
    assert not screen.rstrip().endswith("\x1b[0m")  # no colour reset left behind by numba's colorama


def test_predict_reproduces_the_teacher_forced_outputs(run_dir, tmp_path):
    task = make_task("mso2", train_end=100, validation_end=150, test_end=250, washout=20)
    signal = np.concatenate([p.targets for p in (*task.train, *task.validation)])
    data = tmp_path / "signal.csv"
    np.savetxt(data, signal, delimiter=",", header="y", comments="")
    out = tmp_path / "pred.csv"
    assert main(["predict", str(run_dir), "--csv", str(data), "--out", str(out)]) == 0
    model = EvolinoModel.load(run_dir / "model.npz")
    expected = model.predict(targets=signal)
    written = read_columns(out)["output_0"]
    assert model.settle_steps == 20 and np.isnan(written[:20]).all()  # the washout: the network settling
    assert np.array_equal(written[20:], expected[20:, 0])
    assert out.read_text().splitlines()[0] == "output_0"


def test_generate_after_validation_regenerates_the_test_window(run_dir, tmp_path):
    out = tmp_path / "gen.csv"
    assert main(["generate", str(run_dir), "--steps", "100", "--after", "validation", "--out", str(out)]) == 0
    generated = read_numeric_csv(out)
    test_outputs = read_columns(run_dir / "test_outputs.csv")["evolino_output_0"][:, None]
    assert generated.shape == (100, 1)
    # Same start, same closed loop; the run may have used the compiled kernel and the model uses the numpy one, so
    # rounding differs in the last bits and grows a little over 100 free-running steps. A wrong history gives O(1).
    np.testing.assert_allclose(generated, test_outputs, rtol=0, atol=1e-6)

    # By default generation continues after all of the task's data (the forecast a user wants).
    assert main(["generate", str(run_dir), "--steps", "5", "--out", str(out)]) == 0
    task = make_task("mso2", train_end=100, validation_end=150, test_end=255, washout=20)
    expected = EvolinoModel.load(run_dir / "model.npz").generate(
        np.concatenate([p.targets for p in (*task.train, *task.validation, *task.test)])[:250], 5)
    np.testing.assert_allclose(read_numeric_csv(out), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(expected[:, 0], task.test[0].targets[-5:, 0], atol=0.2)  # it continues the signal

    history = tmp_path / "history.csv"
    np.savetxt(history, make_task("mso2").train[0].targets[:200], delimiter=",")
    assert main(["generate", str(run_dir / "model.npz"), "--steps", "7", "--history", str(history),
                 "--out", str(out)]) == 0
    assert read_numeric_csv(out).shape == (7, 1)


@pytest.mark.parametrize("argv, expected", [
    (["predict", "{run}", "--csv", "{tmp}/missing.csv"], "not found"),
    (["predict", "{run}", "--csv", "{tmp}/two.csv"], "column"),
    (["predict", "{tmp}/nowhere", "--csv", "{tmp}/two.csv"], "no model"),
    (["generate", "{run}", "--steps", "0"], "--steps"),
    (["generate", "{run}", "--steps", "5", "--history", "{tmp}/text.csv"], "'abc' is not a number"),
    (["report", "{tmp}/nowhere"], "result.json"),
    (["resume", "{tmp}/nowhere"], "not a run folder"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_inspection_commands_are_one_line_exit_2(run_dir, tmp_path, capsys, argv, expected):
    (tmp_path / "two.csv").write_text("1,2\n3,4\n")
    (tmp_path / "text.csv").write_text("y\n1\nabc\n")
    argv = [a.format(run=run_dir, tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and expected in err, err


@pytest.mark.slow
def test_listings(capsys):
    assert main(["tasks"]) == 0 and "mso2" in capsys.readouterr().out
    assert main(["optimizers"]) == 0 and "sigma0" in capsys.readouterr().out
