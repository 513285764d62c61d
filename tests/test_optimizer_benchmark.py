"""experiments/optimizer_benchmark.py: its line-up and settings, its smoke run, the table experiments/tables.py makes
of its results and the figure its ``plot`` draws from them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.experiment_scripts import load_experiment

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("evosax")
pytest.importorskip("nevergrad")


def test_the_line_up_has_twelve_optimizers_or_more_on_the_four_tasks_with_three_settings_each():
    bench = load_experiment("optimizer_benchmark")
    from evolino.optimizers import check_name

    assert set(bench.TASKS) == {"mso2", "mso3", "adding", "anbncn"}
    assert {(t, bench.TASKS[t]["cells"]) for t in bench.TASKS} == {("mso2", 10), ("mso3", 15), ("adding", 4),
                                                                     ("anbncn", 8)}
    assert len(bench.OPTIMIZERS) >= 12
    assert {"cma", "sep-cma", "esp", "es", "ga", "guess"} <= set(bench.OPTIMIZERS)
    assert {bench.family(label) for label in bench.OPTIMIZERS} == {"evolino", "evosax", "nevergrad"}
    for label in bench.OPTIMIZERS:
        check_name(bench.OPTIMIZERS[label][0])
        for task in bench.TASKS.values():
            settings = bench.settings_of(label, task)
            assert len(settings) == 3 and len({json.dumps(s, sort_keys=True) for s in settings}) == 3
    assert bench.settings_of("cma", bench.TASKS["adding"])[1]["sigma0"] == bench.TASKS["adding"]["init_scale"]


def test_a_failed_run_counts_as_infinite_from_its_failure_on():
    bench = load_experiment("optimizer_benchmark")
    runs = [{"test_error": 1e-3, "validation_error": 1e-3, "seconds": 2.0,
             "curve": [{"evaluations": 10, "test_error": 1e-2}, {"evaluations": 20, "test_error": 1e-3}]},
            {"test_error": None, "validation_error": None, "seconds": None, "failed": "boom",
             "curve": [{"evaluations": 10, "test_error": 2e-2}]}]
    summary = bench.summarize(bench.TASKS["mso2"], runs)
    assert summary["failed"] == 1 and summary["median_seconds"] == 2.0 and summary["max_test_error"] is None
    assert [c["evaluations"] for c in summary["curve"]] == [10, 20]
    assert summary["curve"][0]["median"] == pytest.approx(1.5e-2) and summary["curve"][1]["median"] is None


@pytest.mark.slow
def test_smoke_run_table_and_figure(tmp_path):
    out = tmp_path / "smoke.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_AUTH_MODE": "disabled"}
    done = subprocess.run([sys.executable, str(ROOT / "experiments" / "optimizer_benchmark.py"), "--smoke",
                           "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["meta"]["command"].startswith("python experiments/optimizer_benchmark.py")
    assert data["meta"]["libraries"]["evosax"] == "0.3.2"
    entries = data["entries"]
    assert [(e["task"], e["optimizer"]) for e in entries] == [("mso2", "sep-cma"), ("mso2", "evosax:SNES")]
    for entry in entries:
        assert len(entry["tuning"]) == 3
        chosen = min(entry["tuning"], key=lambda t: t["validation_error"])
        assert chosen["options"] == entry["setting"]  # the setting with the lowest validation error
        (run,) = entry["runs"]
        assert [c["evaluations"] for c in run["curve"]] == [16, 40, 80, 160]
        assert np.isfinite(run["test_error"]) and run["curve"][-1]["test_error"] == run["test_error"]
        assert entry["summary"]["median_test_error"] == run["test_error"]
    tables = load_experiment("tables")
    text = tables.optimizer_benchmark_markdown(data)
    assert "**MSO2**: 10 cells, 160 evaluations per run" in text and "| `evosax:SNES` |" in text
    assert "| `sep-cma` | 1 | 1.0 |" in text or "| `sep-cma` | 2 | 2.0 |" in text
    figure = tmp_path / "figure.png"
    done = subprocess.run([sys.executable, str(ROOT / "experiments" / "optimizer_benchmark.py"), "plot",
                           "--results", str(out), "--figure", str(figure)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_committed_results_have_every_optimizer_on_every_task():
    path = ROOT / "experiments" / "results" / "optimizer_benchmark.json"
    if not path.exists():
        pytest.skip("no committed results yet")
    data = json.loads(path.read_text())
    optimizers = {e["optimizer"] for e in data["entries"]}
    assert len(optimizers) >= 12
    for task in ("mso2", "mso3", "adding", "anbncn"):
        mine = {e["optimizer"] for e in data["entries"] if e["task"] == task}
        assert mine == optimizers, task
    assert all(len(e["runs"]) == 5 for e in data["entries"])
    assert (ROOT / "docs" / "images" / "optimizer_benchmark.png").is_file()
