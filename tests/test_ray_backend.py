"""The Ray backend on one machine: chunking, bit-identical errors, address handling, one-line cluster errors, hung
and lost actors, a lost cluster, a loopback-only local Ray and the environment left as it was."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from evolino.backends import make_evaluator  # noqa: E402
from evolino.backends import ray as backend  # noqa: E402
from evolino.backends import ray_cluster as cluster  # noqa: E402
from evolino.backends.ray import ChunkDeadline, RayEvaluator, chunk_bounds, parse_address  # noqa: E402
from evolino.errors import ClusterError  # noqa: E402
from tests.ray_fixtures import (  # noqa: E402
    ROOT,
    HangOnce,
    SlowProblem,
    free_port,
    is_loopback,
    population,
    ship_by_value,
    small_problem,
)


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module, started the way `--backend ray` starts it (no address), holding 2 actors.

    It declares 5 CPUs so that the other tests' evaluators find CPUs for their actors next to these two.
    """
    if ray.is_initialized():
        ray.shutdown()
    evaluator = RayEvaluator(small_problem(), workers=2, num_cpus=5)
    yield evaluator
    evaluator.close()
    assert not ray.is_initialized()  # the evaluator that started Ray stops it


@pytest.mark.parametrize("n, chunks", [(1, 1), (1, 4), (7, 3), (10, 10), (13, 4), (200, 8), (5, 12)])
def test_chunk_bounds_cover_the_population_in_order(n, chunks):
    bounds = chunk_bounds(n, chunks)
    covered = [i for start, stop in bounds for i in range(start, stop)]
    assert covered == list(range(n))
    sizes = [stop - start for start, stop in bounds]
    assert len(bounds) == min(n, chunks) and min(sizes) >= 1 and max(sizes) - min(sizes) <= 1


def test_addresses_are_parsed_or_rejected_in_one_line():
    assert parse_address(None) == (None, None)
    assert parse_address("auto") == ("auto", None)
    assert parse_address("10.0.0.5:6379") == ("10.0.0.5:6379", ("10.0.0.5", 6379))
    assert parse_address("ray://head:10001") == ("ray://head:10001", ("head", 10001))
    for bad in ("http://127.0.0.1:8265", "head", "head:port", "head:0", ":6379", "head:70000"):
        with pytest.raises(ClusterError) as info:
            parse_address(bad)
        assert "\n" not in str(info.value) and repr(bad) in str(info.value)


LOCAL_RAY_SCRIPT = """
import json, os
import numpy as np
from evolino.backends.ray import RayEvaluator
from tests.ray_fixtures import descendants, listening_addresses, population, small_problem

names = ("RAY_AUTH_MODE", "RAY_USAGE_STATS_ENABLED")
problem = small_problem(cells=2)
genomes = population(problem, 6, seed=1)
with RayEvaluator(problem, workers=1, num_cpus=1) as evaluator:
    during = {name: os.environ.get(name) for name in names}
    same = bool(np.array_equal(evaluator.evaluate(genomes), problem.evaluate(genomes)))
    addresses = sorted(listening_addresses([os.getpid(), *descendants(os.getpid())]))
after = {name: os.environ.get(name) for name in names}
print(json.dumps({"during": during, "after": after, "same": same, "addresses": addresses}))
"""


@pytest.mark.slow
def test_a_local_ray_listens_on_loopback_only_and_leaves_the_environment_as_it_was():
    """Runs in a fresh process (before this module's Ray starts): the backend starts its own local Ray there."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("RAY_AUTH_MODE", "RAY_USAGE_STATS_ENABLED", "RAY_ADDRESS")}
    done = subprocess.run([sys.executable, "-c", LOCAL_RAY_SCRIPT], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["same"]
    assert report["during"] == {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    assert report["after"] == {"RAY_AUTH_MODE": None, "RAY_USAGE_STATS_ENABLED": None}
    # The GCS, the raylet, the agents, the actor and the driver all listen, and only on 127.0.0.1.
    assert report["addresses"] and all(is_loopback(address) for address in report["addresses"]), report


def test_only_the_variables_the_backend_set_are_removed(monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # the user's own choice stays
    monkeypatch.delenv("RAY_USAGE_STATS_ENABLED", raising=False)
    changed = cluster.set_auth_environment(starting_local=True)
    assert changed == {"RAY_USAGE_STATS_ENABLED": "0"} and os.environ["RAY_USAGE_STATS_ENABLED"] == "0"
    cluster.restore_environment(changed)
    assert os.environ["RAY_AUTH_MODE"] == "disabled" and "RAY_USAGE_STATS_ENABLED" not in os.environ
    monkeypatch.delenv("RAY_AUTH_MODE")
    monkeypatch.setenv("RAY_AUTH_TOKEN", "secret")
    changed = cluster.set_auth_environment(starting_local=False)
    assert changed["RAY_AUTH_MODE"] == "token"
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # changed by someone else meanwhile: theirs now
    cluster.restore_environment(changed)
    assert os.environ["RAY_AUTH_MODE"] == "disabled"


def test_chunk_deadlines_follow_the_median_chunk_with_a_floor():
    fixed = ChunkDeadline(5.0)
    assert [fixed.seconds(100, attempt) for attempt in range(3)] == [5.0, 10.0, 20.0]
    auto = ChunkDeadline()
    assert auto.seconds(10_000) == backend.CHUNK_TIMEOUT_FLOOR  # nothing measured yet
    for seconds, genomes in ((1.0, 10), (1.2, 10), (0.8, 10), (50.0, 10)):  # one slow outlier
        auto.record(seconds, genomes)
    median = 0.11  # seconds per genome: the median of 0.08, 0.1, 0.12, 5.0
    assert auto.seconds(5000) == pytest.approx(backend.CHUNK_TIMEOUT_FACTOR * median * 5000)
    assert auto.seconds(5000, attempt=1) == pytest.approx(2 * backend.CHUNK_TIMEOUT_FACTOR * median * 5000)
    assert auto.seconds(10) == backend.CHUNK_TIMEOUT_FLOOR  # small chunks keep the floor


def test_the_cluster_watch_tells_a_lost_gcs_from_a_live_one():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        live = cluster.ClusterWatch(server.getsockname(), lost_after=0.0, period=0.0)
        for _ in range(3):
            live.check()
        assert not live.lost
    gone = cluster.ClusterWatch(("127.0.0.1", free_port()), lost_after=0.3, period=0.0)
    gone.check()  # the first refusal starts the clock
    assert not gone.lost
    time.sleep(0.35)
    with pytest.raises(ClusterError) as info:
        gone.check()
    message = str(info.value)
    assert gone.lost and "\n" not in message and "authentication" not in message and "token" not in message
    assert message.startswith("lost the Ray cluster (127.0.0.1:") and "python -m evolino resume DIR" in message


def test_local_ray_matches_serial_bit_for_bit(local_ray):
    problem = local_ray.problem
    genomes = population(problem, 23, seed=0)
    expected = problem.evaluate(genomes)
    assert np.isinf(expected[1]) and np.isfinite(expected[0])
    for _ in range(2):  # actors are reused across generations
        got = local_ray.evaluate(genomes)
        np.testing.assert_array_equal(got, expected)
    assert local_ray.workers == 2 and local_ray.chunks_per_actor() == 1  # one node: nothing to balance
    assert len(local_ray.chunk_nodes) == 2
    assert local_ray.shared_memory_workers == 2  # actors on the driver's host read the shared population file


@pytest.mark.slow
def test_chunks_sent_with_their_tasks_give_the_same_errors(local_ray):
    problem = local_ray.problem
    genomes = population(problem, 17, seed=4)
    with RayEvaluator(problem, workers=2, chunks_per_worker=2, shared_memory=False) as evaluator:
        assert evaluator.shared_memory_workers == 0
        np.testing.assert_array_equal(evaluator.evaluate(genomes), problem.evaluate(genomes))


@pytest.mark.parametrize("chunks_per_worker, n", [(1, 9), (3, 7), (7, 40)])
def test_any_chunking_gives_the_serial_errors(local_ray, chunks_per_worker, n):
    problem = local_ray.problem
    genomes = population(problem, n, seed=n)
    local_ray.chunks_per_worker = chunks_per_worker
    try:
        got = local_ray.evaluate(genomes)
    finally:
        local_ray.chunks_per_worker = None
    assert len(local_ray.chunk_nodes) == min(n, 2 * chunks_per_worker)
    np.testing.assert_array_equal(got, problem.evaluate(genomes))


@pytest.mark.slow
def test_one_worker_joining_the_running_ray_gives_the_serial_errors(local_ray):
    problem = small_problem(cells=2)
    genomes = population(problem, 11, seed=5)
    with make_evaluator("ray", problem, workers=1, chunks_per_worker=3) as evaluator:
        got = evaluator.evaluate(genomes)
        assert evaluator.workers == 1 and len(evaluator.chunk_nodes) == 3
    np.testing.assert_array_equal(got, problem.evaluate(genomes))
    assert ray.is_initialized()  # an evaluator that joined a running Ray leaves it running


def test_reassembly_follows_population_order(local_ray):
    problem = local_ray.problem
    genomes = population(problem, 16, seed=3)
    order = np.random.default_rng(1).permutation(16)
    np.testing.assert_array_equal(local_ray.evaluate(genomes[order]), local_ray.evaluate(genomes)[order])


def test_bad_options_are_value_errors(local_ray):
    for options in ({"workers": 0}, {"chunks_per_worker": 1.5}, {"connect_timeout": -1}, {"num_cpus": 0},
                    {"chunk_timeout": 0}, {"chunk_timeout": float("nan")}, {"ready_timeout": True}):
        with pytest.raises(ValueError):
            RayEvaluator(local_ray.problem, **options)
    with pytest.raises(ValueError, match="shape"):
        local_ray.evaluate(np.zeros(local_ray.problem.dimension))


def _evaluate_in_thread(evaluator, genomes) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["errors"] = evaluator.evaluate(genomes)
        except BaseException as exc:  # noqa: BLE001  (handed to the test)
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


@pytest.mark.slow
def test_a_hung_actor_is_killed_and_its_chunk_rerun_with_the_serial_errors(local_ray, tmp_path):
    ship_by_value()
    problem = small_problem(cells=2)
    genomes = population(problem, 10, seed=8)
    expected = problem.evaluate(genomes)
    hanging = HangOnce(problem, str(tmp_path))
    with RayEvaluator(hanging, workers=2, chunk_timeout=4.0) as evaluator:
        np.testing.assert_array_equal(evaluator.evaluate(genomes), expected)  # not armed yet: warms both actors up
        assert evaluator.hung == 0
        hanging.arm()
        thread, outcome = _evaluate_in_thread(evaluator, genomes)
        thread.join(timeout=90)  # the hung chunk sleeps 600 s
        assert not thread.is_alive(), "a hung actor stalled the evaluation"
        assert hanging.hung and "error" not in outcome, outcome.get("error")
        np.testing.assert_array_equal(outcome["errors"], expected)
        assert evaluator.hung == 1 and evaluator.resubmitted >= 1
        np.testing.assert_array_equal(evaluator.evaluate(genomes[::-1]), expected[::-1])  # and the run goes on


def _fit(backend: str, callbacks=(), **options):
    import evolino

    return evolino.Evolino(cells=2, population=8, generations=3, seed=0, backend=backend,
                           backend_options=options or None).fit(evolino.make_task("mso1"), callbacks=callbacks).result_


def _assert_same_run(result, reference) -> None:
    def history(run) -> list[dict]:
        return [{key: value for key, value in row.items() if "wall" not in key} for row in run.history]

    assert history(result) == history(reference) and len(reference.history) == 3
    assert result.validation_error == reference.validation_error
    np.testing.assert_array_equal(result.model.genome, reference.model.genome)


@pytest.mark.slow
def test_a_run_whose_first_chunk_hangs_finishes_with_the_serial_result(local_ray, tmp_path, monkeypatch):
    """Evolino.fit on the Ray backend, one actor hanging on the very first chunk: the serial run's history."""
    from evolino import trainer

    ship_by_value()
    hanging = []

    def hanging_evaluator(name, problem, **options):
        hanging.append(HangOnce(problem, str(tmp_path)))
        hanging[0].arm()
        return RayEvaluator(hanging[0], **options)

    serial = _fit("serial")
    monkeypatch.setattr(trainer, "make_evaluator", hanging_evaluator)
    clustered = _fit("ray", workers=2, chunk_timeout=5.0)
    assert hanging[0].hung
    _assert_same_run(clustered, serial)


@pytest.mark.slow
def test_a_one_worker_run_survives_the_loss_of_its_actor(local_ray, monkeypatch):
    """Evolino.fit with one Ray worker whose actor is killed after the first generation: the serial run."""
    from evolino import trainer

    evaluators = []
    killed = []

    def recording_evaluator(name, problem, **options):
        evaluators.append(RayEvaluator(problem, **options))
        return evaluators[0]

    def kill_after_the_first_generation(row: dict) -> None:
        if not killed:
            killed.extend(evaluators[0]._actors)
            ray.kill(killed[0], no_restart=True)

    serial = _fit("serial")
    monkeypatch.setattr(trainer, "make_evaluator", recording_evaluator)
    clustered = _fit("ray", callbacks=[kill_after_the_first_generation], workers=1)
    assert killed and evaluators[0].resubmitted >= 1
    _assert_same_run(clustered, serial)


@pytest.mark.slow
def test_one_worker_survives_the_loss_of_its_actor(local_ray):
    ship_by_value()
    problem = small_problem(cells=2)
    genomes = population(problem, 9, seed=9)
    expected = problem.evaluate(genomes)
    with RayEvaluator(SlowProblem(problem, 1.0), workers=1, chunks_per_worker=2) as evaluator:
        (victim,) = evaluator._actors
        thread, outcome = _evaluate_in_thread(evaluator, genomes)
        time.sleep(0.5)  # the actor is in its first 1 s chunk
        ray.kill(victim, no_restart=True)
        thread.join(timeout=120)
        assert not thread.is_alive()
        assert "error" not in outcome, outcome.get("error")
        np.testing.assert_array_equal(outcome["errors"], expected)
        assert evaluator.resubmitted >= 1 and evaluator.workers == 1 and evaluator._actors[0] != victim
        np.testing.assert_array_equal(evaluator.evaluate(genomes), expected)


@pytest.mark.slow
def test_a_lost_cluster_ends_the_evaluation_in_one_line(local_ray):
    """The GCS endpoint stops answering while a chunk runs: one ClusterError line saying how to resume."""
    ship_by_value()
    problem = small_problem(cells=2)
    evaluator = RayEvaluator(SlowProblem(problem, 3.0), workers=1)
    actors = list(evaluator._actors)
    evaluator._watch = cluster.ClusterWatch(("127.0.0.1", free_port()), lost_after=0.5, period=0.0)
    try:
        with pytest.raises(ClusterError) as info:
            evaluator.evaluate(population(problem, 4, seed=2))
        message = str(info.value)
        assert message.startswith("lost the Ray cluster") and "\n" not in message
        assert "python -m evolino resume DIR" in message and "authentication" not in message
        evaluator.close()  # without waiting for a GCS that is gone: it does not kill the actors
        assert ray.get(actors[0].locate.remote(None), timeout=30)  # still there; this test's Ray is alive
    finally:
        for actor in actors:
            ray.kill(actor, no_restart=True)


def test_unreachable_ray_address_env_fails_in_one_line_fast(tmp_path):
    """RAY_ADDRESS is honoured without --address; nothing listening -> exit 2, one line, well under 30 s."""
    port = free_port()
    env = {**os.environ, "RAY_ADDRESS": f"127.0.0.1:{port}"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "evolino", "run", "--backend", "ray", "--task", "mso1",
                           "--cells", "2", "--generations", "1", "--out", str(tmp_path / "run")],
                          env=env, capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("evolino:")]
    assert lines == [f"evolino: error: cannot reach a Ray cluster at 127.0.0.1:{port}: Connection refused"]
    assert elapsed < 30
    assert not (tmp_path / "run" / "result.json").exists()


def test_no_address_starts_a_new_local_ray_with_auth_off(monkeypatch):
    """`--backend ray` alone must not join a `ray start` cluster that happens to run on this machine."""
    from evolino.backends import ray_cluster as cluster

    calls = []

    def fake_init(**kwargs):
        calls.append((kwargs, os.environ.get("RAY_AUTH_MODE")))
        raise RuntimeError("stop here")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", fake_init)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    with pytest.raises(ClusterError, match="stop here"):
        cluster.connect(None, timeout=5.0, num_cpus=3)
    (kwargs, auth_mode), = calls
    assert kwargs["address"] == "local" and kwargs["num_cpus"] == 3 and kwargs["include_dashboard"] is False
    assert kwargs["_node_ip_address"] == "127.0.0.1"
    assert auth_mode == "disabled" and "RAY_AUTH_MODE" not in os.environ  # set for ray.init, removed on failure
    with pytest.raises(ClusterError, match="num_cpus"):
        cluster.connect("10.1.2.3:6379", timeout=5.0, num_cpus=3)


def test_unknown_ray_option_is_a_one_line_value_error():
    with pytest.raises(ValueError, match=r"unknown option\(s\) of the ray backend: chunk_size; known: address"):
        make_evaluator("ray", small_problem(), chunk_size=3)


def test_a_problem_that_cannot_load_on_the_workers_fails_in_one_line_at_once(local_ray):
    def fail_to_load():
        raise ModuleNotFoundError("No module named 'my_missing_task_module'")

    class Unloadable:
        def __reduce__(self):
            return fail_to_load, ()

        def evaluate(self, genomes):
            return np.zeros(len(genomes))

    started = time.monotonic()
    with pytest.raises(ClusterError) as info:
        RayEvaluator(Unloadable(), workers=1)
    assert time.monotonic() - started < 20  # not the 60 s ready timeout
    message = str(info.value)
    assert "\n" not in message and "my_missing_task_module" in message
