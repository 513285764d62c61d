"""experiments/reproduce.py: every headline row has a reproduction, the agreement rules, one row end to end."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from evolino.provenance import git_state

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "experiments"))

import reproduce  # noqa: E402


def generated_rows(path: Path, block: str) -> list[list[str]]:
    """The cells of the table rows (not the header or the rule) of one generated block of ``path``."""
    text = path.read_text()
    match = re.search(rf"<!-- generated:{block} -->\n(.*?)<!-- end generated:{block} -->", text, re.S)
    assert match, f"no generated block {block} in {path}"
    rows = [line for line in match.group(1).splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in rows]
    return [c for c in cells[2:] if not set("".join(c)) <= set("-")]  # the header and the |---| rule left out


def headline_keys() -> list[str]:
    readme = [f"results | {cells[0]} |" for cells in generated_rows(ROOT / "README.md", "results")]
    overview = [f"overview | {cells[0]} | {cells[1]}" for cells in
                generated_rows(ROOT / "experiments" / "README.md", "overview")]
    return readme + overview


def test_every_headline_row_has_a_reproduction():
    keys = headline_keys()
    assert len(keys) > 50  # both tables were found
    missing = [k for k in keys if not any(re.search(p, k) for e in reproduce.REGISTRY for p in e.covers)]
    assert not missing, f"headline rows without an entry in experiments/reproduce.py's REGISTRY: {missing}"


def test_every_entry_covers_a_headline_row_and_reads_its_committed_file():
    keys = headline_keys()
    for entry in reproduce.REGISTRY:
        assert all(any(re.search(p, k) for k in keys) for p in entry.covers), entry.name
        data = json.loads((reproduce.RESULTS / f"{entry.results}.json").read_text())
        assert entry.values(data), entry.name
        assert (ROOT / entry.full[0]).exists() and (entry.quick is None or entry.quick[0] == entry.full[0])


def _script_and_arguments(command: str) -> tuple[str, ...]:
    """A recorded command's script and arguments without where it wrote them (``--write-results``, ``--out PATH``)."""
    words, kept = iter(shlex.split(command)[1:]), []
    for word in words:
        if word == "--out":
            next(words)
        elif word != "--write-results":
            kept.append(word)
    return tuple(kept)


def test_every_full_command_is_the_one_that_made_its_committed_file():
    # A full rerun that is not the committed run compares two different experiments.
    for entry in reproduce.REGISTRY:
        for name in (entry.results, *entry.files):
            meta = json.loads((reproduce.RESULTS / f"{name}.json").read_text())["meta"]
            assert _script_and_arguments(meta["command"]) == entry.full, (entry.name, name)


def test_entry_names_are_unique():
    names = [e.name for e in reproduce.REGISTRY]
    assert len(names) == len(set(names))


def test_equal():
    committed = {0: 2.5e-8, 1: 1.0e-8, 2: 6e-9}
    assert reproduce.EQUAL.holds(committed, {0: 2.5e-8})
    assert not reproduce.EQUAL.holds(committed, {0: 2.5000000001e-8})
    assert not reproduce.EQUAL.holds(committed, {7: 2.5e-8})  # no seed in common
    assert reproduce.EQUAL.holds({None: 28017}, {None: 28017})
    assert not reproduce.EQUAL.holds({None: 28017}, {None: 28018})


def test_within_a_factor():
    committed = {0: 2.1e-8, 1: 1.3e-8, 2: 5.8e-9}  # median 1.3e-8
    ten = reproduce.within(10)
    assert ten.holds(committed, {0: 8.5e-9})
    assert ten.holds(committed, {0: 1.2e-7})
    assert not ten.holds(committed, {0: 1.4e-7})
    assert not ten.holds(committed, {0: None})  # a diverged run against finite errors
    assert reproduce.within(1.001).holds({None: 7.4}, {None: 7.4001})
    assert str(ten) == "within a factor 10"


def test_range():
    committed = {s: m for s, m in enumerate((17, 156, 829, 40))}
    assert reproduce.RANGE.holds(committed, {0: 17})
    assert reproduce.RANGE.holds(committed, {0: 500, 1: 829})
    assert not reproduce.RANGE.holds(committed, {0: 1000})
    assert not reproduce.RANGE.holds(committed, {})


def test_compare_marks_rows_not_rerun():
    entry = next(e for e in reproduce.REGISTRY if e.name == "mso-table")
    committed = json.loads((reproduce.RESULTS / "mso_table.json").read_text())
    measured = {"rows": [{**r, "test_error": r["test_error"] * 3} for r in committed["rows"]
                         if r["task"] == "mso2" and r["seed"] == 0]}
    verdicts = {r["row"]: r["verdict"] for r in reproduce.compare(entry, committed, measured, entry.quick_agreement)}
    assert verdicts["mso2, 10 cells, test NRMSE"] == "agrees"
    assert verdicts["mso4, 20 cells, test NRMSE"] == "not rerun"
    measured["rows"][0]["test_error"] *= 100
    verdicts = {r["row"]: r["verdict"] for r in reproduce.compare(entry, committed, measured, entry.quick_agreement)}
    assert verdicts["mso2, 10 cells, test NRMSE"] == "differs"


def test_never_replaces_a_committed_file(capsys):
    with pytest.raises(SystemExit):
        reproduce.main(["--write-results"])
    assert "never replaces them" in capsys.readouterr().err


def test_list(capsys):
    assert reproduce.main(["--list"]) == 0
    printed = capsys.readouterr().out
    assert all(e.name in printed for e in reproduce.REGISTRY) and "not rerun in --quick" in printed


@pytest.mark.slow  # 5-11 s: the script starts a subprocess, which imports evolino
def test_a_cheap_row_end_to_end(tmp_path):
    """levin-search in its smoke mode, through the script and its subprocess: the comparison written, exit 0."""
    out = tmp_path / "reproduce.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "experiments" / "reproduce.py"), "--rows", "levin-search",
                           "--smoke", "--quick", "--out", str(out), "--scratch", str(tmp_path / "scratch")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(out.read_text())
    assert data["meta"]["command"].startswith("python experiments/reproduce.py")
    assert [r["row"] for r in data["rows"]] == ["Levin search, programs tried"]
    assert data["rows"][0]["verdict"] == "smoke run"
    assert "Levin search, programs tried" in done.stdout


class _Parsed(Exception):
    """Raised once a script's command line has parsed: the test stops it before any work."""


def test_every_reproduce_command_is_accepted_by_its_script(monkeypatch):
    """Each entry's full and quick command lines parse with its script's own argument parser (a retired option in
    a committed command would make the reproduction fail after hours of others)."""
    import argparse
    import runpy

    original = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):
        original(self, args, namespace)  # exits 2 on an unknown or invalid option
        raise _Parsed

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    for entry in reproduce.REGISTRY:
        for command in (entry.full, entry.quick):
            if command is None:
                continue
            monkeypatch.setattr(sys, "argv", [str(ROOT / command[0]), *command[1:]])
            with pytest.raises(_Parsed):
                runpy.run_path(str(ROOT / command[0]), run_name="__main__")


def _has_commit(commit: str) -> bool:
    return subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"],
                          capture_output=True).returncode == 0


def test_freshness_tells_results_of_heads_code_from_older_ones():
    """A file made at HEAD is fresh; one made before a change to the package, or with uncommitted changes to the
    package, is not, and says why."""
    old = "8857742"  # the kernel issue's base: the package has changed since
    if not _has_commit(old):
        pytest.skip("a shallow clone: the older commit is not here")
    head = git_state(ROOT)["commit"]
    command = "python experiments/mso.py table --seeds 0"
    rows = {name: reproduce.freshness_row(meta) for name, meta in (
        ("head", {"commit": head, "command": command}),
        ("old", {"commit": old, "command": command}),
        ("dirty", {"commit": head, "command": command, "dirty": True,
                   "changed_files": ["docs/x.md", "evolino/readout.py"]}),
        ("dirty_docs", {"commit": head, "command": command, "dirty": True, "changed_files": ["docs/x.md"]}))}
    assert rows["head"]["fresh"] and rows["dirty_docs"]["fresh"] and rows["head"]["commits_since"] == 0
    assert not rows["old"]["fresh"] and "code file(s) changed since" in rows["old"]["why"]
    assert not rows["dirty"]["fresh"] and "evolino/readout.py" in rows["dirty"]["why"]
    listed = reproduce.freshness()
    assert {r["file"] for r in listed} >= {"experiments/results/mso_table.json", "benchmarks/results/jax_peer.json"}


def test_freshness_prints_the_command_that_remakes_each_stale_file(capsys):
    fresh = {"file": "a.json", "commit": "1", "commits_since": 0, "cpu": "x", "date": "d", "fresh": True, "why": "",
             "command": "python experiments/a.py --write-results"}
    stale = {**fresh, "file": "b.json", "fresh": False, "why": "1 code file(s) changed since",
             "command": "python experiments/b.py --seeds 0 --write-results"}
    reproduce.print_freshness([fresh, stale])
    printed = capsys.readouterr().out
    assert "1 of 2 results files" in printed
    assert "    python experiments/b.py --seeds 0 --write-results" in printed
    assert "experiments/a.py" not in printed.split("to remake")[-1]
    reproduce.print_freshness([fresh])
    assert "to remake" not in capsys.readouterr().out


def test_comments_and_docstrings_are_not_code():
    code = 'def f(x):\n    """Twice x."""\n    return 2 * x  # doubled\n'
    reworded = 'def f(x):\n    """Two times x, said otherwise."""\n    # a new comment\n    return 2 * x\n'
    bare = "def f(x):\n    return 2 * x\n"
    changed = 'def f(x):\n    """Twice x."""\n    return 2.0 * x\n'
    assert reproduce.without_docstrings(code) == reproduce.without_docstrings(reworded) == \
        reproduce.without_docstrings(bare)
    assert reproduce.without_docstrings(code) != reproduce.without_docstrings(changed)
    only_doc = 'def f():\n    """Nothing."""\n'
    assert reproduce.without_docstrings(only_doc) == reproduce.without_docstrings("def f():\n    pass\n")
    assert reproduce.without_docstrings('x = "a string"\n') != reproduce.without_docstrings('x = "another"\n')


@pytest.mark.parametrize("fresh", [True, False])
def test_quick_says_whether_rows_it_does_not_rerun_come_from_heads_code(tmp_path, monkeypatch, capsys, fresh):
    """A row --quick does not rerun is vouched for only by its file's provenance: the summary counts the rows whose
    file HEAD's code made (no subprocess: mso-ablation has no quick version)."""
    monkeypatch.setattr(reproduce, "freshness_row", lambda meta: {"fresh": fresh})
    out = tmp_path / "reproduce.json"
    assert reproduce.main(["--quick", "--rows", "mso-ablation", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert rows and all(r["verdict"] == "not rerun" and r["file_made_by_head"] is fresh for r in rows)
    made = len(rows) if fresh else 0
    assert f"{len(rows)} not rerun ({made} of them from results files that HEAD's code made" in capsys.readouterr().out
