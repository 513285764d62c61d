"""The shared-memory population file the Ray backend hands to actors on the driver's host."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from evolino.backends.shared_population import SharedPopulation, SharedRowsReader, remove_orphans


@pytest.fixture
def shared(tmp_path):
    population = SharedPopulation(str(tmp_path))
    yield population
    population.close()


def test_rows_read_back_bit_for_bit(shared):
    genomes = np.random.default_rng(0).normal(size=(9, 5))
    genomes[3, 1] = np.nan
    path = shared.write(genomes)
    reader = SharedRowsReader()
    assert reader.can_see(path)
    for start, stop in [(0, 9), (2, 5), (8, 9)]:
        rows = reader.rows(path, start, stop)
        assert rows.shape == (stop - start, 5) and not rows.flags.writeable
        assert rows.tobytes() == genomes[start:stop].tobytes()


def test_a_smaller_population_reuses_the_file_and_a_larger_one_replaces_it(shared):
    rng = np.random.default_rng(1)
    first = shared.write(rng.normal(size=(8, 3)))
    smaller = rng.normal(size=(5, 3))
    assert shared.write(smaller) == first
    reader = SharedRowsReader()
    np.testing.assert_array_equal(reader.rows(first, 0, 5), smaller)
    larger = rng.normal(size=(12, 3))
    second = shared.write(larger)
    assert second != first and not os.path.exists(first)  # the old file is removed
    np.testing.assert_array_equal(reader.rows(second, 0, 12), larger)  # the reader follows the new path
    wider = rng.normal(size=(2, 4))
    np.testing.assert_array_equal(reader.rows(shared.write(wider), 0, 2), wider)


def test_close_removes_the_file(shared):
    path = shared.write(np.ones((2, 2)))
    shared.close()
    assert not os.path.exists(path) and not shared.available
    assert not SharedRowsReader.can_see(path) and not SharedRowsReader.can_see(None)


def test_no_shared_memory_directory_means_unavailable(tmp_path):
    population = SharedPopulation(str(tmp_path / "missing"))
    assert not population.available and population.path is None


def test_a_full_shared_memory_falls_back_instead_of_crashing(shared, monkeypatch):
    """A mapped page that tmpfs cannot back would kill the process (SIGBUS): pages are reserved up front, and a
    reservation that fails turns shared memory off, so the evaluator sends chunks with their tasks."""
    first = shared.write(np.ones((2, 3)))

    def no_space(fd, offset, length):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", no_space)
    assert shared.write(np.ones((2, 3))) == first  # fits the reserved file: no new allocation
    assert shared.write(np.ones((50, 3))) is None  # needs a bigger file: none can be reserved
    assert not shared.available and not os.path.exists(first)
    assert shared.write(np.ones((1, 3))) is None  # and it does not try again
    assert not [name for name in os.listdir(shared.directory) if name.startswith("evolino-population-")]


def test_files_of_killed_drivers_are_removed_and_live_ones_kept(tmp_path):
    killed = subprocess.run(
        [sys.executable, "-c", "import os, signal, sys, numpy as np\n"
         "from evolino.backends.shared_population import SharedPopulation\n"
         f"population = SharedPopulation({str(tmp_path)!r})\n"
         "print(population.write(np.ones((4, 3))), flush=True)\n"
         "os.kill(os.getpid(), signal.SIGKILL)\n"],
        capture_output=True, text=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL
    orphan = killed.stdout.strip()
    assert os.path.exists(orphan)  # kill -9 ran no clean-up
    live = SharedPopulation(str(tmp_path))  # sweeps on start
    try:
        assert not os.path.exists(orphan)
        other = SharedPopulation(str(tmp_path))  # a second driver in this process keeps the first one's file
        assert os.path.exists(live.path) and os.path.exists(other.path)
        assert remove_orphans(str(tmp_path)) == []
        other.close()
    finally:
        live.close()
    assert os.listdir(tmp_path) == []
