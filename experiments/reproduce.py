"""Rerun the headline rows (the README's results table, experiments/README.md's overview) and compare with the
committed results files.

    python experiments/reproduce.py --list              # the rows, their committed command and --quick version
    python experiments/reproduce.py --freshness         # which committed results HEAD's code would make
    python experiments/reproduce.py --quick             # a short version of the cheap rows (about 5 minutes)
    python experiments/reproduce.py --rows mso-table    # one group of rows at its committed settings
    python experiments/reproduce.py                     # every row at its committed settings (many hours)

Each entry of REGISTRY is one results file of experiments/results/ and the headline rows made from it: the command
that made it (its ``meta.command``, rerun here as a subprocess of the script itself with ``--out`` into a scratch
folder, so nothing committed changes), the short version that ``--quick`` runs (one seed, the first tasks; ``None``
when no version of it is quick enough: then the full command is printed to rerun it by hand), how to read the
compared numbers from a results file (the same function reads the committed file and the new one), and the
agreement to expect. Three kinds of agreement:

* ``equal``: the same numbers, on the seeds both ran. For results that do not depend on rounding (counts of programs
  or trials, a choice among a grid) and for float results rerun with the same seed on the same CPU family.
* ``within F``: the median of the new numbers within a factor F of the committed median. Errors made of floating-point
  searches move between CPU families (AVX2 against AVX-512: the same seed, other rounding, and an evolutionary search
  that amplifies the last bits) and between the committed three seeds and the one seed of --quick; F is chosen from
  the spread of the committed per-seed values (MSO2's test NRMSE spanned 5.8e-9 .. 2.1e-8 over three seeds on AVX2).
* ``range``: every new number inside the committed range over seeds (for discrete outcomes of a search, such as the
  largest n a^n b^n c^n network counts to, which vary by orders of magnitude between seeds).

The comparison is printed as a table and written as JSON (``runs/reproduce/reproduce.json`` or ``--out``) with
provenance; the exit status is 1 when a row differs beyond its stated agreement.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evolino.provenance import _git  # git with a timeout: None when git is missing or fails

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "results"
DEFAULT_OUT = ROOT / "runs" / "reproduce" / "reproduce.json"

Values = dict[str, dict]  # label -> {seed: value} (seed None for a number that is not per seed)


# ------------------------------------------------------------------------------------------------ agreement

@dataclass(frozen=True)
class Agreement:
    """What agreement to expect between the committed numbers and the rerun's: ``kind`` "equal", "within" (a
    factor ``factor`` between medians) or "range" (inside the committed range over seeds)."""

    kind: str
    factor: float = 1.0

    def __str__(self) -> str:
        if self.kind == "within":
            return f"within a factor {self.factor:g}"
        return {"equal": "equal", "range": "inside the committed range"}[self.kind]

    def holds(self, committed: dict, measured: dict) -> bool:
        """Whether the ``measured`` {seed: value} agree with the ``committed`` ones."""
        if not measured or not committed:
            return False
        if self.kind == "equal":
            common = set(committed) & set(measured)
            return bool(common) and all(_same(committed[s], measured[s]) for s in common)
        if self.kind == "range":
            low, high = min(map(_number, committed.values())), max(map(_number, committed.values()))
            return all(low <= _number(v) <= high for v in measured.values())
        a, b = _median(committed.values()), _median(measured.values())
        if not (np.isfinite(a) and np.isfinite(b)):
            return a == b
        if a == 0 or b == 0:
            return a == b
        return max(a / b, b / a) <= self.factor


def _number(x) -> float:
    return np.inf if x is None else float(x)


def _median(values) -> float:
    return float(np.median([_number(v) for v in values]))


def _same(a, b) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b))


EQUAL, RANGE = Agreement("equal"), Agreement("range")


def within(factor: float) -> Agreement:
    return Agreement("within", factor)


# ------------------------------------------------------------------------------------------ reading results

def _by(rows: list[dict], label: Callable[[dict], str | None], value: str | Callable[[dict], object],
        seed: str = "seed") -> Values:
    """{label: {seed: value}} over ``rows`` (rows whose label is None left out)."""
    out: Values = {}
    for row in rows:
        name = label(row)
        if name is not None:
            out.setdefault(name, {})[row.get(seed)] = row[value] if isinstance(value, str) else value(row)
    return out


def mso_table(data: dict) -> Values:
    return _by(data["rows"], lambda r: f"{r['task']}, {r['cells']} cells, test NRMSE", "test_error")


def sines5(data: dict) -> Values:
    return _by(data["rows"], lambda r: f"sines5, {r['cells']} cells, {r['optimizer']}, test NRMSE"
               if r["optimizer"] == "sep-cma" else None, "test_error")


def ablation(data: dict) -> Values:
    chosen = data["summary"]["chosen"]
    return {"chosen cutoff, feedback scale": {None: f"{chosen['rcond']:g}, {chosen['feedback_scale']:g}"}}


def esn(data: dict) -> Values:
    return _by(data["rows"], lambda r: f"ESN, {r['task']}, {r['units']} units, test NRMSE", "test_error")


def baselines(data: dict) -> Values:
    return _by(data["rows"], lambda r: f"BPTT, {r['task']}, test NRMSE" if r["method"] == "bptt" else None,
               "test_error")


def language(data: dict) -> Values:
    return _by(data["rows"], lambda r: f"{r['method']}, {r['cells']} cells, largest n (M)"
               if r["method"] == "evolino" and r["cells"] == 8 else None, "limit")


def mackey_glass(data: dict) -> Values:
    return _by(data["rows"], lambda r: f"Mackey-Glass, {r['method']}, NRMSE84", "nrmse84")


def long_lag(data: dict) -> Values:
    return _by(data["rows"], lambda r: f"{r['task']}, {r['method']}"
               + (f", {r['settings']['cells']} cells, {r['settings']['generations']} generations"
                  if r["method"] == "evolino" and "settings" in r else "") + ", share solved", "solved")


def lags(data: dict) -> Values:
    return {f"{task}, {method}, largest T": {None: summary["largest_lag"]}
            for task, methods in data["summary"].items() for method, summary in methods.items()}


def real_series(data: dict) -> Values:
    return {f"{name}: free run and one-step no worse than the baselines":
            {None: bool(v.get("one_step_ok") and v.get("free_run_ok") and v.get("no_seed_above_limit"))}
            for name, v in data["summary"].items()}


def forecast(data: dict) -> Values:
    out: Values = {}
    for entry in data["series"]:
        methods = entry["methods"]
        arima = methods.get("autoarima", methods.get("AutoARIMA", {})).get("nrmse")
        if arima and methods.get("evolino", {}).get("nrmse") is not None:
            out.setdefault(f"{entry['set']}: evolino NRMSE / AutoARIMA's", {})[entry["name"]] = \
                methods["evolino"]["nrmse"] / arima
    return out


def classification(data: dict) -> Values:
    out: Values = {}
    for entry in data["sets"]:
        for method in ("evolino", "dtw", "rocket"):
            accuracy = (entry.get("methods", {}).get(method) or {}).get("accuracy")
            if accuracy is not None:
                out.setdefault(f"{method}: test accuracy", {})[entry["name"]] = accuracy
    return out


def vanishing(data: dict) -> Values:
    norms = data["median_norms"]
    carousel = next(k for k in norms if "carousel" in k)
    return {"tanh RNN (radius 0.9), error after 50 steps": {None: norms["tanh RNN, spectral radius 0.9"]["50"]},
            "LSTM carousel, error after 50 steps": {None: norms[carousel]["50"]}}


def gradient_lags(data: dict) -> Values:
    return {f"{task}, {method}, largest T": {None: summary["largest_lag"]}
            for task, methods in data["summary"].items() for method, summary in methods.items()}


def guessing(data: dict) -> Values:
    return _by(data["runs"], lambda r: f"{r['task']}, {r['architecture']}, trials", "trials")


def levin(data: dict) -> Values:
    return _by(data["rows"], lambda r: "Levin search, programs tried" if r["method"] == "levin" else None,
               "programs_tried", seed="none")


def history(data: dict) -> Values:
    return _by(data["rows"], lambda r: f"{r['task']}, {r['method']} (budget {r['budget']:,}), sequences",
               lambda r: r["sequences_to_success"] if r["solved"] else None)


# --------------------------------------------------------------------------------------------------- registry

@dataclass(frozen=True)
class Entry:
    """One results file and the headline rows made from it.

    ``covers``: regular expressions, each matched (re.search) against the generated rows it accounts for, written
    "results | <first cell>" for the README's results table and "overview | <experiment> | <what>" for the
    overview of experiments/README.md. ``full``: the script and arguments of the committed run; ``quick``: those
    of --quick (None: not rerun in --quick). ``agreement``: expected of the full rerun on another CPU family (the
    same family gives equal numbers for the same seed); ``quick_agreement``: of the quick version."""

    name: str
    results: str
    covers: tuple[str, ...]
    values: Callable[[dict], Values]
    full: tuple[str, ...]
    quick: tuple[str, ...] | None
    agreement: Agreement
    quick_agreement: Agreement | None = None
    note: str = ""
    files: tuple[str, ...] = field(default=())  # more committed files merged into this entry's (the lag study)


def _split(command: str) -> tuple[str, ...]:
    return tuple(shlex.split(command))


UNTESTED = "equal expected, not yet checked by a full rerun on another CPU family"
ERRORS = within(10)  # a float search's test error, across CPU families or seeds (see the module's docstring)

REGISTRY: tuple[Entry, ...] = (
    Entry("mso-table", "mso_table", (r"^results \| MSO[234], ", r"^results \| 5 sines, 20 cells \|",
                                     r"^overview \| `mso.py table` \|"), mso_table,
          _split("experiments/mso.py table --seeds 0 1 2 --generations 300 --optimizer cma"),
          _split("experiments/mso.py table --seeds 0 --generations 300 --optimizer cma --tasks mso2 mso3 mso4"),
          ERRORS, ERRORS, "quick: seed 0 of MSO2, MSO3 and MSO4 (the five sines with full CMA-ES: 75 s a run)"),
    Entry("sines5", "sines5", (r"^results \| 5 sines, 40 cells, sep-CMA-ES", r"^overview \| `sines5.py` \|"), sines5,
          _split("experiments/sines5.py --cells 40 20 --optimizers esp sep-cma --seeds 0 1 --generations 500 "
                 "--max-seconds 590.0"),
          _split("experiments/sines5.py --cells 40 20 --optimizers sep-cma --seeds 0 --generations 500 "
                 "--max-seconds 590.0"), ERRORS, ERRORS, "quick: sep-CMA-ES, seed 0 (the rows' optimizer)"),
    Entry("mso-ablation", "mso_ablation", (r"^overview \| `mso.py ablation` \|",), ablation,
          _split("experiments/mso.py ablation --seeds 0 1 2 --generations 300 --optimizer cma"), None, EQUAL,
          note="a choice among a grid: equal unless two settings are within rounding of each other"),
    Entry("esn-baseline", "esn_baseline", (r"^overview \| `esn_baseline.py` \|",), esn,
          _split("experiments/esn_baseline.py --tasks mso2 mso3 mso4 sines5 --seeds 0 1 2 --reservoirs 4"),
          _split("experiments/esn_baseline.py --tasks mso2 --seeds 0 --reservoirs 4"), ERRORS, ERRORS,
          "quick: MSO2's two searches, seed 0"),
    Entry("baselines", "baselines", (r"^overview \| `baselines.py` \|",), baselines,
          _split("experiments/baselines.py --tasks mso2 mso3 --seeds 0 1 2 --reservoirs 4 --generations 300"), None,
          ERRORS),
    Entry("anbncn", "anbncn", (r"^overview \| `anbncn.py` \|",), language,
          _split("experiments/anbncn.py --language anbncn --cells 4 8 --seeds 0 1 2 3 4 5 6 7 8 9 --bptt-seeds 0 "
                 "1 2 --generations 500 --optimizer cma --max-n 1000"),
          _split("experiments/anbncn.py --cells 8 --seeds 0 --bptt-seeds --generations 500 --max-n 1000"),
          RANGE, RANGE, "quick: 8 cells, seed 0, no BPTT"),
    Entry("anbn", "anbn", (r"^overview \| `anbncn.py --language anbn` \|",), language,
          _split("experiments/anbncn.py --language anbn --cells 4 8 --seeds 0 1 2 3 4 --bptt-seeds 0 1 2 "
                 "--generations 500 --optimizer cma --max-n 1000"), None, RANGE),
    Entry("mackey-glass", "mackey_glass", (r"^overview \| `mackey_glass.py` \|",), mackey_glass,
          _split("experiments/mackey_glass.py --seeds 0 1 2 3 4 --generations 300 --lags 20 --train 1000 "
                 "--esn-units 100 400 --esn-seeds 0 1 2 3 4"), None, within(3),
          note="a 100-cell run takes about 4 minutes"),
    Entry("long-lag", "long_lag", (r"^overview \| `long_lag.py` \|",), long_lag,
          _split("experiments/long_lag.py tasks --tasks adding temporal-order two-sequence latch parity "
                 "embedded-reber --methods evolino bptt esn --seeds 0 1 2 3 4 --baseline-seeds 0 1 2 3 4 "
                 "--bptt-iterations 500 --lags 100 200 500 1000"), None, RANGE),
    Entry("long-lag-adding-4cells", "long_lag_adding_4cells",
          (r"^overview \| `long_lag.py --cells 4 --generations 1000` \|",), long_lag,
          _split("experiments/long_lag.py tasks --tasks adding --methods evolino --seeds 0 1 2 3 4 --baseline-seeds "
                 "0 1 2 3 4 --optimizer cma --cells 4 --bptt-iterations 500 --lags 100 200 500 1000 --generations "
                 "1000"),
          None, RANGE),
    Entry("long-lag-adding-4cells-2000", "long_lag_adding_4cells_2000",
          (r"^overview \| `long_lag.py --cells 4 --generations 2000` \|",), long_lag,
          _split("experiments/long_lag.py tasks --tasks adding --methods evolino --seeds 0 1 2 3 4 --baseline-seeds "
                 "0 1 2 3 4 --optimizer cma --cells 4 --bptt-iterations 500 --lags 100 200 500 1000 --generations "
                 "2000"),
          None, RANGE),
    Entry("long-lag-reber-20cells", "long_lag_reber_20cells",
          (r"^overview \| `long_lag.py --cells 20 --generations 300` \|",), long_lag,
          _split("experiments/long_lag.py tasks --tasks embedded-reber --methods evolino bptt esn --seeds 0 1 2 3 4 "
                 "--baseline-seeds 0 1 2 3 4 --optimizer cma --cells 20 --bptt-iterations 500 --lags 100 200 500 1000 "
                 "--generations 300"), None, RANGE),
    Entry("long-lag-lags", "long_lag_lags", (r"^overview \| `long_lag.py lags` \|",), lags,
          _split("experiments/long_lag.py lags --tasks adding temporal-order two-sequence latch parity "
                 "embedded-reber --methods evolino --seeds 0 1 2 --baseline-seeds 0 1 --bptt-iterations 500 "
                 "--lags 100 200 500 1000"), None, EQUAL,
          note=f"{UNTESTED}; the baselines' half: long_lag.py lags --methods bptt esn (long_lag_lags_baselines.json)"),
    Entry("long-lag-lags-baselines", "long_lag_lags_baselines", (r"^overview \| `long_lag.py lags` \|",), lags,
          _split("experiments/long_lag.py lags --tasks adding temporal-order two-sequence latch parity "
                 "embedded-reber --methods bptt esn --seeds 0 1 2 --baseline-seeds 0 1 2 --bptt-iterations 500 "
                 "--lags 100 200 500 1000"), None, EQUAL, note=UNTESTED),
    Entry("real-series", "real_series", (r"^overview \| `real_series.py` \|",), real_series,
          ("experiments/real_series.py", "--series", "sunspots", "co2", "elnino", "nile", "elec_equip", "infl",
           "unemp", "realgdp", "cpi", "--seeds", "0", "1", "2", "--variants",
           "fitness on the validation part=--holdout 0", "no direct view of the past=--lags 0"), None, EQUAL,
          note=UNTESTED),
    Entry("forecast-benchmark", "forecast_benchmark", (r"^overview \| `forecast_benchmark.py` \|",), forecast,
          _split("experiments/forecast_benchmark.py --set all --seeds 0 1 2 --dates"), None, within(1.5),
          note="45 series x 3 seeds and the statistical models: about 1.5 hours"),
    Entry("classification-benchmark", "classification_benchmark", (r"^overview \| `classification_benchmark.py` \|",),
          classification,
          _split("experiments/classification_benchmark.py --sets UnitTest ItalyPowerDemand ArrowHead BasicMotions "
                 "GunPoint JapaneseVowels PickupGestureWiimoteZ --set development --seeds 0 1 2"), None, within(1.1),
          note="7 sets x 3 seeds and four classifiers: about 1.2 hours"),
    Entry("vanishing-gradients", "vanishing_gradients", (r"^overview \| `vanishing_gradients.py` \|",), vanishing,
          ("experiments/vanishing_gradients.py",), ("experiments/vanishing_gradients.py",), within(1.001),
          within(1.001), "no search: deterministic arithmetic, equal up to the last bits"),
    Entry("gradient-lags", "gradient_lags", (r"^overview \| `gradient_lags.py` \|",), gradient_lags,
          _split("experiments/gradient_lags.py --tasks latch two-sequence adding temporal-order --lags 10 20 50 100 "
                 "--seeds 0 1 2 --iterations 500"), None, EQUAL, note=UNTESTED),
    Entry("guessing-study", "guessing_study", (r"^overview \| `guessing_study.py` \|",), guessing,
          _split("experiments/guessing_study.py --seeds " + " ".join(map(str, range(20))) + " --rows latch:a1 "
                 "latch:one-tanh latch:one-tanh-nobias latch-noiseless:a1 parity:a1 parity:a2 parity:a2-noself "
                 "--max-trials 100000 --train 100 --test 1000 --batch 1000"),
          _split("experiments/guessing_study.py --seeds 0 1 2 3 4 --rows latch:one-tanh-nobias latch-noiseless:a1 "
                 "parity:a2-noself --max-trials 100000 --train 100 --test 1000 --batch 1000"), EQUAL, EQUAL,
          "quick: the three cheapest rows, seeds 0-4; trials are counts of random guesses"),
    Entry("levin-search", "levin_search", (r"^overview \| `levin_search.py` \|",), levin,
          _split("experiments/levin_search.py --max-phase 30 --time-scale 1.0 --guess-trials 1000000 --seed 0"),
          _split("experiments/levin_search.py --max-phase 30 --time-scale 1.0 --guess-trials 1000 --seed 0"),
          EQUAL, EQUAL, "quick: 1,000 random guesses beside it (the search itself is the same)"),
    Entry("history-compressor", "history_compressor", (r"^overview \| `history_compressor.py` \|",), history,
          _split("experiments/history_compressor.py --seeds 0 1 2 3 4 --tasks chunking-20 recall-1000 "
                 "--compressor-budget 10000 --rnn-budget 100000 --recall-rnn-budget 10000 --radius 1.0"),
          _split("experiments/history_compressor.py --seeds 0 1 2 3 4 --tasks chunking-20 recall-1000 "
                 "--compressor-budget 10000 --rnn-budget 100 --recall-rnn-budget 100 --radius 1.0"),
          EQUAL, EQUAL, "quick: the compressor rows (the plain RNNs' budgets cut to 100 and not compared)"),
)


# ---------------------------------------------------------------------------------------------------- running

def cpu_name() -> str:
    """This machine's CPU and widest SIMD extension (benchmarks/jax_peer.py), e.g. "AMD EPYC (AVX-512)"."""
    spec = importlib.util.spec_from_file_location("jax_peer", ROOT / "benchmarks" / "jax_peer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cpu_name()


def show(values: dict) -> str:
    """The numbers of one row: one value, or the median and the range over seeds."""
    items = [v for _, v in sorted(values.items(), key=lambda kv: str(kv[0]))]
    if not items:
        return "-"
    if len(items) == 1 or not all(isinstance(v, (int, float)) or v is None for v in items) or \
            all(isinstance(v, bool) for v in items):
        return " / ".join(_text(v) for v in items) if len(items) <= 3 else f"{len(items)} values"
    numbers = [_number(v) for v in items]
    return f"{_text(float(np.median(numbers)))} ({_text(min(numbers))} .. {_text(max(numbers))}, n={len(items)})"


def _text(v) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "none" if v is None else "inf"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, int) or float(v).is_integer():
        return f"{v:,.0f}"
    return f"{v:.3g}" if 1e-2 <= abs(v) < 1e4 else f"{v:.2e}"


def run(entry: Entry, quick: bool, scratch: Path, passthrough: list[str]) -> tuple[Path | None, float, str]:
    """Run the entry's command (its quick version with ``quick``) into ``scratch``: (results file, seconds, error)."""
    arguments = entry.quick if quick else entry.full
    out = scratch / f"{entry.name}.json"
    command = [sys.executable, str(ROOT / arguments[0]), *arguments[1:], *passthrough, "--out", str(out)]
    if re.search(r"^from sweeps import", (ROOT / arguments[0]).read_text(), re.M):
        command += ["--sweep-dir", str(scratch / f"{entry.name}-sweeps")]  # a new sweep, not runs/experiments/'s
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0 or not out.exists():
        last = (done.stderr or done.stdout).strip().splitlines()
        return None, seconds, last[-1] if last else f"exit status {done.returncode}"
    return out, seconds, ""


def compare(entry: Entry, committed: dict, measured: dict | None, agreement: Agreement) -> list[dict]:
    """One comparison per label of the committed file: committed, measured, agreement, verdict."""
    old = entry.values(committed)
    new = entry.values(measured) if measured is not None else {}
    rows = []
    for label, values in old.items():
        if label not in new:
            rows.append({"entry": entry.name, "row": label, "committed": show(values), "measured": "-",
                         "agreement": str(agreement), "verdict": "not rerun"})
            continue
        agrees = agreement.holds(values, new[label])
        rows.append({"entry": entry.name, "row": label, "committed": show(values), "measured": show(new[label]),
                     "agreement": str(agreement), "verdict": "agrees" if agrees else "differs"})
    return rows


def print_table(rows: list[dict]) -> None:
    keys = ("entry", "row", "committed", "measured", "agreement", "verdict")
    widths = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in keys}
    print("  ".join(k.ljust(widths[k]) for k in keys))
    for r in rows:
        print("  ".join(str(r[k]).ljust(widths[k]) for k in keys))


# ------------------------------------------------------------------------------------------------ freshness

# What a results file's numbers depend on besides the script that made it: the package, its pinned dependencies and
# the helpers every experiment imports. Docs, tests and the other scripts do not change a file's numbers.
CODE = ("evolino", "pyproject.toml", "experiments/provenance.py", "experiments/sweeps.py")


def without_docstrings(source: str) -> str:
    """A Python source's syntax tree without its docstrings (comments are not in the tree), as text: equal for two
    versions of a file that differ only in what they say about the code."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body and \
                isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and \
                isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def _only_words_changed(commit: str, path: str) -> bool:
    """Whether Python file ``path`` differs between ``commit`` and HEAD in comments and docstrings only."""
    if not path.endswith(".py"):
        return False
    old, new = _git(["show", f"{commit}:{path}"], ROOT), _git(["show", f"HEAD:{path}"], ROOT)
    if old is None or new is None:  # added or removed
        return False
    try:
        return without_docstrings(old) == without_docstrings(new)
    except SyntaxError:
        return False


def code_changed_since(commit: str, script: str | None) -> list[str] | None:
    """The files among :data:`CODE` and ``script`` whose code differs between ``commit`` and HEAD, changes to comments
    and docstrings aside (None when git, or the commit in this clone, is not there)."""
    paths = [*CODE, *([script] if script else [])]
    changed = _git(["diff", "--name-only", commit, "HEAD", "--", *paths], ROOT)
    if changed is None:
        return None
    return [path for path in changed.split() if not _only_words_changed(commit, path)]


def freshness_row(meta: dict) -> dict:
    """A results file's provenance (its "meta") -> the commit and CPU that made it, and whether HEAD's code would
    make it ("fresh": the code of no file it depends on changed since its commit, and it was not made with
    uncommitted changes to one), with why not."""
    machine = meta.get("machine", {})
    commit, command = meta.get("commit"), meta.get("command") or ""
    script = next((word for word in shlex.split(command) if word.endswith(".py")), None)
    changed = code_changed_since(commit, script) if commit else None
    dirty = [f for f in meta.get("changed_files", []) if f == script or f.startswith(CODE)] if meta.get("dirty") else []
    since = (_git(["rev-list", "--count", f"{commit}..HEAD"], ROOT) or "").strip() if commit else ""
    fresh = changed == [] and not dirty
    return {"commit": (commit or "?")[:8], "commits_since": int(since) if since.isdigit() else None, "command": command,
            "cpu": f"{machine.get('processor', '?')} ({machine.get('simd', '?')})",
            "date": (meta.get("date") or "?")[:10], "fresh": fresh,
            "why": "" if fresh else "commit unknown here" if changed is None else
            f"made with uncommitted changes to {', '.join(dirty)}" if dirty else
            f"{len(changed)} code file(s) changed since, e.g. {', '.join(changed[:3])}"}


def freshness(folders: tuple[Path, ...] = (RESULTS, ROOT / "benchmarks" / "results")) -> list[dict]:
    """:func:`freshness_row` of every committed results file, with its path."""
    return [{"file": str(path.relative_to(ROOT)), **freshness_row(json.loads(path.read_text()).get("meta", {}))}
            for path in sorted(p for folder in folders for p in folder.glob("*.json"))]


def print_freshness(rows: list[dict]) -> None:
    print("| results file | made at | commits since | CPU | date | made by HEAD's code |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['file']} | {r['commit']} | {r['commits_since']} | {r['cpu']} | {r['date']} | "
              f"{'yes' if r['fresh'] else 'no: ' + r['why']} |")
    stale = [r for r in rows if not r["fresh"]]
    print(f"\n{len(rows) - len(stale)} of {len(rows)} results files were made by the code at HEAD")
    if stale:
        print("to remake the others, in a clean checkout of HEAD, each one's recorded command (with --write-results, "
              "to replace the committed file):")
        print("\n".join(f"    {r['command'] or '(no command recorded): ' + r['file']}" for r in stale))


def list_registry(quick: bool) -> None:
    for entry in REGISTRY:
        print(f"{entry.name}  (experiments/results/{entry.results}.json; {entry.agreement})")
        print(f"    full:  python {shlex.join(entry.full)}")
        print(f"    quick: {'python ' + shlex.join(entry.quick) if entry.quick else 'not rerun in --quick'}")
        if entry.note:
            print(f"    note:  {entry.note}")


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT / "experiments"))
    from provenance import add_output_arguments, command_line, output_path, write_results

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the short versions (about 5 minutes on 2 cores)")
    parser.add_argument("--rows", nargs="+", metavar="NAME", default=None, help="only these entries (see --list)")
    parser.add_argument("--list", action="store_true", help="list the entries and their commands, and stop")
    parser.add_argument("--freshness", action="store_true", help="say which committed results files HEAD's code "
                        "would make (none of the code they depend on changed since their commit), and stop; exit 1 "
                        "when one would not")
    parser.add_argument("--scratch", type=Path, default=None, help="where the reruns write (default: a temporary "
                        "folder)")
    add_output_arguments(parser, DEFAULT_OUT, "only levin-search, its script in its own smoke mode (the numbers are "
                         "not the experiment's and are not judged; with --rows, those rows' scripts in smoke mode)")
    args = parser.parse_args(argv)
    if args.write_results:
        parser.error("reproduce.py compares with the committed results files and never replaces them: leave out "
                     "--write-results (the comparison goes to runs/reproduce/ or --out)")
    output_path(parser, args, DEFAULT_OUT, "reproduce")
    if args.smoke and args.rows is None:
        args.rows = ["levin-search"]
    if args.list:
        list_registry(args.quick)
        return 0
    if args.freshness:
        rows = freshness()
        print_freshness(rows)
        return 0 if all(r["fresh"] for r in rows) else 1
    names = {e.name for e in REGISTRY}
    unknown = set(args.rows or ()) - names
    if unknown:
        parser.error(f"unknown rows {sorted(unknown)}; known: {', '.join(sorted(names))}")
    chosen = [e for e in REGISTRY if args.rows is None or e.name in args.rows]

    here = cpu_name()
    print(f"this machine: {here}")
    comparisons, timings, started = [], {}, time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reproduce-") as temporary:
        scratch = args.scratch or Path(temporary)
        scratch.mkdir(parents=True, exist_ok=True)
        for entry in chosen:
            committed = json.loads((RESULTS / f"{entry.results}.json").read_text())
            agreement = entry.quick_agreement if args.quick else entry.agreement
            heads = freshness_row(committed["meta"])["fresh"]  # what vouches for a row that is not rerun here
            if args.quick and entry.quick is None:
                rows = compare(entry, committed, None, entry.agreement)
                for r in rows:
                    r["rerun"], r["file_made_by_head"] = "python " + shlex.join(entry.full), heads
                comparisons += rows
                continue
            made = committed["meta"]
            print(f"running {entry.name}: python {shlex.join(entry.quick if args.quick else entry.full)}\n"
                  f"    committed on {made['machine'].get('processor', '?')}, {made.get('date', '?')[:10]}",
                  flush=True)
            path, seconds, error = run(entry, args.quick, scratch, ["--smoke"] if args.smoke else [])
            timings[entry.name] = round(seconds, 1)
            print(f"    {seconds:.1f} s{'  FAILED: ' + error if error else ''}", flush=True)
            measured = json.loads(path.read_text()) if path else None
            try:
                rows = compare(entry, committed, measured, agreement)
            except (KeyError, TypeError, StopIteration) as problem:  # a smoke run's file may lack a row's fields
                rows = [{"entry": entry.name, "row": "(all)", "committed": "-", "measured": f"unreadable: {problem!r}",
                         "agreement": str(agreement), "verdict": "differs"}]
            if path is None:
                for r in rows:
                    r["verdict"], r["measured"] = "differs", f"failed: {error}"
            if args.smoke and path is not None:  # a smoke run checks the plumbing: its numbers are not judged
                for r in rows:
                    r["verdict"] = "smoke run"
            for r in rows:
                r["committed_on"] = f"{made['machine'].get('processor', '?')}, {made.get('date', '?')[:10]}"
                r["file_made_by_head"] = heads
            comparisons += rows
    total = time.perf_counter() - started
    print()
    print_table(comparisons)
    differs = [r for r in comparisons if r["verdict"] == "differs"]
    skipped = dict.fromkeys(r["rerun"] for r in comparisons if "rerun" in r)
    if skipped:
        print("\nnot rerun in --quick; to rerun them at the committed settings (add --out FILE):")
        print("\n".join(f"    {command}" for command in skipped))
    not_rerun = [r for r in comparisons if r["verdict"] == "not rerun"]
    print(f"\n{len(comparisons)} rows: {sum(r['verdict'] == 'agrees' for r in comparisons)} agree, {len(differs)} "
          f"differ, {len(not_rerun)} not rerun"
          + (f" ({sum(r['file_made_by_head'] for r in not_rerun)} of them from results files that HEAD's "
             "code made: --freshness)" if not_rerun else "")
          + (f", {sum(r['verdict'] == 'smoke run' for r in comparisons)} smoke runs" if args.smoke else "")
          + f"; {total:.0f} s on {here}")
    write_results(args.out, {"quick": args.quick, "smoke": args.smoke, "cpu": here, "seconds": round(total, 1),
                             "entry_seconds": timings, "rows": comparisons}, command_line(args))
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main())
