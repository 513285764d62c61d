"""The Ray backend on several nodes: a ray.cluster_utils.Cluster (head + 2 workers) and the compose cluster's own
`ray start` commands on loopback with token authentication (also losing the head mid-run); plus structural checks of
the cluster files."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from evolino.backends.ray import RayEvaluator  # noqa: E402
from tests.ray_fixtures import (  # noqa: E402
    COMPOSE_FILE,
    ROOT,
    RayStartProcess,
    SlowProblem,
    free_port,
    load_compose,
    loopback_commands,
    population,
    ship_by_value,
    small_problem,
)

COMPOSE_ENV = {"RAY_AUTH_TOKEN": "compose-check-token"}
pytestmark = pytest.mark.slow  # clusters of several Ray nodes: minutes; CI runs them (python -m pytest -m slow)


@pytest.fixture(scope="module")
def cluster():
    """Head + 2 worker nodes, one CPU each, on this machine; the test process is connected as the driver."""
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    ship_by_value()
    # Quick node-death detection, so that the removed node's actor is declared dead within a second or two.
    system_config = {"health_check_period_ms": 500, "health_check_failure_threshold": 3, "health_check_timeout_ms": 500}
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "gcs_server_port": free_port(),
                                                          "include_dashboard": False, "_system_config": system_config})
    workers = [nodes.add_node(num_cpus=1) for _ in range(2)]
    nodes.wait_for_nodes()
    ray.init(address=nodes.address, logging_level="WARNING")
    yield nodes, workers
    ray.shutdown()
    nodes.shutdown()


def test_chunks_run_on_every_node_and_match_serial(cluster):
    problem = small_problem()
    genomes = population(problem, 30, seed=7)
    expected = problem.evaluate(genomes)
    with RayEvaluator(problem) as evaluator:
        assert evaluator.workers == 3 and len(set(evaluator.actor_nodes())) == 3  # one actor per node
        got = evaluator.evaluate(genomes)
        assert evaluator.chunks_per_actor() == 4  # actors span nodes: extra chunks balance them
        assert len(evaluator.chunk_nodes) == 12 and len(set(evaluator.chunk_nodes)) >= 2
        evaluator.chunks_per_worker = 1
        again = evaluator.evaluate(genomes)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(again, expected)


def test_losing_a_worker_node_mid_generation_still_gives_the_serial_errors(cluster):
    """Runs last in this module: it removes a node from the shared cluster."""
    nodes, workers = cluster
    victim = workers[0]
    problem = small_problem()
    genomes = population(problem, 12, seed=11)
    expected = problem.evaluate(genomes)
    with RayEvaluator(SlowProblem(problem, 1.5), chunks_per_worker=1) as evaluator:
        assert victim.node_id in evaluator.actor_nodes()
        outcome = {}
        worker = threading.Thread(target=lambda: outcome.update(errors=evaluator.evaluate(genomes)))
        worker.start()
        time.sleep(0.5)  # every actor now holds a 1.5 s chunk
        nodes.remove_node(victim, allow_graceful=False)
        worker.join(timeout=60)
        assert not worker.is_alive()
        np.testing.assert_array_equal(outcome["errors"], expected)
        assert evaluator.resubmitted >= 1
        assert victim.node_id not in evaluator.chunk_nodes
        # The next generation runs on the two nodes left.
        np.testing.assert_array_equal(evaluator.evaluate(genomes[::-1]), expected[::-1])
        assert evaluator.workers == 2


# -- the cluster files ---------------------------------------------------------------------------------------------
def test_compose_file_structure():
    compose = load_compose(COMPOSE_ENV)
    head, worker = compose["services"]["head"], compose["services"]["worker"]
    for service in (head, worker):
        assert service["command"][:2] == ["ray", "start"] and "--block" in service["command"]
        assert service["environment"]["RAY_AUTH_MODE"] == "token"
        assert service["environment"]["RAY_AUTH_TOKEN"] == COMPOSE_ENV["RAY_AUTH_TOKEN"]
        assert re.fullmatch(r"\d+(\.\d+)?[gG][bB]?", str(service["shm_size"]))
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
        assert "container_name" not in service
        assert "work:/home/ray/work" in service["volumes"]  # a sweep's trial folders, seen by every node
    assert "--head" in head["command"] and "--head" not in worker["command"]
    assert "--address=head:6379" in worker["command"] and "--port=6379" in head["command"]
    assert "work" in compose["volumes"]
    assert "ports" not in worker  # `--scale worker=N` must not fight over host ports
    assert head["ports"] and all(port.startswith("127.0.0.1:") for port in head["ports"])
    assert worker["depends_on"]["head"]["condition"] == "service_healthy"
    with pytest.raises(ValueError, match="RAY_AUTH_TOKEN"):  # no silent cluster without a token
        load_compose({})


def test_dockerfile_uses_the_pinned_ray_and_python():
    assert f'"ray=={ray.__version__}"' in (ROOT / "pyproject.toml").read_text()
    base = re.search(r"^FROM\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE).group(1)
    assert base == f"rayproject/ray:{ray.__version__}-py{sys.version_info.major}{sys.version_info.minor}-cpu"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="Debian's docker-compose is not installed")
def test_docker_compose_config_validates():
    done = subprocess.run(["docker-compose", "-f", str(COMPOSE_FILE), "config"], capture_output=True, text=True,
                          env={**os.environ, **COMPOSE_ENV}, timeout=60)
    assert done.returncode == 0, done.stderr
    import yaml

    resolved = yaml.safe_load(done.stdout)["services"]
    ours = load_compose(COMPOSE_ENV)["services"]
    for name in ("head", "worker"):  # the test below runs what docker-compose would run
        assert resolved[name]["command"] == ours[name]["command"]


def _history(path) -> list[dict]:
    import csv

    with open(path, newline="") as handle:
        return [{k: v for k, v in row.items() if k != "wall_seconds"} for row in csv.DictReader(handle)]


def _evolino_args(out, *extra) -> list[str]:
    return [sys.executable, "-m", "evolino", "run", "--task", "mso1", "--cells", "3", "--population", "8",
            "--generations", "3", "--seed", "0", "--quiet", "--out", str(out), *extra]


# The same run as _evolino_args (seeds 0 and 1) as a sweep: its trials run on the cluster's nodes.
SWEEP = """[task]
name = "mso1"
[network]
cells = 3
[optimizer]
population = 8
[stop]
generations = 3
[sweep]
seeds = [0, 1]
"""


def _evolino_run(out, env, *extra):
    return subprocess.run(_evolino_args(out, *extra), env=env, capture_output=True, text=True, timeout=120)


def test_compose_ray_start_commands_on_loopback_run_evolino(tmp_path):
    """The head and worker services' commands, on 127.0.0.1 with token auth; a CLI run joins via the address, and
    the same run submitted as a Ray job (docs/cluster.md) runs on the head and joins with --address auto, and a
    driver joins through the Ray client port (ray://)."""
    token = secrets.token_hex(16)
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    compose = load_compose({"RAY_AUTH_TOKEN": token, "HEAD_CPUS": "1", "WORKER_CPUS": "1"})
    temp_dir = tempfile.mkdtemp(prefix="evr", dir="/tmp")  # short: Ray's unix socket paths must fit in 107 bytes
    commands = loopback_commands(compose, temp_dir, np.random.default_rng())
    head = RayStartProcess(commands["head"], env, tmp_path / "head.log")
    worker = None
    try:
        worker = RayStartProcess(commands["worker"], env, tmp_path / "worker.log")  # waits for the GCS itself
        serial = _evolino_run(tmp_path / "serial", env)  # meanwhile, the reference run
        head.wait_started(90)
        worker.wait_started(90)
        for service, port in zip(("head", "worker"), (commands["dashboard_port"], commands["agent_ports"][1]),
                                 strict=True):
            check = compose["services"][service]["healthcheck"]["test"][1:]
            check = [re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{port}", part) for part in check]
            # Like compose's healthcheck, retry: the dashboard and agent answer a little after "Ray runtime started".
            deadline = time.monotonic() + 60
            while subprocess.run(check, timeout=30, capture_output=True).returncode != 0:
                assert time.monotonic() < deadline, f"{service} health check never passed"
                time.sleep(1)
        address = f"127.0.0.1:{commands['gcs_port']}"
        clustered = _evolino_run(tmp_path / "ray", env, "--backend", "ray", "--address", address)
        client = _evolino_run(tmp_path / "client", env, "--backend", "ray", "--address",
                              f"ray://127.0.0.1:{commands['client_port']}")
        (tmp_path / "sweep.toml").write_text(SWEEP)
        sweep = subprocess.run([sys.executable, "-m", "evolino", "sweep", str(tmp_path / "sweep.toml"), "--out",
                                str(tmp_path / "sweep"), "--address", address], env=env, capture_output=True,
                               text=True, timeout=300)
        no_token = _evolino_run(tmp_path / "denied", {**env, "RAY_AUTH_MODE": "disabled", "RAY_AUTH_TOKEN": ""},
                                "--backend", "ray", "--address", address)
        job = subprocess.run(["ray", "job", "submit", "--address", f"http://127.0.0.1:{commands['dashboard_port']}",
                              "--", *_evolino_args(tmp_path / "job", "--backend", "ray", "--address", "auto")],
                             env=env, capture_output=True, text=True, timeout=180)
    finally:
        for process in (worker, head):
            if process is not None:
                process.stop()
        shutil.rmtree(temp_dir, ignore_errors=True)
    assert serial.returncode == 0, serial.stderr
    assert clustered.returncode == 0, clustered.stderr[-2000:]
    assert job.returncode == 0, (job.stdout + job.stderr)[-2000:]
    assert client.returncode == 0, client.stderr[-2000:]
    names = ("serial", "ray", "job", "client")
    results = [json.loads((tmp_path / name / "result.json").read_text()) for name in names]
    for key in ("fitness", "validation_error", "test_error", "generations", "evaluations"):
        assert len({result[key] for result in results}) == 1, key
    assert all(result["backend"] == "ray" for result in results[1:])
    serial_rows, ray_rows = (_history(tmp_path / name / "history.csv") for name in ("serial", "ray"))
    assert serial_rows == ray_rows and len(serial_rows) == 3  # every error statistic of every generation
    assert sweep.returncode == 0, sweep.stderr[-2000:]
    swept = json.loads((tmp_path / "sweep" / "trials" / "trial_0000" / "result.json").read_text())
    assert {key: swept[key] for key in ("fitness", "validation_error", "test_error")} == {
        key: results[0][key] for key in ("fitness", "validation_error", "test_error")}  # the serial run's seed 0
    assert "2 of 2 trials finished" in sweep.stdout
    assert no_token.returncode == 2
    assert no_token.stderr.strip().splitlines()[-1].startswith("evolino: error: authentication with the Ray cluster")


def test_losing_the_head_mid_run_ends_the_cli_in_one_line(tmp_path):
    """The compose head (on loopback, with a token, holding the actors) dies mid-run: exit 2 and one evolino line
    that says the cluster was lost and how to resume, no lines of Ray's; resuming while it is still gone says the
    cluster cannot be reached, not that the token is wrong."""
    token = secrets.token_hex(16)
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    compose = load_compose({"RAY_AUTH_TOKEN": token, "HEAD_CPUS": "2"})
    temp_dir = tempfile.mkdtemp(prefix="evh", dir="/tmp")  # short: Ray's unix socket paths must fit in 107 bytes
    commands = loopback_commands(compose, temp_dir, np.random.default_rng())
    address = f"127.0.0.1:{commands['gcs_port']}"
    out = tmp_path / "run"
    head = RayStartProcess(commands["head"], env, tmp_path / "head.log")
    run = None
    try:
        head.wait_started(90)
        run = subprocess.Popen(_evolino_args(out, "--backend", "ray", "--address", address, "--generations",
                                             "1000000", "--checkpoint-every", "1"),
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not list((out / "checkpoints").glob("*")) and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)  # until it evolves on the cluster
        assert run.poll() is None and list((out / "checkpoints").glob("*")), "the run did not get going"
        head.stop()
        head = None
        _, stderr = run.communicate(timeout=90)  # well before Ray's driver would exit on its own (60 s)
    finally:
        if run is not None and run.poll() is None:
            run.kill()
            run.communicate()
        if head is not None:
            head.stop()
        shutil.rmtree(temp_dir, ignore_errors=True)
    assert run.returncode == 2, stderr[-2000:]
    (line,) = stderr.strip().splitlines()
    assert line.startswith("evolino: error: lost the Ray cluster (") and "python -m evolino resume DIR" in line
    assert "authentication" not in line
    resumed = subprocess.run([sys.executable, "-m", "evolino", "resume", str(out), "--quiet"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 2
    assert resumed.stderr.strip().splitlines()[-1] == (f"evolino: error: cannot reach a Ray cluster at {address}: "
                                                       "Connection refused")
