"""The docs build offline without warnings, and their generated/enumerated parts match the code."""

import argparse
import importlib.util
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from evolino.cli import build_parser, config_flags
from evolino.config import SECTIONS

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("gen_config_reference", ROOT / "docs" / "gen_config_reference.py")
gen_config_reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen_config_reference)


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site"),
                           "--config-file", str(ROOT / "mkdocs.yml")], capture_output=True, text=True, timeout=120,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-3000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    assert 'id="evolino.trainer.Evolino"' in api and "checkpoint_every" in api  # docstrings were rendered
    assert (tmp_path / "site" / "configuration" / "index.html").is_file()


def test_configuration_page_is_generated_from_the_current_dataclasses():
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == gen_config_reference.render(), "run: python docs/gen_config_reference.py"


def test_config_flags_are_run_options_for_real_keys():
    """The flags the CLI names in errors and the configuration page lists (both from config_flags) exist."""
    options = {name for action in _subcommands()["run"]._actions for name in action.option_strings}
    keys = {"seed"} | {f"{section}.{spec.name}" for section, cls in SECTIONS.items() for spec in fields(cls)}
    flags = config_flags()
    assert set(flags.values()) <= options and set(flags) <= keys
    assert {"--cells", "--opt", "--no-plots", "--chunks-per-worker"} <= set(flags.values())
    assert gen_config_reference.FLAGS == {**flags, "optimizer.options": "--opt KEY=VALUE"}


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_cli_page_documents_every_command_and_flag():
    page = (ROOT / "docs" / "cli.md").read_text()
    for name, parser in _subcommands().items():
        assert f"## {name}\n" in page, name
        for action in parser._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help":
                    assert option in page, f"{name} {option}"
