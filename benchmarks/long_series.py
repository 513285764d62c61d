"""Long series: where the time and the memory of a run on a long one-column series go, per series length.

    python benchmarks/long_series.py                         # 10^4, 10^5 and 10^6 rows
    python benchmarks/long_series.py --sizes 10000 100000    # chosen sizes
    python benchmarks/long_series.py --smoke                 # 10^3 rows, seconds (what the test runs)
    python benchmarks/long_series.py --profile 100000        # cProfile of one run: where its seconds go
    python benchmarks/long_series.py --write-results         # replace benchmarks/results/long_series.json

For each size a seeded noisy seasonal AR series (one column) is written to a CSV in a temporary folder, then
``python -m evolino run --data FILE --generations 2 --quiet --no-plots --out TMP`` runs in a fresh process (every
default: automatic readout lags, ridge and holdout, compiled kernel). Measured from outside the run, without hooks in
the trainer or the CLI:

* **setup**: seconds from the start of the process to the start of the first generation (Python's start-up, the
  imports, reading the CSV, the automatic settings). The trainer appends each generation's row to ``history.csv``
  as soon as it is computed and the row's ``wall_seconds`` counts from the start of the generations, so the first
  generation began ``wall_seconds`` before the row appeared (polled every 20 ms).
* **gen 1** and **gen 2**: the two generations (the first also loads the compiled kernels and builds the lines).
* **finish**: from the end of the last generation to the end of the process (the validation error and final
  readout on the reference kernel, the test, the trivial baselines, the files).
* **peak RSS**: the process's peak resident memory (``ru_maxrss`` of the child, from ``os.wait4``).

Then, in another fresh process per size, **one generation's** peak memory and seconds on the same data with the
problem the run builds, but 30 readout lags fixed (the largest automatic choice): 40 genomes evaluated once on
single-threaded BLAS (as the trainer does), after two genomes were (kernels loaded, lines built); the peak is VmHWM,
reset just before through ``/proc/self/clear_refs`` (Linux; "n/a" elsewhere).

The machine may be shared: the 1-minute load average is printed (and written) beside the figures, and one run per
size is one sample (on 2 shared cores, a generation's seconds varied by up to 2x between runs).

Every figure of a table comes from the same invocation; the CPU (``lscpu``'s model name) is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "experiments")]  # this checkout's evolino and the experiments' provenance
from provenance import (  # noqa: E402  (the commit, versions, machine and command of the file)
    add_output_arguments,
    command_line,
    output_path,
    write_results,
)

RESULTS = ROOT / "benchmarks" / "results" / "long_series.json"
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
SMOKE_SIZES = (1_000,)
POLL_SECONDS = 0.02
GENERATION_LAGS = 30  # readout lags of the one-generation measure (the automatic choice's upper end)


def series(rows: int, seed: int = 0) -> np.ndarray:
    """A noisy seasonal AR(2) series of ``rows`` steps: daily and weekly cycles of hourly data on a level of 10.

    (rows,) float64, the same for the same seed.
    """
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 0.3, rows)
    ar = np.empty(rows)
    previous, before = 0.0, 0.0
    for t in range(rows):  # AR(2): x(t) = 0.6 x(t-1) - 0.2 x(t-2) + e(t)
        previous, before = 0.6 * previous - 0.2 * before + noise[t], previous
        ar[t] = previous
    hours = np.arange(rows)
    return 10.0 + 2.0 * np.sin(2 * np.pi * hours / 24) + 0.5 * np.sin(2 * np.pi * hours / 168) + ar


def write_csv(path: Path, rows: int) -> Path:
    np.savetxt(path, series(rows), fmt="%.6f", header="value", comments="")
    return path


def cpu_name() -> str:
    """``lscpu``'s model name (the platform's processor string without lscpu)."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        found = re.search(r"^Model name:\s*(.+)$", text, re.MULTILINE)
        if found:
            return found.group(1).strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def _child_env() -> dict:
    """The environment of the measured processes: this checkout's evolino first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("RAY_AUTH_MODE", "disabled")
    return env


def _history_rows(path: Path) -> list[dict]:
    """The generation rows written so far to history.csv (whole lines only)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    if len(lines) < 2:
        return []
    names = lines[0].split(",")
    return [dict(zip(names, line.split(","), strict=True)) for line in lines[1:] if line.count(",") + 1 == len(names)]


def run_cli(csv: Path, out: Path, generations: int = 2, profile: Path | None = None) -> dict:
    """One ``python -m evolino run`` on ``csv``, timed from outside (see the module docstring)."""
    command = [sys.executable, "-m", "evolino", "run", "--data", str(csv), "--generations", str(generations),
               "--quiet", "--no-plots", "--out", str(out)]
    if profile is not None:
        command[1:1] = ["-m", "cProfile", "-o", str(profile)]
    history = out / "history.csv"
    seen: dict[int, float] = {}  # generation -> when its row was first seen
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=_child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with process:  # the pipes are read after the exit: the run prints a few lines only
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            now = time.perf_counter()
            for row in _history_rows(history):
                seen.setdefault(int(row["generation"]), now)
            if pid:
                break
            time.sleep(POLL_SECONDS)
        ended = time.perf_counter()
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout, stderr = process.stdout.read().decode(), process.stderr.read().decode()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{stdout}\n{stderr}")
    rows = {int(row["generation"]): float(row["wall_seconds"]) for row in _history_rows(history)}
    result = json.loads((out / "result.json").read_text())
    if 1 not in seen:  # the row appeared and the run ended within one poll: no absolute time for it
        seen[1] = ended
    generations_started = seen[1] - rows[1]
    last = max(rows)
    return {
        "setup_seconds": generations_started - started,
        "generation_seconds": [rows[g] - rows.get(g - 1, 0.0) for g in sorted(rows)],
        "finish_seconds": ended - (generations_started + rows[last]),
        "total_seconds": ended - started,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
        "readout_lags": result.get("readout_lags"),
        "ridge": result.get("ridge"),
        "poll_seconds": POLL_SECONDS,
    }


def _status_mb(field: str) -> float | None:
    try:
        found = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(found.group(1)) / 1024 if found else None


def generation_memory(csv: Path, lags: int = GENERATION_LAGS, cells: int = 10, population: int = 40) -> dict:
    """In a fresh process: one generation of the run's problem on ``csv`` with ``lags`` readout lags (see the module
    docstring). Returns its seconds, the resident memory before it and its peak (MB)."""
    from evolino.blas import single_threaded_blas
    from evolino.kernels import resolve_kernel
    from evolino.tasks.data import data_task, read_table
    from evolino.trainer import Evolino

    task = data_task(read_table(str(csv)))
    problem = Evolino(cells=cells, population=population, readout_lags=lags).build_problem(task)
    genomes = np.random.default_rng(0).normal(0.0, 0.1, (population, problem.dimension))
    problem.evaluate(genomes[:2])  # loads the compiled kernels and builds the lines
    before = _status_mb("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident size
        resettable = True
    except OSError:
        resettable = False
    started = time.perf_counter()
    with single_threaded_blas():  # as the trainer evaluates
        problem.evaluate(genomes)
    seconds = time.perf_counter() - started
    return {"generation_seconds": seconds, "rss_before_mb": before,
            "peak_mb": _status_mb("VmHWM") if resettable else None, "lags": lags,
            "kernel": resolve_kernel(problem.kernel), "train_steps": problem.task.train[0].steps,
            "validation_steps": problem.task.validation[0].steps}


def run_generation_memory(csv: Path) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--generation-memory", str(csv)]
    done = subprocess.run(command, cwd=ROOT, env=_child_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def profile_summary(path: Path, top: int = 30) -> str:
    """The evolino functions of a cProfile run by cumulative time, and the process's total."""
    import pstats

    stats = pstats.Stats(str(path))
    rows = []
    for (filename, _, name), (_, calls, _, cumulative, _) in stats.stats.items():
        if "evolino" in filename and "benchmarks" not in filename:
            module = filename.split("evolino", 1)[1].lstrip(os.sep).replace(os.sep, ".").removesuffix(".py")
            rows.append((cumulative, calls, f"evolino.{module}:{name}"))
    rows.sort(reverse=True)
    lines = [f"cProfile of the run, total {stats.total_tt:.1f} s (profiled: slower than the plain run); "
             "evolino functions by cumulative seconds:", f"{'cumulative s':>13} {'calls':>8}  function"]
    lines += [f"{cumulative:13.2f} {calls:8d}  {name}" for cumulative, calls, name in rows[:top]]
    return "\n".join(lines)


def table(rows: list[dict]) -> str:
    """The markdown table of the sizes' records (what docs/forecasting.md shows, via experiments/tables.py)."""
    lines = ["| rows | setup s | gen 1 s | gen 2 s | finish s | total s | peak RSS MB | lags | one generation s "
             "| its peak MB |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        run, gen = r["run"], r["generation"]
        g = run["generation_seconds"] + [float("nan")] * 2
        peak = "n/a" if gen["peak_mb"] is None else f"{gen['peak_mb']:.0f}"
        lines.append(f"| {r['rows']:,} | {run['setup_seconds']:.1f} | {g[0]:.1f} | {g[1]:.1f} | "
                     f"{run['finish_seconds']:.1f} | {run['total_seconds']:.1f} | {run['peak_rss_mb']:.0f} | "
                     f"{run['readout_lags']} | {gen['generation_seconds']:.2f} | {peak} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="series lengths (rows)")
    parser.add_argument("--profile", type=int, nargs="+", default=(), metavar="ROWS",
                        help="also run these sizes under cProfile and print where the seconds go")
    parser.add_argument("--generation-memory", default=None, metavar="CSV", help=argparse.SUPPRESS)
    add_output_arguments(parser, RESULTS, f"{SMOKE_SIZES[0]:,} rows only")
    args = parser.parse_args(argv)
    if args.generation_memory:  # the child of run_generation_memory
        print(json.dumps(generation_memory(Path(args.generation_memory))))
        return 0
    out = output_path(parser, args, RESULTS, "long_series")
    sizes = SMOKE_SIZES if args.smoke else tuple(args.sizes or DEFAULT_SIZES)
    cpu = cpu_name()
    load = [os.getloadavg()[0]]  # the machine is shared: its load beside the figures
    print(f"CPU: {cpu}; {os.cpu_count()} logical CPUs; python {platform.python_version()}; load average "
          f"{load[0]:.1f}", flush=True)
    rows, profiles = [], {}
    with tempfile.TemporaryDirectory(prefix="evolino-long-") as tmp:
        folder = Path(tmp)
        for size in sizes:
            csv = write_csv(folder / f"series_{size}.csv", size)
            run = run_cli(csv, folder / f"run_{size}")
            generation = run_generation_memory(csv)
            rows.append({"rows": size, "run": run, "generation": generation})
            print(f"{size:,} rows: {json.dumps(rows[-1])}", flush=True)
        load.append(os.getloadavg()[0])
        print(f"CPU: {cpu}\n{table(rows)}")
        print(f"load average (1 min) at the start {load[0]:.1f}, after the sizes {load[1]:.1f}")
        for size in args.profile:
            csv = write_csv(folder / f"series_{size}.csv", size)
            profile = folder / f"profile_{size}.prof"
            run_cli(csv, folder / f"profile_run_{size}", profile=profile)
            profiles[str(size)] = profile_summary(profile)
            print(f"\n{size:,} rows: " + profiles[str(size)])
    write_results(out, {"cpu": cpu, "load_average": load, "sizes": rows,
                        "profiles": {k: v.splitlines() for k, v in profiles.items()}},
                  command_line(args, skip=("generation_memory", *(() if args.profile else ("profile",)))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
