"""The scripts of experiments/ as modules, for the tests that call their functions."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_experiment(name: str):
    """experiments/NAME.py imported as the module ``experiment_NAME`` (registered in sys.modules, which dataclasses
    look their module up in); the scripts import their neighbours (provenance, tables), so experiments/ is on the
    path while it loads."""
    spec = importlib.util.spec_from_file_location(f"experiment_{name}", ROOT / "experiments" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    sys.path.insert(0, str(ROOT / "experiments"))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "experiments"))
    return module
