"""The long time-lag experiments read Evolino's output from the cells at the scored step only.

A task scored at its last step alone is a label per sequence, for which evolino's default readout also reads the mean
and max of the cells over the sequence; the mean is an integrator outside the network, which answers the adding
problem at any lag. experiments/long_lag.py and the adding problem of experiments/optimizer_benchmark.py must hold
the readout to the last step, as the Evolino paper's readout and the BPTT and ESN baselines do."""

import pytest

import evolino
from evolino.labels import default_pool
from tests.experiment_scripts import load_experiment

TINY_ADDING = {"steps": 10, "train": 8, "validation": 4, "test": 8}


@pytest.fixture
def fitted(monkeypatch):
    """The estimators the experiment scripts fit, in order."""
    made = []

    class Recorded(evolino.Evolino):
        def fit(self, *args, **kwargs):
            made.append(self)
            return super().fit(*args, **kwargs)

    monkeypatch.setattr(evolino, "Evolino", Recorded)
    return made


def test_the_adding_problem_is_a_label_per_sequence_whose_default_readout_pools():
    # Without this the tests below would pass for the wrong reason.
    assert default_pool(evolino.make_task("adding", **TINY_ADDING)) != "last"


def test_long_lag_evolino_reads_the_cells_at_the_last_step(fitted):
    long_lag = load_experiment("long_lag")
    row = long_lag.run_evolino("adding", 0, TINY_ADDING, dict(cells=2, init_scale=1.0, generations=2))
    assert row["settings"]["readout_pool"] == "last"
    assert [e.model_.spec.readout_pool for e in fitted] == ["last"]


def test_optimizer_benchmark_adding_reads_the_cells_at_the_last_step(fitted, tmp_path):
    bench = load_experiment("optimizer_benchmark")
    spec = {**bench.TASKS["adding"], "options": TINY_ADDING}
    bench.run_one(spec, "cma", {}, 0, evaluations=8, population=4, marks=(1.0,), folder=tmp_path / "run")
    assert [e.model_.spec.readout_pool for e in fitted] == ["last"]
