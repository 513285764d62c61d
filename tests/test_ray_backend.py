"""The Ray backend on one machine: chunking, bit-identical errors, address handling, one-line cluster errors."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from evolino.backends import make_evaluator  # noqa: E402
from evolino.backends.ray import RayEvaluator, chunk_bounds, parse_address  # noqa: E402
from evolino.errors import ClusterError  # noqa: E402
from tests.ray_fixtures import free_port, population, small_problem  # noqa: E402


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
    for options in ({"workers": 0}, {"chunks_per_worker": 1.5}, {"connect_timeout": -1}, {"num_cpus": 0}):
        with pytest.raises(ValueError):
            RayEvaluator(local_ray.problem, **options)
    with pytest.raises(ValueError, match="shape"):
        local_ray.evaluate(np.zeros(local_ray.problem.dimension))


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
    from evolino.backends import ray as backend

    calls = []

    def fake_init(**kwargs):
        calls.append((kwargs, os.environ.get("RAY_AUTH_MODE")))
        raise RuntimeError("stop here")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", fake_init)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    with pytest.raises(ClusterError, match="stop here"):
        backend.connect(None, timeout=5.0, num_cpus=3)
    (kwargs, auth_mode), = calls
    assert kwargs["address"] == "local" and kwargs["num_cpus"] == 3 and kwargs["include_dashboard"] is False
    assert auth_mode == "disabled"
    with pytest.raises(ClusterError, match="num_cpus"):
        backend.connect("10.1.2.3:6379", timeout=5.0, num_cpus=3)


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
