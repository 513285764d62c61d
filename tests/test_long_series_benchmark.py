"""The long-series benchmark runs end to end (its smoke mode: 10^3 rows) and reports every figure."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_long_series_benchmark_smoke(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), RAY_AUTH_MODE="disabled")
    out = tmp_path / "long_series.json"
    done = subprocess.run([sys.executable, "benchmarks/long_series.py", "--smoke", "--out", str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    measured = json.loads(next(line for line in lines if line.startswith("1,000 rows: ")).split(": ", 1)[1])
    run, generation = measured["run"], measured["generation"]
    assert run["setup_seconds"] > 0 and run["finish_seconds"] > 0 and run["peak_rss_mb"] > 0
    assert len(run["generation_seconds"]) == 2 and all(s > 0 for s in run["generation_seconds"])
    assert run["total_seconds"] > run["setup_seconds"] + sum(run["generation_seconds"])
    assert generation["generation_seconds"] > 0 and generation["lags"] == 30
    assert any(line.startswith("| 1,000 |") for line in lines) and any(line.startswith("CPU: ") for line in lines)
    # The results file goes where --out says (the committed one only with --write-results), with the same numbers.
    assert json.loads(out.read_text())["sizes"] == [measured]
