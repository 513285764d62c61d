"""Result files of a run: result.json, history.csv, model.npz and the test outputs (open formats only)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np

from evolino.trainer import HISTORY_COLUMNS, FitResult

__all__ = ["write_json", "write_history", "write_run", "check_writable"]


def check_writable(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and make sure files can be written there; raises OSError otherwise."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / ".evolino-write-test"
    probe.write_text("ok")
    probe.unlink()
    return folder


def write_json(path: Path, data: dict) -> None:
    """Write JSON atomically (a reader never sees half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def write_history(path: Path, history: list[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HISTORY_COLUMNS)
        writer.writeheader()
        for row in history:
            writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
    os.replace(tmp, path)


def write_run(folder: str | os.PathLike, result: FitResult, extra: dict | None = None) -> dict[str, Path]:
    """Write result.json, history.csv, model.npz and test_outputs.csv into ``folder``."""
    folder = Path(folder)
    paths = {name: folder / name for name in ("result.json", "history.csv", "model.npz", "test_outputs.csv")}
    result.model.save(paths["model.npz"])
    write_history(paths["history.csv"], result.history)
    if result.test_outputs:
        outputs = np.concatenate(result.test_outputs, axis=0)
        header = ",".join(f"output_{j}" for j in range(outputs.shape[1]))
        np.savetxt(paths["test_outputs.csv"], outputs, delimiter=",", header=header, comments="", fmt="%.17g")
    else:
        paths.pop("test_outputs.csv")
    write_json(paths["result.json"], {**result.summary(), **(extra or {})})
    return paths
