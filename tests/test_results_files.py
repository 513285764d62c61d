"""The committed results: every file under experiments/results/ says how it was made, and the numbers quoted in the
README and docs/reproducing.md are the ones in those files."""

import importlib.util
import json
import shlex
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from evolino.provenance import PROVENANCE_FIELDS, VERSIONED_PACKAGES, git_state, provenance

ROOT = Path(__file__).resolve().parent.parent
RESULTS = sorted((ROOT / "experiments" / "results").glob("*.json"))


def _tables():
    spec = importlib.util.spec_from_file_location("experiment_tables", ROOT / "experiments" / "tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_results_files():
    assert {"mso_table.json", "mso_ablation.json", "esn_baseline.json", "baselines.json", "sines5.json"} <= \
        {path.name for path in RESULTS}


@pytest.mark.parametrize("path", RESULTS, ids=lambda path: path.name)
def test_every_results_file_records_its_provenance(path):
    meta = json.loads(path.read_text()).get("meta", {})
    missing = [field for field in PROVENANCE_FIELDS if field not in meta]
    missing += [f"versions.{name}" for name in ("python", *VERSIONED_PACKAGES) if name not in meta.get("versions", {})]
    assert not missing, (f"{path.name} lacks provenance ({', '.join(missing)}): regenerate it with the command of "
                         "its experiment (see docs/reproducing.md)")
    assert meta["command"].startswith("python experiments/")
    assert meta["commit"] is None or len(meta["commit"]) == 40
    assert {"platform", "processor", "cpus"} <= set(meta["machine"])
    datetime.strptime(meta["date"], "%Y-%m-%dT%H:%M:%SZ")


def test_readme_and_reproducing_quote_the_results_files():
    tables = _tables()
    for name, blocks in tables.BLOCKS.items():
        committed = (ROOT / name).read_text()
        assert tables.render(committed, blocks) == committed, \
            f"{name} differs from experiments/results/*.json: run python experiments/tables.py"


def test_render_replaces_only_the_marked_block_and_requires_its_markers():
    tables = _tables()
    text = "before\n<!-- generated:x -->\nold 1.0\n<!-- end generated:x -->\nafter 1.0\n"
    assert tables.render(text, {"x": lambda: "new"}) == \
        "before\n<!-- generated:x -->\nnew\n<!-- end generated:x -->\nafter 1.0\n"
    with pytest.raises(ValueError, match="generated:y"):
        tables.render(text, {"y": lambda: "new"})


def test_number_formatting_and_ratios():
    tables = _tables()
    assert tables.fmt(2.146e-8) == "2.1e-8" and tables.fmt(0.17) == "1.7e-1" and tables.fmt(None) == "diverged"
    assert tables.span([3e-6, 1e-6, 2e-6]) == "1.0e-6 .. 3.0e-6"
    assert tables.ratio_text(1e-8, 1e-6) == "Evolino 100x lower"
    assert tables.ratio_text(1e-6, 1e-8) == "the ESN 100x lower"


def test_the_readme_says_whether_the_ablation_still_chooses_the_readout_defaults():
    tables = _tables()
    settings = [{"rcond": 1e-14, "feedback_scale": 1e-4, "median_validation_error": 1.2e-8},
                {"rcond": 1e-14, "feedback_scale": 1e-5, "median_validation_error": 4.3e-9}]
    defaults = {"rcond": 1e-14, "feedback_scale": 1e-4}
    same = tables._defaults_choice({"settings": settings, "defaults": defaults, "chosen": {**settings[0]}})
    other = tables._defaults_choice({"settings": settings, "defaults": defaults, "chosen": {**settings[1]}})
    assert same.startswith("both chosen on the validation error") and "feedback scale 0.0001" in same
    assert "now prefers cutoff 1e-14 and feedback scale 1e-05: median 4.3e-9 against 1.2e-8" in other


def test_provenance_of_this_checkout():
    meta = provenance("python experiments/x.py")
    assert set(PROVENANCE_FIELDS) <= set(meta) and meta["command"] == "python experiments/x.py"
    assert meta["versions"]["numpy"] and meta["versions"]["evolino"]
    json.dumps(meta)  # JSON-ready
    if meta["commit"] is not None:  # a git checkout: the commit is HEAD's
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        assert meta["commit"] == head and isinstance(meta["dirty"], bool)


def test_provenance_records_the_environment_that_changes_the_code(monkeypatch):
    """A kernel compiled for another CPU, or XLA told to stop at AVX2, runs other code under the same command."""
    monkeypatch.setenv("NUMBA_CPU_NAME", "znver3")
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_max_isa=AVX2")
    monkeypatch.delenv("EVOLINO_KERNEL", raising=False)
    monkeypatch.setenv("UNRELATED_SETTING", "1")
    environment = provenance("python x.py")["environment"]
    assert environment["NUMBA_CPU_NAME"] == "znver3" and environment["XLA_FLAGS"] == "--xla_cpu_max_isa=AVX2"
    assert "UNRELATED_SETTING" not in environment and "EVOLINO_KERNEL" not in environment


def test_provenance_outside_a_git_checkout_and_of_a_dirty_tree(tmp_path):
    assert git_state(tmp_path) == {"commit": None, "dirty": None, "changed_files": []}
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                       capture_output=True)

    git("init", "-q")
    (repo / "a.txt").write_text("1")
    git("add", "a.txt")
    git("commit", "-q", "-m", "one")
    clean = git_state(repo)
    assert len(clean["commit"]) == 40 and clean["dirty"] is False
    (repo / "a.txt").write_text("2")
    dirty = git_state(repo)
    assert dirty["commit"] == clean["commit"] and dirty["dirty"] is True and dirty["changed_files"] == ["a.txt"]


def test_a_number_edited_by_hand_is_caught(tmp_path):
    tables = _tables()
    for name in tables.BLOCKS:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text((ROOT / name).read_text())
    assert tables.stale_files(tmp_path) == []
    readme = tmp_path / "README.md"
    block = readme.read_text().split("<!-- generated:results -->")[1]
    readme.write_text(readme.read_text().replace(block, block.replace("e-", "e-1", 1)))
    assert tables.stale_files(tmp_path) == ["README.md"]


def test_the_recorded_command_parses_again():
    """Unset options and false flags are left out, true flags stand alone, the output file is named (relative to the
    repository): the command in a results file reruns and writes the same file."""
    import argparse
    import sys

    spec = importlib.util.spec_from_file_location("experiment_provenance", ROOT / "experiments" / "provenance.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT / "experiments"))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "experiments"))
    parser = argparse.ArgumentParser()
    parser.add_argument("mode")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--generations", type=int, default=None)
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--slow", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "experiments" / "results" / "x.json")
    parser.add_argument("--variants", nargs="*", default=None)
    args = parser.parse_args(["lags", "--fast"])
    command = module.command_line(args, positional=("mode",))
    assert command.endswith("lags --seeds 0 1 --fast --out experiments/results/x.json")
    again = parser.parse_args(command.split()[2:])
    assert (ROOT / again.out).resolve() == args.out.resolve()
    assert {**vars(again), "out": None} == {**vars(args), "out": None}
    args = parser.parse_args(["lags", "--variants", "no lags=--lags 0", "ridge"])  # a value with spaces
    command = module.command_line(args, positional=("mode",))
    assert "--variants 'no lags=--lags 0' ridge" in command
    again = parser.parse_args(shlex.split(command)[2:])
    assert (ROOT / again.out).resolve() == args.out.resolve()
    assert {**vars(again), "out": None} == {**vars(args), "out": None}
