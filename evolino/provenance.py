"""Provenance of a result: which code, libraries, machine and command produced it, and when.

A number without its provenance cannot be checked or repeated. :func:`provenance` gathers, as one JSON-ready dict:

* ``commit``: the git commit of the evolino checkout the package was imported from (None when it is not a git
  checkout, e.g. an installed wheel, or git is missing), ``dirty``: whether tracked or new files differ from that
  commit (None when unknown), and ``changed_files``: which (at most ``MAX_CHANGED_FILES``, then a count);
* ``versions``: python, numpy, numba, cma, deap, ray and evolino (None for a package that is not installed; read
  from the installed metadata, so Ray is never imported);
* ``machine``: OS platform, processor (the CPU model from ``/proc/cpuinfo`` when the platform module has none), its
  widest SIMD extension (``simd``: "AVX-512", "AVX2"; one model name has come with either, and the same seed rounds
  differently on them), the architecture and the number of CPUs;
* ``environment``: the variables of :data:`RECORDED_ENVIRONMENT` that are set (the kernel, numba's target CPU and
  threads, XLA's flags, ...): they change the code a run compiles, or its speed, without showing in the command;
* ``command``: the given string, else ``sys.argv`` joined;
* ``date``: UTC, ISO 8601 to the second.

Every results file of ``experiments/`` stores this dict under ``"meta"`` (``tests/test_results_files.py`` checks it).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

__all__ = ["provenance", "git_state", "library_versions", "machine", "cpu_name", "PROVENANCE_FIELDS",
           "RECORDED_ENVIRONMENT", "VERSIONED_PACKAGES"]

VERSIONED_PACKAGES = ("numpy", "numba", "cma", "deap", "ray", "evolino")
PROVENANCE_FIELDS = ("commit", "dirty", "versions", "machine", "command", "date")
# Variables that change the code a run compiles or how fast it runs (recorded when set; older files have none).
RECORDED_ENVIRONMENT = ("EVOLINO_KERNEL", "NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES", "NUMBA_NUM_THREADS",
                        "NUMBA_THREADING_LAYER", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "XLA_FLAGS",
                        "JAX_PLATFORMS", "RAY_ADDRESS")
MAX_CHANGED_FILES = 50
GIT_TIMEOUT_SECONDS = 10.0


def _git(args: list[str], cwd: Path) -> str | None:
    """Output of ``git args`` run in ``cwd``, or None when git is missing, fails or hangs."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT_SECONDS,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_state(directory: str | os.PathLike | None = None) -> dict:
    """The git state of the checkout holding ``directory`` (default: the evolino package's own folder).

    Returns
    -------
    dict with ``commit`` (40 hex digits or None when not a git checkout), ``dirty`` (bool, or None when unknown) and
    ``changed_files`` (paths relative to the checkout, as ``git status --porcelain`` lists them)
    """
    where = Path(directory) if directory is not None else Path(__file__).resolve().parent
    commit = _git(["rev-parse", "--verify", "HEAD"], where)
    if commit is None:
        return {"commit": None, "dirty": None, "changed_files": []}
    status = _git(["status", "--porcelain"], where)
    if status is None:
        return {"commit": commit.strip(), "dirty": None, "changed_files": []}
    changed = [line[3:] for line in status.splitlines() if line.strip()]
    listed = changed[:MAX_CHANGED_FILES]
    if len(changed) > MAX_CHANGED_FILES:
        listed.append(f"... and {len(changed) - MAX_CHANGED_FILES} more")
    return {"commit": commit.strip(), "dirty": bool(changed), "changed_files": listed}


def library_versions() -> dict[str, str | None]:
    """Versions of python and of ``VERSIONED_PACKAGES`` (None when a package is not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def _cpu_info() -> tuple[str, str]:
    """(model name, widest SIMD extension: "AVX-512", "AVX2", "no AVX2" or "") from ``/proc/cpuinfo``."""
    name, flags = "", None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not name:
                    name = value.strip()
                elif key.strip() == "flags" and flags is None:
                    flags = set(value.split())
                if name and flags is not None:
                    break
    except OSError:
        pass
    if flags is None:
        return name, ""
    return name, "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"


def cpu_name() -> str:
    """The CPU's model name and its widest SIMD extension, e.g. "AMD EPYC (AVX-512)": one model name has come with
    either (the same seed rounds differently on AVX2 and AVX-512, so figures name both)."""
    name, simd = _cpu_info()
    name = name or platform.processor() or platform.machine()
    return f"{name} ({simd})" if simd else name


def machine() -> dict:
    """The OS platform, processor, its widest SIMD extension, architecture and CPU count of this machine."""
    name, simd = _cpu_info()
    return {"platform": platform.platform(), "processor": platform.processor() or name or None,
            "simd": simd or None, "architecture": platform.machine(), "cpus": os.cpu_count()}


def provenance(command: str | None = None, directory: str | os.PathLike | None = None) -> dict:
    """Everything a results file should record about how it was made (see the module docstring).

    Parameters
    ----------
    command : str, optional
        The command that repeats the run; default ``sys.argv`` joined by spaces.
    directory : path, optional
        Where to look for the git checkout; default the evolino package's folder.
    """
    git = git_state(directory)
    return {
        "commit": git["commit"],
        "dirty": git["dirty"],
        "changed_files": git["changed_files"],
        "versions": library_versions(),
        "machine": machine(),
        "environment": {name: os.environ[name] for name in RECORDED_ENVIRONMENT if name in os.environ},
        "command": command if command is not None else " ".join(sys.argv),
        "date": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
    }
