"""The examples of the docs run, and print what the docs say they print."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _python_block(page: str, after: str) -> str:
    text = (ROOT / "docs" / page).read_text()
    return text.split(after, 1)[1].split("```python", 1)[1].split("```", 1)[0]


@pytest.mark.slow
def test_the_sequence_classification_example_of_your_data_md():
    namespace = {}
    exec(_python_block("your-data.md", "### Targets at chosen steps"), namespace)  # noqa: S102 (our own docs)
    result = namespace["result"]
    assert round(result.test_scores["accuracy"], 3) == 0.987  # as the page says
    assert round(result.baselines["linear"]["test_error"], 3) == 0.166 and result.baselines["linear"]["order"] == 6
    assert round(result.baselines["mean"]["test_error"], 2) == 0.25
    assert result.test_error < result.baselines["linear"]["test_error"] / 4


def test_the_real_series_experiment_runs_the_command_line_on_a_statsmodels_series(tmp_path):
    pytest.importorskip("statsmodels")
    out, table, figure = tmp_path / "r.json", tmp_path / "t.md", tmp_path / "f.png"
    proc = subprocess.run([sys.executable, str(ROOT / "experiments" / "real_series.py"), "--series", "sunspots",
                           "--seeds", "0", "--generations", "3", "--out", str(out), "--table", str(table),
                           "--figure", str(figure)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(out.read_text())
    (row,) = results["rows"]
    assert row["series"] == "sunspots" and row["steps"] == 309 and row["generations"] == 3
    # the linear model one step ahead beats its own 46-year free run, which beats the training mean
    assert row["ar_one_step"] < row["ar_free_run"] < row["mean"]
    assert results["meta"]["command"].startswith("python experiments/real_series.py --series sunspots")
    assert "| sunspots | 309 |" in table.read_text() and figure.read_bytes().startswith(b"\x89PNG")


def test_the_python_example_of_forecasting_md():
    pytest.importorskip("statsmodels")
    namespace = {}
    exec(_python_block("forecasting.md", "## From Python"), namespace)  # noqa: S102 (our own docs)
    result, forecast = namespace["result"], namespace["forecast"]
    assert namespace["task"].info["time"]["column"] == "year" and namespace["task"].n_outputs == 1
    assert result.final in ("linear", "network") and 0 <= result.interval["coverage"] <= 1
    if result.final == "linear":
        assert result.test_error == result.baselines["ar"]["test_error"]
    lower, upper = namespace["lower"], namespace["upper"]
    assert forecast.shape == (10, 1) and (lower <= forecast).all() and (forecast <= upper).all()


def _python_blocks(path: Path) -> list[str]:
    text = path.read_text()
    return [block.split("```", 1)[0] for block in text.split("```python")[1:]]


@pytest.mark.parametrize("index", range(len(_python_blocks(ROOT / "README.md"))))
def test_every_python_snippet_of_the_readme_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # snippets may write files (a saved model)
    exec(_python_blocks(ROOT / "README.md")[index], {})  # noqa: S102 (our own docs)
