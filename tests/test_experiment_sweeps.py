"""experiments/sweeps.py: an experiment's sweep is resumed only by the code that started it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "experiments"))

import sweeps  # noqa: E402

from evolino.sweep.runner import SWEEP_FILE  # noqa: E402

CLEAN = {"commit": "a" * 40, "dirty": False, "changed_files": []}


def test_a_sweep_is_resumed_only_at_the_clean_commit_that_started_it(tmp_path):
    """Nothing to resume: no reason. Same clean commit: resume. Another commit, changes on either side, a folder
    without its code record, or no git checkout: start again, saying why."""
    assert sweeps._stale(tmp_path / "absent", CLEAN) == ""
    (tmp_path / SWEEP_FILE).write_text("{}")
    assert "unknown commit" in sweeps._stale(tmp_path, CLEAN)
    (tmp_path / sweeps.CODE_FILE).write_text(json.dumps({"commit": CLEAN["commit"], "dirty": False}))
    assert sweeps._stale(tmp_path, CLEAN) == ""
    assert "made at commit aaaaaaaaaa" in sweeps._stale(tmp_path, {**CLEAN, "commit": "b" * 40})
    assert "uncommitted" in sweeps._stale(tmp_path, {**CLEAN, "dirty": True})
    assert "uncommitted" in sweeps._stale(tmp_path, {"commit": None, "dirty": None, "changed_files": []})
    (tmp_path / sweeps.CODE_FILE).write_text(json.dumps({"commit": CLEAN["commit"], "dirty": True}))
    assert "with uncommitted changes" in sweeps._stale(tmp_path, CLEAN)
