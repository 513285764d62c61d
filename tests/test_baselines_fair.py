"""Equal care for the baselines (issue 27): the BPTT LSTM on MSO chooses its setting on validation only, is refitted
on train + validation and reads the test part once; every method of a table runs on the same seeds; the generated
tables hold only this repository's measurements and the papers' figures."""

import sys
from types import SimpleNamespace

import pytest

from tests.experiment_scripts import ROOT, load_experiment


@pytest.fixture(scope="module")
def baselines():
    return load_experiment("baselines")


class FakeBPTT:
    """Stands in for BPTTLSTM: records every fit; the validation error is a function of the setting, the test error
    is reported only where the task has a test part."""

    fits: list[dict] = []

    def __init__(self, **params):
        self.params = params

    def fit(self, task, refit=False):
        FakeBPTT.fits.append({"params": self.params, "has_test": bool(task.test), "refit": refit})
        validation = float("nan") if refit else 1.0 / (self.params["learning_rate"] * self.params["iterations"]) \
            + self.params["forget_bias"]
        test = 0.5 if task.test else float("nan")
        self.result_ = SimpleNamespace(validation_error=validation, test_error=test)
        return self


def test_bptt_on_mso_chooses_on_validation_refits_on_train_and_validation_and_tests_once(baselines, monkeypatch):
    FakeBPTT.fits = []
    monkeypatch.setattr(baselines, "BPTTLSTM", FakeBPTT)
    grid = {"learning_rate": (1e-3, 1e-2), "forget_bias": (0.0, 2.0), "iterations": (10, 20), "feedback_scale": (0.1,)}
    found = baselines.bptt_run("mso2", cells=3, seed=7, grid=grid)
    search, final = FakeBPTT.fits[:-1], FakeBPTT.fits[-1]
    assert len(search) == 8 and found["settings"] == 8 and found["adam_steps"] == 4 * (10 + 20)
    # the search never sees the test part; the one refit does, with the setting of the lowest validation error
    assert not any(f["has_test"] or f["refit"] for f in search)
    best = {"learning_rate": 1e-2, "forget_bias": 0.0, "iterations": 20, "feedback_scale": 0.1}
    assert final == {"params": {"cells": 3, "random_state": 7, **best}, "has_test": True, "refit": True}
    assert sum(f["has_test"] for f in FakeBPTT.fits) == 1
    assert found["chosen"] == best and found["validation_error"] == pytest.approx(1 / (1e-2 * 20))
    assert found["test_error"] == 0.5


def test_bptt_grid_is_a_real_search_of_learning_rate_forget_bias_and_steps(baselines):
    grid = baselines.BPTT_GRID
    assert {"learning_rate", "forget_bias", "iterations"} <= set(grid)
    assert all(len(grid[key]) > 1 for key in ("learning_rate", "forget_bias", "iterations"))
    settings = baselines.grid_settings(grid)
    assert len(settings) == 12 and sum(s["iterations"] for s in settings) == 12_000  # Evolino: 300 x 40 evaluations


def test_bptt_run_on_a_tiny_grid_for_real(baselines):
    grid = {"learning_rate": (1e-2,), "forget_bias": (0.0,), "iterations": (2, 1), "feedback_scale": (0.1,)}
    found = baselines.bptt_run("mso2", cells=2, seed=0, grid=grid)
    assert found["settings"] == 2 and found["chosen"]["iterations"] in (1, 2)
    assert found["validation_error"] == min(s["validation_error"] for s in found["search"])
    assert found["test_error"] is not None


def test_long_lag_defaults_give_every_method_the_same_seeds(monkeypatch, tmp_path):
    long_lag = load_experiment("long_lag")
    runs = []

    def fake(method):
        def run(name, seed, *args, **kwargs):
            runs.append((method, name, seed))
            return {"method": method, "solved": 1.0, "test_error": 0.0, "validation_error": 0.0, "seconds": 0.0}
        return run

    for method in ("evolino", "bptt", "esn"):
        monkeypatch.setattr(long_lag, f"run_{method}", fake(method))
    monkeypatch.setattr(long_lag, "write_results", lambda *args, **kwargs: None)
    monkeypatch.setattr(sys, "argv", ["long_lag.py", "--out", str(tmp_path / "long_lag.json")])
    long_lag.main()
    for name in long_lag.SETTINGS:
        seeds = {method: sorted(seed for m, n, seed in runs if m == method and n == name)
                 for method in ("evolino", "bptt", "esn")}
        assert seeds["evolino"] == [0, 1, 2, 3, 4] and seeds["bptt"] == seeds["esn"] == seeds["evolino"], name


def test_sines5_defaults_to_the_seeds_of_the_mso_table_and_the_esn_search():
    import re

    def default_seeds(name):
        text = (ROOT / "experiments" / f"{name}.py").read_text()
        return re.search(r'"--seeds", type=int, nargs="\+", default=(\[[0-9, ]+\])', text).group(1)

    assert default_seeds("sines5") == default_seeds("mso") == default_seeds("esn_baseline") == "[0, 1, 2]"


def test_generated_tables_have_no_pybrain_column():
    tables = load_experiment("tables")
    texts = [tables.readme_results(), tables.reproducing_mso()]
    headers = [line for text in texts for line in text.splitlines() if line.startswith("|")]
    assert headers and not [line for line in headers if "pybrain" in line.lower()]
    # the scripts hold only the Evolino paper's figures (cells, figure), not ones measured outside this repository
    assert all(len(v) == 2 for v in load_experiment("mso").PUBLISHED.values())
    assert all(set(v) == {"paper"} for v in load_experiment("sines5").PUBLISHED.values())
