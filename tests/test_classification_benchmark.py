"""experiments/classification_benchmark.py: its catalogue and sets, the CSV it writes, its smoke run (the CLI beside
aeon's 1-NN DTW and ROCKET and sktime's MiniRocket on the archive's split), and the table experiments/tables.py makes
of its results."""

import csv
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.experiment_scripts import load_experiment

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("evolino", "dtw", "rocket", "minirocket", "class_frequency")
# The archive's sizes (channels, shortest and longest length, classes, train, test): www.timeseriesclassification.com
SIZES = {"UnitTest": (1, 24, 24, 2, 20, 22), "ArrowHead": (1, 251, 251, 3, 36, 175),
         "PickupGestureWiimoteZ": (1, 29, 361, 10, 50, 50), "OSULeaf": (1, 427, 427, 6, 200, 242),
         "ACSF1": (1, 1460, 1460, 10, 100, 100), "PLAID": (1, 100, 1344, 11, 537, 537),
         "ItalyPowerDemand": (1, 24, 24, 2, 67, 1029), "GunPoint": (1, 150, 150, 2, 50, 150),
         "BasicMotions": (6, 100, 100, 4, 40, 40), "JapaneseVowels": (12, 7, 29, 9, 270, 370)}


def test_the_catalogue_holds_the_issues_development_sets_and_the_kept_back_sets_apart():
    bench = load_experiment("classification_benchmark")
    names = [s.name for s in bench.CATALOGUE]
    assert len(names) == len(set(names)) == len(SIZES) and set(names) == set(SIZES)
    development = {s.name for s in bench.CATALOGUE if s.set == "development"}
    assert development == {"ArrowHead", "OSULeaf", "ACSF1", "PLAID", "PickupGestureWiimoteZ", "UnitTest"}
    assert {s.set for s in bench.CATALOGUE} == set(bench.SETS)
    assert {s.package for s in bench.CATALOGUE} == {"aeon", "sktime"}
    assert bench.parse_args([]).set == "development"  # the kept-back sets are run only when asked for


def test_every_set_loads_from_the_files_its_package_ships():
    pytest.importorskip("aeon")
    bench = load_experiment("classification_benchmark")
    for entry in bench.CATALOGUE:
        if entry.package == "sktime" and importlib.util.find_spec("sktime") is None:
            continue
        info = bench.describe(bench.load(entry))
        lengths = [n for part in info["lengths"].values() for n in part]
        assert (info["channels"], min(lengths), max(lengths), info["classes"], info["train"], info["test"]) == \
            SIZES[entry.name], entry.name
        assert info["equal_length"] == (min(lengths) == max(lengths))
        assert all(len(f["sha256"]) == 64 for f in info["files"].values())


def test_each_part_is_a_long_csv_of_its_sequences_in_the_archive_order(tmp_path):
    bench = load_experiment("classification_benchmark")
    rng = np.random.default_rng(1)
    x_test = [rng.normal(size=(2, n)) for n in (2, 8, 3)]
    path = tmp_path / "set.csv"
    bench.write_csv(path, x_test, np.array(["c", "a", "c"]), "test")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["id", "c0", "c1", "label"]  # the CLI's default inputs: every column but id and label
    assert list(dict.fromkeys(r["id"] for r in rows)) == ["test0", "test1", "test2"]
    second = [r for r in rows if r["id"] == "test1"]
    assert len(second) == 8 and {r["label"] for r in second} == {"a"}
    assert np.array_equal([[float(r["c0"]), float(r["c1"])] for r in second], x_test[1].T)  # exact (repr)


def test_padding_repeats_the_last_values_and_a_tie_of_classes_counts_as_their_mean():
    bench = load_experiment("classification_benchmark")
    padded = bench.pad_to([np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 6.0, 7.0], [8.0, 9.0, 1.0]])], 4)
    assert padded.shape == (2, 2, 4) and padded[0].tolist() == [[1, 2, 2, 2], [3, 4, 4, 4]]
    archive = bench.Archive([np.zeros((1, 3))] * 4, np.array(["x", "y", "x", "y"]), [np.zeros((1, 3))] * 4,
                            np.array(["x", "x", "x", "y"]), {})
    frequency = bench.class_frequency(archive)
    assert frequency["majority"] == ["x", "y"] and frequency["accuracy"] == pytest.approx(0.5)
    assert frequency["balanced_accuracy"] == pytest.approx(0.5)


@pytest.mark.slow
def test_the_smoke_run_records_every_methods_accuracy(tmp_path):
    for package in ("aeon", "sktime", "sklearn"):
        pytest.importorskip(package)
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "experiments" / "classification_benchmark.py"), "--smoke",
                           "--out", str(out)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(out.read_text())
    assert results["complete"] and results["meta"]["command"].startswith("python experiments/classification_bench")
    assert results["meta"]["packages"]["aeon"] and results["meta"]["packages"]["sktime"]
    (entry,) = results["sets"]
    assert entry["name"] == "UnitTest" and (entry["train"], entry["test"]) == (20, 22)
    assert set(entry["methods"]) == set(METHODS)
    for method in METHODS:
        record = entry["methods"][method]
        assert 0 <= record["accuracy"] <= 1 and 0 <= record["balanced_accuracy"] <= 1, method
        assert method == "class_frequency" or record["seconds"] > 0, method
    (run,) = entry["methods"]["evolino"]["seeds"]
    assert run["seed"] == 0 and run["result"]["generations"] == 2
    assert run["accuracy"] == run["result"]["test_scores"]["accuracy"]
    assert "test_outputs.csv labels" in run["checked"]  # the run tested the archive's test set, in order
    train, validation, test = run["split"]  # evolino's own deal of the archive's training file, stratified
    assert train + validation == 20 and validation >= 2 and test == 22
    assert [r["seed"] for r in entry["methods"]["rocket"]["seeds"]] == [0]
    assert "| UnitTest | 1 | 24 | 2 | 20 / 22 |" in proc.stdout


def _entry(name, set_, evolino, dtw, rocket, minirocket, frequency, padded=False, lengths=(100, 100)):
    def seeded(accuracies, seconds):
        return {"accuracy": float(np.median(accuracies)), "balanced_accuracy": None, "seconds": seconds,
                "seeds": [{"seed": k, "accuracy": a, "seconds": seconds} for k, a in enumerate(accuracies)]}

    return {"name": name, "set": set_, "channels": 1, "classes": 3, "train": 30, "test": 60,
            "lengths": {"train": list(lengths), "test": list(lengths)},
            "methods": {"evolino": seeded(evolino, 120.0), "dtw": {"accuracy": dtw, "seconds": 2.5},
                        "rocket": {**seeded([rocket], 4.0), "padded": padded}, "minirocket": seeded([minirocket], 1.0),
                        "class_frequency": {"accuracy": frequency, "seconds": None}}}


def test_the_table_gives_accuracies_times_and_the_summary_of_each_group():
    tables = load_experiment("tables")
    data = {"complete": True, "protocol": {"seeds": [0, 1, 2], "generations": None}, "sets": [
        _entry("a", "development", [0.90, 0.95, 0.93], 0.96, 0.99, 0.98, 0.34),
        _entry("b", "development", [0.30, 0.30, 0.30], 0.80, 0.85, 0.90, 0.40, padded=True, lengths=(20, 90)),
        _entry("c", "kept-back", [0.70, 0.72, 0.71], 0.70, 0.60, 0.65, 0.50)]}
    text = tables.classification_benchmark_markdown(data)
    assert "| a | 1 | 100 | 3 | 30 / 60 | 93.0 (90.0-95.0) | 96.0 | **99.0** | 98.0 | 34.0 | 120 | 2.5 | 4.0 | 1.0 |" \
        in text
    assert "| b | 1 | 20-90 | 3 | 30 / 60 | 30.0 | 80.0 | 85.0\u2020 | **90.0** | 40.0 |" in text
    assert "| c | 1 | 100 | 3 | 30 / 60 | **71.0** (70.0-72.0) | 70.0 | 60.0 | 65.0 | 50.0 |" in text
    assert text.index("**Development sets** (2)") < text.index("**Kept-back sets** (1)")
    assert "the median of seeds 0, 1, 2" in text and "evolino's default generations" in text
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in text.splitlines()[
        text.splitlines().index("**Summary**"):] if line.startswith("| ") and not line.startswith("| |")]
    summary = {row[0]: row[1:] for row in rows}
    assert summary["evolino: median accuracy"] == ["61.5% (2 sets)", "71.0% (1 set)", "71.0% (3 sets)"]
    assert summary["1-NN DTW: median accuracy"] == ["88.0% (2 sets)", "70.0% (1 set)", "80.0% (3 sets)"]
    assert summary["evolino within 5 points of 1-NN DTW (or above)"] == ["1 of 2: a", "1 of 1: c", "2 of 3: a, c"]
    assert summary["evolino below the class frequency"] == ["1 of 2: b", "none of the 1", "1 of 3: b"]
    assert summary["evolino: median seconds per set (a seed)"] == ["120.0", "120.0", "120.0"]
    assert summary["1-NN DTW: median seconds per set"] == ["2.5", "2.5", "2.5"]


def test_an_incomplete_run_and_a_missing_method_are_shown():
    tables = load_experiment("tables")
    entry = _entry("a", "development", [0.9], 0.96, 0.99, 0.98, 0.34)
    del entry["methods"]["minirocket"]
    text = tables.classification_benchmark_markdown(
        {"complete": False, "protocol": {"seeds": [0], "generations": 20}, "sets": [entry]})
    assert "**Incomplete run**: 1 set so far." in text and "seed 0, 20 generations" in text
    assert "| a | 1 | 100 | 3 | 30 / 60 | 90.0 | 96.0 | **99.0** | - | 34.0 | 120 | 2.5 | 4.0 | - |" in text
