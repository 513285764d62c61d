"""Reliability defects of issue 27: a readout without a bias under every ridge, checkpoints that record the libraries
and the kernel they were written with, the CLI's exit statuses (2: the user's input, 1: a bug), the advice when no
checkpoint is usable, and the one-line compile notice of a cold numba cache."""

import json
from pathlib import Path

import numpy as np
import pytest

import evolino
from evolino.readout import ReadoutConfig, ReadoutStats, design_matrix, loo_outputs

# --- 1. a readout without a bias -------------------------------------------------------------------------------------


def _no_bias_problem(seed=0, rows=60, cells=3, direct=2):
    rng = np.random.default_rng(seed)
    states = rng.normal(size=(2, rows, cells))
    sources = rng.normal(size=(rows, direct))
    design = design_matrix(states, bias=False, direct=sources)  # cells, direct sources, a column of zeros
    targets = rng.normal(size=(rows, 2))
    return design, targets


@pytest.mark.parametrize("ridge", [0.0, 1e-6, 0.3, 1.0, 1e8])
def test_a_readout_without_bias_matches_closed_form_ridge_on_the_columns_it_has(ridge):
    """The partial ridge (cells shrunk, direct sources not) without a bias is the closed-form ridge of the design
    without its zero column, and the bias row is 0; before the fix every strength > 0 was NaN (a zero pivot)."""
    design, targets = _no_bias_problem()
    stats = ReadoutStats(2, design.shape[2], 2)
    stats.add(design, targets)
    config = ReadoutConfig(ridge=ridge)
    solutions, dof = stats.solve_candidates(config, shrunk=3)
    weights = solutions[0]
    assert np.isfinite(weights).all() and np.isfinite(dof).all()
    for k in range(2):
        x = design[k][:, :-1]
        assert not design[k][:, -1].any()
        penalty = np.diag([ridge] * 3 + [0.0] * 2)
        if ridge == 0:
            expected = np.linalg.lstsq(x, targets, rcond=None)[0]
        else:
            expected = np.linalg.solve(x.T @ x + penalty, x.T @ targets)
        np.testing.assert_allclose(weights[k][:-1], expected, rtol=1e-8, atol=1e-10)
        assert np.all(weights[k][-1] == 0)
        hat = np.trace(x @ np.linalg.solve(x.T @ x + penalty, x.T))
        assert dof[0, k] == pytest.approx(hat, rel=1e-9)


def test_gcv_without_bias_scores_every_strength_and_can_choose_one_above_zero():
    design, targets = _no_bias_problem(seed=1, rows=30, cells=6, direct=1)
    design[:, :, 5] = design[:, :, 4] + 1e-4 * np.random.default_rng(2).normal(size=design.shape[:2])
    stats = ReadoutStats(2, design.shape[2], 2)
    stats.add(design, targets)
    config = ReadoutConfig(ridge="auto", ridge_grid=(0.0, 0.1, 1.0, 10.0, 100.0))
    solutions, dof = stats.solve_candidates(config, shrunk=6)
    scores = stats.gcv(solutions, dof)
    assert np.isfinite(scores).all()
    for g, ridge in enumerate(config.candidates):
        for k in range(2):
            x = design[k][:, :-1]
            penalty = np.diag([ridge] * 6 + [0.0])
            w = np.linalg.lstsq(x, targets, rcond=None)[0] if ridge == 0 else \
                np.linalg.solve(x.T @ x + penalty, x.T @ targets)
            rss = np.sum((x @ w - targets) ** 2)
            expected = rss / 30 / (1 - np.trace(x @ np.linalg.pinv(x.T @ x + penalty) @ x.T) / 30) ** 2
            assert scores[g, k] == pytest.approx(expected, rel=1e-7)
    _, choice = stats.choose(config, shrunk=6)
    assert (choice > 0).any()  # pure noise targets: some shrinkage pays, and GCV can now see it


def test_leave_one_out_without_bias_is_the_refit_without_each_row():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 12, 5))
    x[..., -1] = 0.0  # the bias column of a readout without a bias
    targets = rng.normal(size=(12, 1))
    grid = (0.0, 0.5, 100.0)
    outputs = loo_outputs(x, targets, grid, shrunk=3)
    assert np.isfinite(outputs).all()
    for g, ridge in enumerate(grid):
        for k in range(2):
            for i in range(12):
                keep = np.arange(12) != i
                rows = x[k, keep][:, :-1]
                refit = np.linalg.lstsq(rows, targets[keep], rcond=None)[0] if ridge == 0 else \
                    np.linalg.solve(rows.T @ rows + ridge * np.diag([1.0, 1, 1, 0]), rows.T @ targets[keep])
                np.testing.assert_allclose(outputs[g, k, i], x[k, i, :-1] @ refit, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("ridge", [1.0, "auto"])
def test_evolino_without_bias_gives_finite_errors_on_mso2(ridge):
    from evolino.fitness import ForwardPasses, _score_candidates

    task = evolino.make_task("mso2")
    estimator = evolino.Evolino(cells=5, generations=5, population=10, readout_bias=False, ridge=ridge)
    estimator.fit(task)
    result = estimator.result_
    assert np.isfinite(result.test_error) and np.isfinite(result.validation_error)
    assert result.evaluations > 0
    # The validation errors of every strength of the grid, for the genomes the run found best.
    problem = evolino.Evolino(cells=5, readout_bias=False, ridge="validation").build_problem(task)
    scores, _ = _score_candidates(ForwardPasses(problem.spec, estimator.top_genomes_, problem.kernel), problem.task,
                                  problem.readout, problem.lines)
    assert len(problem.readout.candidates) > 1
    assert np.isfinite(scores[np.array(problem.readout.candidates) > 0]).all()


# --- 2. checkpoints record the libraries and the kernel; 4. no usable checkpoint: one line with advice ---------------

TINY = """seed = 3
[task]
name = "mso1"
options = { train_end = 100, validation_end = 150, test_end = 250, washout = 20 }
[network]
cells = 3
[optimizer]
population = 8
[stop]
generations = 3
[output]
checkpoint_every = 1
plots = false
"""


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A run folder with two checkpoints (generations 2 and 3)."""
    from evolino.cli import main

    root = tmp_path_factory.mktemp("checkpointed")
    (root / "tiny.toml").write_text(TINY)
    assert main(["run", "--config", str(root / "tiny.toml"), "--out", str(root / "run"), "--quiet"]) == 0
    return root / "run"


@pytest.fixture
def run_copy(finished_run, tmp_path):
    import shutil

    return Path(shutil.copytree(finished_run, tmp_path / "run"))


def _rewrite_payloads(folder, change):
    """Apply ``change`` to the outer payload dict of every checkpoint of ``folder``; the checksum is made anew."""
    import hashlib
    import pickle

    from evolino.checkpoint import _HEADER, _MAGIC, checkpoint_files

    for path in checkpoint_files(folder):
        data = path.read_bytes()
        outer = pickle.loads(data[len(_MAGIC) + _HEADER.size :])
        outer = change(outer)
        payload = pickle.dumps(outer)
        path.write_bytes(_MAGIC + _HEADER.pack(len(payload), hashlib.sha256(payload).digest()) + payload)


def _resume(folder, **env):
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "evolino", "resume", str(folder), "--quiet"], capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=300)


def test_a_checkpoint_records_the_versions_of_its_libraries_and_the_kernel(finished_run):
    from importlib.metadata import version

    from evolino.checkpoint import checkpoint_environment, checkpoint_files, read_checkpoint
    from evolino.kernels import resolve_kernel

    state = read_checkpoint(checkpoint_files(finished_run)[0])
    recorded = state["environment"]
    assert recorded["libraries"]["numpy"] == np.__version__
    assert recorded["libraries"]["cma"] == version("cma") and recorded["libraries"]["deap"] == version("deap")
    assert recorded["kernel"] == resolve_kernel()
    assert set(checkpoint_environment("evosax:CMA_ES", "numpy")["libraries"]) == {"numpy", "cma", "deap", "evosax",
                                                                                 "jax"}
    assert "nevergrad" in checkpoint_environment("nevergrad:NGOpt", "numpy")["libraries"]


def test_resume_refuses_a_checkpoint_of_another_cma_version_in_one_line_exit_2(run_copy):
    from importlib.metadata import version

    def older_cma(outer):
        outer["environment"]["libraries"]["cma"] = "4.0.0"
        return outer

    _rewrite_payloads(run_copy, older_cma)
    before = {p.name: p.read_bytes() for p in (run_copy / "checkpoints").iterdir()}
    done = _resume(run_copy)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("evolino: error: ")
    assert "cma 4.0.0" in lines[0] and f"cma {version('cma')}" in lines[0]
    assert "--overwrite" in lines[0]
    assert {p.name: p.read_bytes() for p in (run_copy / "checkpoints").iterdir()} == before  # left as they were


def test_resume_refuses_a_checkpoint_of_another_kernel(run_copy):
    from evolino.kernels import resolve_kernel

    written = resolve_kernel()
    other = "numpy" if written != "numpy" else "compiled"
    done = _resume(run_copy, EVOLINO_KERNEL=other)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert f"the {written} kernel" in lines[0] and f"EVOLINO_KERNEL={written}" in lines[0]


def test_a_checkpoint_whose_libraries_cannot_be_unpickled_is_refused_before_unpickling(run_copy):
    """The environment is checked before the state is unpickled: a state pickled by another library version might
    not load at all, and the user then sees the versions, not an unpickling error."""
    from evolino.checkpoint import CheckpointMismatchError, checkpoint_files, load_latest, read_checkpoint
    from evolino.kernels import resolve_kernel
    from evolino.trainer import Evolino

    def broken(outer):
        outer["environment"]["libraries"]["deap"] = "0.1"
        outer["state"] = b"not a pickle"
        return outer

    _rewrite_payloads(run_copy, broken)
    environment = Evolino(optimizer="sep-cma")._environment(None)
    assert environment["kernel"] == resolve_kernel()
    with pytest.raises(CheckpointMismatchError, match="deap 0.1"):
        read_checkpoint(checkpoint_files(run_copy)[0], environment)
    with pytest.raises(CheckpointMismatchError, match="deap 0.1"):  # not skipped for an older checkpoint
        load_latest(run_copy, environment=environment)


def test_a_checkpoint_from_before_the_record_resumes_with_a_warning(run_copy, capsys):
    """Format 1 (one pickle, no environment): accepted, unchecked, with one warning (docs/cli.md says so)."""
    import pickle

    from evolino.cli import main

    def old_format(outer):
        return {"format_version": 1, **pickle.loads(outer["state"])}

    _rewrite_payloads(run_copy, old_format)
    assert main(["resume", str(run_copy), "--generations", "4", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "before checkpoints recorded the versions" in err and "unchecked" in err
    assert json.loads((run_copy / "result.json").read_text())["generations"] == 4


def test_all_checkpoints_truncated_is_one_line_with_advice_that_works(run_copy, capsys):
    from evolino.checkpoint import checkpoint_files
    from evolino.cli import main

    for path in checkpoint_files(run_copy):
        path.write_bytes(path.read_bytes()[:300])
    capsys.readouterr()
    assert main(["resume", str(run_copy), "--quiet"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("evolino: error: no usable checkpoint in")
    assert "gen-000003.ckpt is truncated" in line and "gen-000002.ckpt is truncated" in line
    advice = line.split("start the run again with: ")[1]
    assert advice == (f"python -m evolino run --config {run_copy / 'config.toml'} --out {run_copy} --overwrite")
    # the advice, followed, runs the run again
    assert main([*advice.split()[3:], "--quiet"]) == 0
    assert json.loads((run_copy / "result.json").read_text())["generations"] == 3


# --- 3. exit 2 for the user's input, 1 for a bug ---------------------------------------------------------------------

_INJECTED = """
import sys
import numpy as np
import evolino.readout

def broken(self, config, shrunk=None, svd=None):
    {body}

evolino.readout.ReadoutStats.solve_candidates = broken
from evolino.cli import main
sys.exit(main(["run", "--config", sys.argv[1], "--out", sys.argv[2], "--quiet"]))
"""


@pytest.mark.parametrize("body, name", [
    ("return np.linalg.solve(np.zeros((2, 2)), np.ones(2))", "LinAlgError"),  # a ValueError from inside numpy
    ("np.ones(3).reshape(2, 2)", "ValueError"),
    ("return 1 / 0", "ZeroDivisionError"),
])
@pytest.mark.parametrize("debug", [False, True])
def test_an_internal_error_deep_in_a_run_exits_1_and_shows_the_traceback_with_evolino_debug(tmp_path, body, name,
                                                                                           debug):
    import os
    import subprocess
    import sys

    (tmp_path / "tiny.toml").write_text(TINY)
    env = {k: v for k, v in os.environ.items() if k != "EVOLINO_DEBUG"}
    if debug:
        env["EVOLINO_DEBUG"] = "1"
    done = subprocess.run([sys.executable, "-c", _INJECTED.format(body=body), str(tmp_path / "tiny.toml"),
                           str(tmp_path / "run")], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 1, done.stderr
    if debug:
        assert "Traceback (most recent call last)" in done.stderr and "in broken" in done.stderr
        assert done.stderr.strip().splitlines()[-1].split(":")[0].endswith(name)
    else:
        lines = done.stderr.strip().splitlines()
        assert lines == [line for line in lines if line.startswith("evolino: internal error: ")] and len(lines) == 1
        assert f"internal error: {name}" in lines[0] and "EVOLINO_DEBUG=1" in lines[0]


def test_the_libraries_own_checks_still_exit_2(tmp_path, capsys):
    """A ValueError raised by evolino's validation (here the readout's) is the user's: one line, exit 2."""
    from evolino.cli import _raised_by_evolino, main

    (tmp_path / "bad.toml").write_text(TINY.replace("[network]", "[readout]\nrcond = 2.0\n[network]"))
    assert main(["run", "--config", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("evolino: error: ") and "rcond" in err[0]
    with pytest.raises(ValueError) as raised:
        ReadoutConfig(rcond=2.0)
    assert _raised_by_evolino(raised.value)
    with pytest.raises(ValueError) as raised:
        np.ones(3).reshape(2, 2)
    assert not _raised_by_evolino(raised.value)


# --- 5. one line before the kernel compiles --------------------------------------------------------------------------


class _Terminal:
    """A stand-in for a terminal's stderr."""

    def __init__(self, tty=True):
        self.lines, self.tty = [], tty

    def isatty(self):
        return self.tty

    def write(self, text):
        self.lines.extend(line for line in text.splitlines() if line)

    def flush(self):
        pass


@pytest.mark.parametrize("tty", [True, False])
def test_the_compile_notice_is_one_line_once_and_only_on_a_terminal(monkeypatch, tty):
    import sys

    import evolino.kernels as kernels

    if not kernels.compiled_available():
        pytest.skip("numba is not available")
    terminal = _Terminal(tty)
    monkeypatch.setattr(kernels, "_noticed", False)
    monkeypatch.setattr(kernels, "compile_pending", lambda resolved: True)
    monkeypatch.setattr(sys, "stderr", terminal)
    for _ in range(3):
        kernels.forward_ops("compiled")
    kernels.forward_ops("numpy")
    assert terminal.lines == ([kernels.COMPILE_NOTICE] if tty else [])


def test_a_cold_numba_cache_is_told_apart_from_a_warm_one(tmp_path):
    """An empty NUMBA_CACHE_DIR is cold; after a compile into it, warm (in a fresh interpreter each time)."""
    import os
    import subprocess
    import sys

    import evolino.kernels as kernels

    if not kernels.compiled_available():
        pytest.skip("numba is not available")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    probe = "from evolino.kernels import compile_pending as c; print(c('compiled'), c('compiled-scalar'))"
    cold = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    assert cold.stdout.split() == ["True", "True"], cold.stderr
    assert kernels.compile_pending("numpy") is False


@pytest.mark.slow
def test_a_first_run_on_a_terminal_says_that_it_compiles_then_never_again(tmp_path):
    """A run with a cold cache (an empty NUMBA_CACHE_DIR) and stderr on a terminal: the notice is its first line of
    stderr, once; the second run (warm cache) does not print it."""
    import os
    import pty
    import subprocess
    import sys

    from evolino.kernels import COMPILE_NOTICE

    (tmp_path / "tiny.toml").write_text(TINY)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "EVOLINO_KERNEL": "compiled"}

    def run(out):
        leader, follower = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "evolino", "run", "--config", str(tmp_path / "tiny.toml"),
                                 "--out", str(tmp_path / out), "--quiet"], stdout=subprocess.DEVNULL,
                                stderr=follower, env=env)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(leader)
        assert proc.wait(timeout=600) == 0
        return b"".join(chunks).decode().replace("\r\n", "\n").strip().splitlines()

    first = run("first")
    assert first[0] == COMPILE_NOTICE and first.count(COMPILE_NOTICE) == 1, first
    assert COMPILE_NOTICE not in run("second")


# --- 7. a ray:// handshake retried while the client server cannot start its driver ---------------------------------


def _flaky_init(failures, error=None):
    calls = []

    def init():
        calls.append(1)
        if len(calls) <= failures:
            raise error or ConnectionAbortedError("Initialization failure from server:\nTraceback ...")

    return init, calls


def test_a_ray_client_handshake_is_retried_when_the_server_failed_to_start_its_driver(monkeypatch):
    from evolino.backends import ray_cluster as cluster

    monkeypatch.setattr(cluster, "CLIENT_RETRY_PAUSE", 0.01)
    init, calls = _flaky_init(2)
    cluster._client_init(init, 30.0, "the Ray cluster at ray://x:1")
    assert len(calls) == 3
    init, calls = _flaky_init(5)  # bounded: CLIENT_ATTEMPTS, then Ray's error (the caller makes it a ClusterError)
    with pytest.raises(ConnectionAbortedError, match="Initialization failure"):
        cluster._client_init(init, 30.0, "the Ray cluster at ray://x:1")
    assert len(calls) == cluster.CLIENT_ATTEMPTS
    init, calls = _flaky_init(1, ConnectionError("authentication failed"))  # other errors: at once
    with pytest.raises(ConnectionError, match="authentication"):
        cluster._client_init(init, 30.0, "the Ray cluster at ray://x:1")
    assert len(calls) == 1


def test_the_ray_client_retries_stay_within_the_one_connect_deadline(monkeypatch):
    import time

    from evolino.backends import ray_cluster as cluster
    from evolino.errors import ClusterError

    monkeypatch.setattr(cluster, "CLIENT_RETRY_PAUSE", 0.05)
    calls = []

    def slow_failure():
        calls.append(1)
        time.sleep(0.3)
        raise ConnectionAbortedError("Initialization failure from server:\n...")

    started = time.monotonic()
    with pytest.raises((ConnectionAbortedError, ClusterError)):
        cluster._client_init(slow_failure, 0.5, "the Ray cluster at ray://x:1")
    assert time.monotonic() - started < 1.0 and len(calls) <= 2

    def hangs():
        time.sleep(5)

    started = time.monotonic()
    with pytest.raises(ClusterError, match="no answer from the Ray cluster"):
        cluster._client_init(hangs, 0.3, "the Ray cluster at ray://x:1")
    assert time.monotonic() - started < 1.0
