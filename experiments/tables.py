"""The README's results and the tables of docs/reproducing.md, generated from experiments/results/*.json.

    python experiments/tables.py           # rewrite the generated blocks (README.md, docs/, experiments/README.md)
    python experiments/tables.py --check   # exit 1 if a block differs from what the JSON gives

A generated block sits between ``<!-- generated:NAME -->`` and ``<!-- end generated:NAME -->``; everything outside
the markers is left alone. Every number in a block comes from a results file, so the text cannot drift from the
measurements (tests/test_results_files.py runs the check). The published figures are constants here, with their
labels: the Evolino paper's are recalled, not verified. Figures measured outside this repository (PyBrain's Evolino,
at 100 generations) stay out of the generated tables: they are text in docs/reproducing.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "results"
TASK_LABELS = {"mso2": "MSO2", "mso3": "MSO3", "mso4": "MSO4", "sines5": "5 sines"}


# ----------------------------------------------------------------------------------------------------- numbers

def fmt(x: float | None, digits: int = 1) -> str:
    """2.2e-8 style (no zero-padded exponent); "diverged" for a missing (non-finite) error."""
    if x is None or not np.isfinite(x):
        return "diverged"
    mantissa, exponent = f"{x:.{digits}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _value(x: float | None) -> float:
    return np.inf if x is None else float(x)


def span(values: Iterable[float | None]) -> str:
    """"a .. b" over the values (one value when they agree to the digits shown)."""
    ordered = sorted(_value(v) for v in values)
    low, high = fmt(ordered[0]), fmt(ordered[-1])
    return low if low == high else f"{low} .. {high}"


def median(values: Iterable[float | None]) -> float:
    return float(np.median([_value(v) for v in values]))


def seconds(rows: list[dict]) -> str:
    low, high = min(r["seconds"] for r in rows), max(r["seconds"] for r in rows)
    return f"{low:.0f} s" if round(low) == round(high) else f"{low:.0f}-{high:.0f} s"


def times(r: float) -> str:
    return f"{r:.0f}x" if r >= 10 else f"{r:.1f}x"


def ratio_text(evolino: float, esn: float) -> str:
    """Whose median error is lower, by how much: "Evolino 120x lower" / "the ESN 30x lower"."""
    if not np.isfinite(esn):
        return "the ESN diverges"
    if not np.isfinite(evolino):
        return "Evolino diverges"
    return f"Evolino {times(esn / evolino)} lower" if esn >= evolino else f"the ESN {times(evolino / esn)} lower"


def wins(pairs: list[tuple[float, float]]) -> str:
    """"all 4" / "2 of 4" / "none of the 4": on how many (evolino, esn) pairs Evolino's error is the lower."""
    won = sum(evolino < esn for evolino, esn in pairs)
    return f"all {len(pairs)}" if won == len(pairs) else f"none of the {len(pairs)}" if won == 0 else \
        f"{won} of {len(pairs)}"


def prose(text: str) -> str:
    """A paragraph wrapped at the project's 120 columns (never inside a word)."""
    return textwrap.fill(text, width=120, break_long_words=False, break_on_hyphens=False)


def load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def _rows(data: dict, **match) -> list[dict]:
    return [r for r in data["rows"] if all(r.get(k) == v for k, v in match.items())]


# ------------------------------------------------------------------------------------------------- the blocks

def _esn(esn: dict, task: str, units: int) -> list[dict]:
    return _rows(esn, task=task, units=units)


def _readme_table(mso: dict, sines5: dict, esn: dict) -> tuple[list[str], list[tuple], list[tuple]]:
    """The README's table, and (label, Evolino's median, the ESN's median, the paper's figure) at equal size and
    against 100 units."""
    lines = ["| task | evolino | time per run | ESN, same size | ESN, 100 units | Evolino paper (recalled, not "
             "verified) |", "|---|---|---|---|---|---|"]
    equal, large = [], []
    for task in ("mso2", "mso3", "mso4", "sines5"):
        rows = _rows(mso, task=task)
        cells, paper = rows[0]["cells"], rows[0]["paper"]
        same, big = _esn(esn, task, cells), _esn(esn, task, 100)
        lines.append(f"| {TASK_LABELS[task]}, {cells} cells | {span(r['test_error'] for r in rows)} | "
                     f"{seconds(rows)} | {span(r['test_error'] for r in same)} | {span(r['test_error'] for r in big)} "
                     f"| ~{paper:g} |")
        reference = median(r["test_error"] for r in rows)
        equal.append((TASK_LABELS[task], reference, median(r["test_error"] for r in same), paper))
        large.append((TASK_LABELS[task], reference, median(r["test_error"] for r in big), paper))
    sep, same40 = _rows(sines5, cells=40, optimizer="sep-cma"), _esn(esn, "sines5", 40)
    lines.append(f"| 5 sines, 40 cells, sep-CMA-ES | {span(r['test_error'] for r in sep)} | {seconds(sep)} | "
                 f"{span(r['test_error'] for r in same40)} | (as above) | - |")
    equal.append(("5 sines with 40", median(r["test_error"] for r in sep), median(r["test_error"] for r in same40),
                  None))
    return lines, equal, large


def _verdict(equal: list[tuple], large: list[tuple]) -> str:
    """What the comparison with the ESN says, in words chosen by the numbers."""

    def compared(entries):
        return ", ".join(f"{label} {ratio_text(a, b)}" for label, a, b, _ in entries)

    lost = sum(b < a for _, a, b, _ in large)
    below_paper = sum(b < paper for _, _, b, paper in large)
    text = (f"**What holds.** At equal size (as many readout weights) Evolino's median test error is the lower on "
            f"{wins([(a, b) for _, a, b, _ in equal])} tasks: {compared(equal)}. Against a 100-unit ESN it is the "
            f"lower on {wins([(a, b) for _, a, b, _ in large])}: {compared(large)}.")
    if lost * 2 > len(large):
        text += " Evolino's case is compact networks, not the lowest MSO error for the compute."
    return text + (f" The 100-unit ESN is also below the Evolino paper's figures on {below_paper} of {len(large)} "
                   "tasks: beating those figures proves little by itself.")


def readme_results() -> str:
    mso, sines5, esn, anbncn, ablation = (load(n) for n in ("mso_table", "sines5", "esn_baseline", "anbncn",
                                                             "mso_ablation"))
    table, equal, large = _readme_table(mso, sines5, esn)
    esn_rows, ars = esn["rows"], [r["trivial_baselines"]["ar"]["test_error"] for r in mso["rows"]]
    paragraphs = [
        "Test NRMSE on the free-running steps 400-699, which no fit, search or selection ever sees: the range over "
        "three seeds (Evolino) or three searches (ESN). Wall times on a 2-core machine shared with other jobs, "
        "indicative only.",
        "\n".join(table),
        "Evolino: `python experiments/mso.py table` (CMA-ES, population 40, 300 generations) and `python "
        "experiments/sines5.py` (sep-CMA-ES, 500 generations). ESN: `python experiments/esn_baseline.py`, each search "
        f"making {esn_rows[0]['settings']:,} validation scores (settings of leak rate, spectral radius, feedback "
        "scale, density and Evolino's own readout options, each on several random reservoirs) on the validation "
        "window only, then testing its choice once; a search takes "
        f"{seconds(esn_rows)}. Details, and figures measured outside this repository (PyBrain's Evolino, 100 "
        "generations): [docs/reproducing.md](docs/reproducing.md).",
        _verdict(equal, large),
        "Every run also reports trivial models on the same steps. On MSO, AR(p) fitted by least squares (p chosen "
        f"on the validation window) generates the test window to NRMSE {span(ars)}: MSO is linear at heart, a "
        "2K-state linear oscillator generates MSO-K exactly. These tasks test whether evolved nonlinear dynamics stay "
        "exact and stable in closed loop, not forecasting skill beyond a linear model.",
        _anbncn_sentence(anbncn),
        "More (every seed, the ablation, BPTT) in [docs/reproducing.md](docs/reproducing.md) and "
        "`experiments/results/`, where every file records its commit, library versions, machine, command and date. "
        "What made the difference: an honest closed-loop fitness, a QR-based least-squares readout with a small "
        f"pseudo-inverse cutoff and a small output-feedback scale, {_defaults_choice(ablation['summary'])}; see "
        "[docs/architecture.md](docs/architecture.md).",
    ]
    return "\n\n".join(p if p.startswith("|") else prose(p) for p in paragraphs)


def _anbncn_sentence(anbncn: dict) -> str:
    s8, s4 = anbncn["summary"]["evolino/8"], anbncn["summary"]["evolino/4"]
    rows8, rows4 = _rows(anbncn, method="evolino", cells=8), _rows(anbncn, method="evolino", cells=4)
    limits = [r["limit"] for r in rows8]
    capped = [r for r in rows4 if r["limit"] >= s4["limit_capped_at"]]
    four = (f"; {len(capped)} of the {len(rows4)} 4-cell networks count without error up to n = "
            f"{s4['limit_capped_at']} (the cap)" if capped else "")
    return (f"a^n b^n c^n (train on n = 1..10; M = the largest n up to which every string is predicted right): "
            f"`python experiments/anbncn.py` with 8 cells learns the training set in {s8['train_solved']} of "
            f"{s8['runs']} seeds, M = {min(limits)}..{max(limits)} (median {s8['median_limit']:g}; the Evolino "
            f"paper: ~{anbncn['meta'].get('published_limit', 29)}, recalled, not verified), {seconds(rows8)} per "
            f"run{four}.")


def reproducing_mso() -> str:
    mso, sines5 = load("mso_table"), load("sines5")
    seeds = sorted({r["seed"] for r in mso["rows"]})
    lines = [f"| task | cells | test NRMSE, seeds {' / '.join(map(str, seeds))} | time per run | Evolino paper |",
             "|---|---|---|---|---|"]
    for task in ("mso2", "mso3", "mso4", "sines5"):
        rows = sorted(_rows(mso, task=task), key=lambda r: r["seed"])
        lines.append(f"| {TASK_LABELS[task]} | {rows[0]['cells']} | {' / '.join(fmt(r['test_error']) for r in rows)} "
                     f"| {seconds(rows)} | ~{rows[0]['paper']:g} |")
    parts = []
    for cells in (40, 20):
        for optimizer, label in (("sep-cma", "sep-CMA-ES"), ("esp", "ESP")):
            rows = sorted(_rows(sines5, cells=cells, optimizer=optimizer), key=lambda r: r["seed"])
            if rows:
                parts.append(f"{cells} cells, {label}: {' / '.join(fmt(r['test_error']) for r in rows)} "
                             f"(seeds {' / '.join(str(r['seed']) for r in rows)}, {seconds(rows)})")
    lines += ["", f"**The five sines**, `{sines5['meta']['command']}` -> `experiments/results/sines5.json`: "
              + "; ".join(parts) + "."]
    return "\n".join(lines)


def reproducing_esn_verdict() -> str:
    """What the ESN comparison says, in words chosen by the numbers (the README's paragraph)."""
    _, equal, large = _readme_table(load("mso_table"), load("sines5"), load("esn_baseline"))
    return prose(_verdict(equal, large))


def reproducing_ablation() -> str:
    summary = load("mso_ablation")["summary"]
    settings = summary["settings"]
    feedbacks = sorted({s["feedback_scale"] for s in settings}, reverse=True)
    lines = ["| cutoff (rcond) | " + " | ".join(f"feedback {f:g}" for f in feedbacks) + " |",
             "|---|" + "---|" * len(feedbacks)]
    for rcond in sorted({s["rcond"] for s in settings}, reverse=True):
        cells = [fmt(next(s["median_validation_error"] for s in settings
                          if s["rcond"] == rcond and s["feedback_scale"] == f)) for f in feedbacks]
        lines.append(f"| {rcond:g} | " + " | ".join(cells) + " |")
    chosen = summary["chosen"]
    lines += ["", f"Chosen on the median validation NRMSE: cutoff {chosen['rcond']:g}, feedback scale "
              f"{chosen['feedback_scale']:g} ({fmt(chosen['median_validation_error'])}); the test NRMSE of that "
              f"setting, looked at only after the choice: {' / '.join(fmt(t) for t in summary['chosen_test_errors'])}."]
    return "\n".join(lines)


def reproducing_esn() -> str:
    esn, mso, sines5 = load("esn_baseline"), load("mso_table"), load("sines5")
    seeds = sorted({r["seed"] for r in esn["rows"]})
    lines = [f"| task | units | ESN test NRMSE, searches {' / '.join(map(str, seeds))} | Evolino, same size "
             "(median) | median ratio | chosen settings (leak, radius, feedback, density, readout) | time per search |",
             "|---|---|---|---|---|---|---|"]
    for key in esn["summary"]:
        task, units = key.split("/")
        rows = sorted(_esn(esn, task, int(units)), key=lambda r: r["seed"])
        evolino_rows = _rows(mso, task=task, cells=int(units)) or _rows(sines5, task=task, cells=int(units),
                                                                          optimizer="sep-cma")
        reference = median(r["test_error"] for r in evolino_rows) if evolino_rows else None
        versus = ratio_text(reference, median(r["test_error"] for r in rows)) if reference else "-"
        chosen = "; ".join(_setting(r["chosen"]) for r in rows)
        lines.append(f"| {TASK_LABELS[task]} | {units} | {' / '.join(fmt(r['test_error']) for r in rows)} | "
                     f"{fmt(reference) if reference else '-'} | {versus} | {chosen} | {seconds(rows)} |")
    return "\n".join(lines)


def _setting(chosen: dict) -> str:
    readout = chosen["readout"]
    solver = f"pinv {readout['rcond']:g}" if readout["ridge"] == 0 else f"ridge {readout['ridge']}"
    return f"{chosen['leak']:g}, {chosen['spectral_radius']:g}, {chosen['feedback_scale']:g}, {chosen['density']:g}, " \
           f"{solver}"


def reproducing_baselines() -> str:
    data = load("baselines")
    methods = (("evolino", "Evolino"), ("bptt", "LSTM trained by BPTT (same network)"),
               ("esn_equal_size", "ESN, same size"), ("esn_100", "ESN, 100 units"))
    lines = ["| task | " + " | ".join(label for _, label in methods) + " |", "|---|" + "---|" * len(methods)]
    for task in dict.fromkeys(r["task"] for r in data["rows"]):
        cells = [" / ".join(fmt(r["test_error"]) for r in sorted(_rows(data, task=task, method=m),
                                                                  key=lambda r: r["seed"])) for m, _ in methods]
        lines.append(f"| {TASK_LABELS[task]} | " + " | ".join(cells) + " |")
    return "\n".join(lines + ["", prose(_bptt_budget(data))])


def _bptt_budget(data: dict) -> str:
    """How the BPTT LSTM of baselines.json was chosen, and its cost beside Evolino's and the ESN's."""
    bptt = _rows(data, method="bptt")
    if "adam_steps" not in bptt[0]:
        return ("BPTT in this file predates the validation-chosen grid: it tried feedback scales 1.0 and 0.1 at "
                "learning rate 1e-2 with 500 Adam steps, trained on steps 0-299 only and never refitted.")
    chosen = "; ".join(f"{TASK_LABELS[r['task']]} seed {r['seed']}: rate {r['chosen']['learning_rate']:g}, bias "
                       f"{r['chosen']['forget_bias']:g}, {r['chosen']['iterations']} steps"
                       for r in sorted(bptt, key=lambda r: (r["task"], r["seed"])))
    evolino, esn = _rows(data, method="evolino"), _rows(data, method="esn_equal_size") + _rows(data, method="esn_100")
    return (f"BPTT: {bptt[0]['settings']} settings (learning rate x forget gates' initial bias x Adam steps, "
            f"{bptt[0]['adam_steps']:,} Adam steps in all) each trained on steps 0-299 and scored on the validation "
            f"window 300-399; the chosen setting is trained again on steps 0-399 and generates the test window once "
            f"({chosen}). Wall time per search and refit {seconds(bptt)}; Evolino {seconds(evolino)} per run; the ESN "
            f"searches {seconds(esn)}.")


def language_table(name: str, beyond: str = "published") -> str:
    """The generalisation limits of one language experiment (``anbncn`` or ``anbn``); the runs counted are those
    beyond the published limit, or (``beyond="test"``) beyond the test lengths."""
    data = load(name)
    limit = data["meta"]["test_max"] if beyond == "test" else data["meta"].get("published_limit", 29)
    what = "the test lengths" if beyond == "test" else "published"
    lines = [f"| method, cells | training strings all accepted | M, all seeds | median M | runs with M > {limit} "
             f"({what}) | time per run |", "|---|---|---|---|---|---|"]
    for key, s in data["summary"].items():
        method, cells = key.split("/")
        rows = sorted(_rows(data, method=method, cells=int(cells)), key=lambda r: r["seed"])
        limits = ", ".join(f"**{r['limit']}**" if r["limit"] >= s["limit_capped_at"] else str(r["limit"])
                           for r in rows)
        label = "Evolino" if method == "evolino" else "BPTT"
        count = s["runs_beyond_test"] if beyond == "test" else s["runs_beyond_published"]
        lines.append(f"| {label}, {cells} cells | {s['train_solved']} / {s['runs']} | {limits} | "
                     f"{s['median_limit']:g} | {count} | {seconds(rows)} |")
    return "\n".join(lines)


def reproducing_anbncn() -> str:
    return language_table("anbncn")


def _defaults_chosen(summary: dict) -> bool:
    """Whether the ablation's choice on validation is the readout defaults."""
    return summary["chosen"] == {**summary["chosen"], **summary["defaults"]}


def _defaults_choice(summary: dict) -> str:
    """How the readout defaults relate to the ablation's choice on validation (README)."""
    chosen, defaults = summary["chosen"], summary["defaults"]
    if _defaults_chosen(summary):
        return ("both chosen on the validation error (`python experiments/mso.py ablation`: cutoff "
                f"{chosen['rcond']:g}, feedback scale {chosen['feedback_scale']:g})")
    default_error = next(s["median_validation_error"] for s in summary["settings"]
                         if s["rcond"] == defaults["rcond"] and s["feedback_scale"] == defaults["feedback_scale"])
    return (f"by default {defaults['rcond']:g} and {defaults['feedback_scale']:g} (on the validation error "
            f"`python experiments/mso.py ablation` now prefers cutoff {chosen['rcond']:g} and feedback scale "
            f"{chosen['feedback_scale']:g}: median {fmt(chosen['median_validation_error'])} against "
            f"{fmt(default_error)} for the defaults)")


def architecture_cutoff() -> str:
    """The paragraph of docs/architecture.md that justifies the readout defaults, from the ablation."""
    summary = load("mso_ablation")["summary"]
    settings, chosen, defaults = summary["settings"], summary["chosen"], summary["defaults"]
    at_feedback = sorted((s for s in settings if s["feedback_scale"] == chosen["feedback_scale"]),
                         key=lambda s: -s["rcond"])
    errors = [s["median_validation_error"] for s in at_feedback]
    decades = np.log10(max(errors) / min(errors))
    listing = ", ".join(f"{s['rcond']:g} gave {fmt(s['median_validation_error'])}" for s in at_feedback)
    smallest = chosen["rcond"] == min(s["rcond"] for s in settings)
    verdict = ("are the setting with the lowest median validation error of the "
               f"{len(settings)} tried" if _defaults_chosen(summary) else
               f"are not the best on validation: the ablation chose cutoff {chosen['rcond']:g} and feedback scale "
               f"{chosen['feedback_scale']:g}")
    return prose(f"**The pseudo-inverse cutoff is a first-class parameter.** On MSO2 with 10 cells "
            f"(`python experiments/mso.py ablation`, three seeds, `experiments/results/mso_ablation.json`) the cutoff "
            f"changed the median validation error (the closed-loop error on steps 300-399, the fitness itself) by "
            f"{decades:.0f} orders of magnitude at feedback scale {chosen['feedback_scale']:g}: rcond {listing}. "
            f"The CLI defaults, cutoff {defaults['rcond']:g} and feedback scale {defaults['feedback_scale']:g}, "
            f"{verdict}"
            + (" (the cutoff is the smallest tried, near the rounding level of the singular values)" if smallest
               else "") + "; the test window took no part in the choice.")


# ------------------------------------------------------------------------------------------ docs/long-lag.md

METHOD_LABELS = {"evolino": "Evolino", "bptt": "LSTM by BPTT", "esn": "ESN, same size"}


def _percent(x: float) -> str:
    return f"{100 * x:.1f}%"


def _solved_span(rows: list[dict]) -> str:
    values = sorted(r["solved"] for r in rows)
    middle = _percent(float(np.median(values)))
    return middle if values[0] == values[-1] else f"{middle} ({_percent(values[0])} .. {_percent(values[-1])})"


# The long-lag table's sources: the main run, and runs of one method with another budget (label of its rows).
LONG_LAG_FILES = (("long_lag", None), ("long_lag_adding500", "Evolino, 500 generations"),
                  ("long_lag_adding_population100", "Evolino, population 100, 250 generations"),
                  ("long_lag_adding_4cells", "Evolino, 4 cells, 1000 generations"),
                  ("long_lag_adding_4cells_2000", "Evolino, 4 cells, 2000 generations"),
                  ("long_lag_bptt_minibatch", "LSTM by BPTT, minibatches of 32"),
                  ("long_lag_sep-cma", "Evolino, sep-CMA-ES"),
                  ("long_lag_reber_20cells", "{method}, 20 cells"))


def long_lag_results() -> str:
    labelled = []
    for name, label in LONG_LAG_FILES:
        data = load(name)
        labelled += [(row, (label or "{method}").format(method=METHOD_LABELS[row["method"]]), data["published"])
                     for row in data["rows"]]
    lines = ["| task | method | runs | fresh test sequences solved: median (range) | sequences seen | time per run "
             "| published |", "|---|---|---|---|---|---|---|"]
    for task in dict.fromkeys(row["task"] for row, _, _ in labelled):
        labels = dict.fromkeys(label for row, label, _ in labelled if row["task"] == task)
        for label in labels:
            rows = [row for row, mine, _ in labelled if row["task"] == task and mine == label]
            published = next(p[task] for row, mine, p in labelled if row["task"] == task and task in p)
            seen = [r["sequences_seen"] for r in rows if "sequences_seen" in r]
            cost = f"{np.median(seen):,.0f}" if seen else f"{rows[0]['settings_scored']:,} settings scored"
            quoted = f"{published['text']} ({published['source']})" if label == "Evolino" else ""
            lines.append(f"| {task} | {label} | {len(rows)} | {_solved_span(rows)} | {cost} | {seconds(rows)} | "
                         f"{quoted} |")
    return "\n".join(lines)


def _lag_budget(method: str, budget: dict) -> str:
    if method == "evolino":
        return f"{budget['cells']} cells, {budget['generations']:,} generations of {budget['population']}"
    if method == "bptt":
        return f"{budget['cells']} cells, {budget['iterations']:,} Adam steps per setting"
    return f"{budget['units']} units, settings chosen on validation"


def _largest_lag(summary: dict) -> str:
    return f"T = {summary['largest_lag']}" if summary["largest_lag"] else "none"


# The lag study's results: Evolino's runs and the baselines' (run side by side as two processes).
LAG_FILES = ("long_lag_lags", "long_lag_lags_baselines")


def merged_lag_study(results: Path = RESULTS) -> dict:
    """The lag study's rows and per-task, per-method summaries, merged over LAG_FILES."""
    merged = {"summary": {}, "rows": []}
    for name in LAG_FILES:
        data = json.loads((results / f"{name}.json").read_text())
        merged["rows"] += data["rows"]
        for task, methods in data["summary"].items():
            merged["summary"].setdefault(task, {}).update(methods)
    return merged


def long_lag_lags() -> str:
    data = merged_lag_study(RESULTS)
    lines = ["| task | method | T | runs | fresh test sequences solved: median (range) | cost per run | time per run |",
             "|---|---|---|---|---|---|---|"]
    verdicts = []
    for task, methods in data["summary"].items():
        for method, summary in methods.items():
            for steps in sorted(int(t) for t in summary["median_solved"]):
                rows = _rows(data, task=task, method=method, steps=steps)
                seen = [r["sequences_seen"] for r in rows if "sequences_seen" in r]
                cost = f"{np.median(seen):,.0f} sequences" if seen else f"{rows[0]['settings_scored']} settings"
                lines.append(f"| {task} | {METHOD_LABELS[method]} | {steps} | {len(rows)} | {_solved_span(rows)} | "
                             f"{cost} | {seconds(rows)} |")
            verdicts.append(f"{task}, {METHOD_LABELS[method]} ({_lag_budget(method, summary['budget'])}): "
                            f"{_largest_lag(summary)}")
    needed = "; ".join(f"{_percent(next(iter(m.values()))['needed'])} for {task}"
                       for task, m in data["summary"].items())
    return "\n".join(lines) + "\n\n" + prose(f"The largest lag at which the median run answers the share of fresh "
                                              f"test sequences that counts as success ({needed}): "
                                              + "; ".join(verdicts) + ".")


def mackey_glass_results() -> str:
    data = load("mackey_glass")
    labels = {"evolino": "Evolino"}
    lines = ["| method | runs | NRMSE84: median | best | time per run |", "|---|---|---|---|---|"]
    for method, summary in data["summary"].items():
        rows = _rows(data, method=method)
        label = labels.get(method, f"ESN, {rows[0].get('units')} units")
        if method == "evolino":
            label += f", {rows[0]['settings']['cells']} cells"
        label += f", {rows[0]['settings']['train']:,} training samples"
        lines.append(f"| {label} | {summary['runs']} | {fmt(summary['median_nrmse84'])} | "
                     f"{fmt(summary['best_nrmse84'])} | {seconds(rows)} |")
    for published in data["published"].values():
        lines.append(f"| {published['source']} (published, recalled) | - | {fmt(published['nrmse84'])} | - | - |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- experiments/README.md

def _median_of(rows: list[dict], key: str) -> float:
    return median(r[key] for r in rows)


def _long_lag_line(command: str, what: str, data: dict, task: str) -> str:
    """The overview line of one task of a long-lag results file: the median share solved by each method in it."""
    solved = {m: _percent(float(np.median([r["solved"] for r in _rows(data, task=task, method=m)])))
              for m in METHOD_LABELS if _rows(data, task=task, method=m)}
    quoted, methods = data["published"][task], " / ".join(METHOD_LABELS[m] for m in solved)
    return (f"| `{command}` | {what}: fresh test sequences solved, median, {methods} | {' / '.join(solved.values())} "
            f"| {quoted['text']} ({quoted['source']}) |")


def _variant_line(name: str, task: str) -> str:
    """The overview line of a long-lag file that reran one task with other cells and generations."""
    data = load(name)
    chosen = _rows(data, method="evolino")[0]["settings"]
    command = f"long_lag.py --cells {chosen['cells']} --generations {chosen['generations']}"
    return _long_lag_line(command, f"{task}, {chosen['cells']} cells, {chosen['generations']} generations of "
                          f"{chosen['population']}", data, task)


def _overview_rows() -> list[str]:
    """One line per experiment: what it measures, its headline numbers, the published figure beside them."""
    mso, sines5, esn, ablation = load("mso_table"), load("sines5"), load("esn_baseline"), load("mso_ablation")
    anbncn, real, gradients = load("anbncn"), load("real_series"), load("vanishing_gradients")
    lines = []
    for task in ("mso2", "mso3", "mso4"):
        rows = _rows(mso, task=task)
        lines.append(f"| `mso.py table` | {TASK_LABELS[task]}, {rows[0]['cells']} cells, test NRMSE (median of "
                     f"{len(rows)}) | {fmt(_median_of(rows, 'test_error'))} | ~{rows[0]['paper']:g} (Evolino paper) |")
    sep = _rows(sines5, cells=20, optimizer="sep-cma")
    lines.append(f"| `sines5.py` | 5 sines, 20 cells, sep-CMA-ES, test NRMSE (median of {len(sep)}) | "
                 f"{fmt(_median_of(sep, 'test_error'))} | ~0.17 (Evolino paper) |")
    chosen = ablation["summary"]["chosen"]
    lines.append(f"| `mso.py ablation` | readout cutoff x feedback scale on MSO2, chosen on validation | cutoff "
                 f"{chosen['rcond']:g}, feedback {chosen['feedback_scale']:g} | - |")
    for key, summary in esn["summary"].items():
        task, units = key.split("/")
        lines.append(f"| `esn_baseline.py` | ESN, {TASK_LABELS[task]}, {units} units, test NRMSE (median of "
                     f"{len(summary['test_errors'])}) | {fmt(summary['median_test_error'])} | - |")
    baselines = load("baselines")
    for task in dict.fromkeys(r["task"] for r in baselines["rows"]):
        rows = _rows(baselines, task=task, method="bptt")
        lines.append(f"| `baselines.py` | the same LSTM trained by BPTT, {TASK_LABELS[task]}, test NRMSE (median of "
                     f"{len(rows)}) | {fmt(_median_of(rows, 'test_error'))} | - |")
    s8 = anbncn["summary"]["evolino/8"]
    lines.append(f"| `anbncn.py` | a^n b^n c^n, 8 cells, largest n generalised to (median of {s8['runs']}) | "
                 f"{s8['median_limit']:g} | ~{anbncn['meta'].get('published_limit', 29)} (Evolino paper) |")
    sn = load("anbn")["summary"]["evolino/8"]
    lines.append(f"| `anbncn.py --language anbn` | a^n b^n, 8 cells, largest n generalised to (median of {sn['runs']}, "
                 f"tried up to {sn['limit_capped_at']}) | {sn['median_limit']:g} | ~1000 in some runs (gradient LSTM, "
                 "Gers & Schmidhuber 2001) |")
    mg = load("mackey_glass")
    for method, summary in mg["summary"].items():
        cells = _rows(mg, method=method)[0]["settings"].get("cells")
        label = f"Evolino, {cells} cells" if method == "evolino" else f"ESN, {method.split('_')[1]} units"
        published = "1.9e-3 (Evolino paper); 2.8e-4 (ESN, 400 units, Jaeger 2001)" if method == "evolino" else "-"
        lines.append(f"| `mackey_glass.py` | Mackey-Glass, {label}, NRMSE84 (median of {summary['runs']}) | "
                     f"{fmt(summary['median_nrmse84'])} | {published} |")
    long_lag = load("long_lag")
    for task in dict.fromkeys(r["task"] for r in long_lag["rows"]):
        lines.append(_long_lag_line("long_lag.py", task, long_lag, task))
    for name, task in (("long_lag_adding_4cells", "adding"), ("long_lag_adding_4cells_2000", "adding"),
                       ("long_lag_reber_20cells", "embedded-reber")):
        lines.append(_variant_line(name, task))
    lags = merged_lag_study(RESULTS)
    for task, methods in lags["summary"].items():
        seeds = len({r["seed"] for r in _rows(lags, task=task)})
        reach = ", ".join(f"{METHOD_LABELS[m]} {_largest_lag(v)}" for m, v in methods.items())
        lines.append(f"| `long_lag.py lags` | {task}: largest T of 100-1000 with "
                     f"{_percent(next(iter(methods.values()))['needed'])} of fresh test sequences solved (median of "
                     f"{seeds}) | {reach} | - |")
    passed = [name for name, v in real["summary"].items() if v.get("one_step_ok") and v.get("free_run_ok")
              and v.get("no_seed_above_limit")]
    lines.append(f"| `real_series.py` | real series (statsmodels), default settings: free run and one-step forecast "
                 f"no worse than AR(p) and the trivial models | {len(passed)} of {len(real['summary'])} series | - |")
    forecast = RESULTS / "forecast_benchmark.json"
    if forecast.exists():
        entries = json.loads(forecast.read_text())["series"]
        sets = {name: [e for e in entries if e["set"] == name] for name in ("development", "confirmation")}
        key = "evolino: median NRMSE / AutoARIMA's"
        medians = ", ".join(f"{name} {_benchmark_summary(group)[key]}" for name, group in sets.items())
        lines.append(f"| `forecast_benchmark.py` | {len(entries)} real series, defaults: test NRMSE / AutoARIMA's "
                     f"(median, 3 seeds) | {medians} | - |")
    classification = RESULTS / "classification_benchmark.json"
    if classification.exists():
        entries = json.loads(classification.read_text())["sets"]
        medians = {m: np.median([a for e in entries if (a := _accuracy(e, m)) is not None])
                   for m in ("evolino", "dtw", "rocket")}
        accuracy = ", ".join(f"{CLASSIFIERS[m]} {100 * value:.1f}%" for m, value in medians.items())
        lines.append(f"| `classification_benchmark.py` | {len(entries)} UCR/UEA archive sets, defaults: median test "
                     f"accuracy (3 seeds) | {accuracy} | - |")
    norms = gradients["median_norms"]
    tanh, carousel = norms["tanh RNN, spectral radius 0.9"], next(v for k, v in norms.items() if "carousel" in k)
    lines.append(f"| `vanishing_gradients.py` | back-propagated error over 50 steps: tanh RNN (radius 0.9) vs an LSTM "
                 f"cell's carousel | {fmt(tanh['50'])} vs {fmt(carousel['50'])} | - |")
    return lines + _fundamental_rows()


def _fundamental_rows() -> list[str]:
    """The overview's lines for the ways around the fundamental deep learning problem."""
    lines = []
    lags = load("gradient_lags")
    for task, nets in lags["summary"].items():
        reach = " / ".join(f"{nets[net]['largest_lag'] or 'none'}" for net in GRADIENT_NETS)
        lines.append(f"| `gradient_lags.py` | {task}: largest T of 10-100 solved by BPTT, plain RNN / LSTM (median "
                     f"of {len({r['seed'] for r in lags['rows']})}) | {reach} | - |")
    for s in load("guessing_study")["summary"]:
        published = f"{s['published']['trials']:,} (Schmidhuber & Hochreiter 1996)" if s.get("published") else "-"
        lines.append(f"| `guessing_study.py` | random guessing, {s['task']}, {s['architecture']}: median trials "
                     f"({s['runs']} runs) | {s['median_trials']:,.0f} | {published} |")
    levin = _rows(load("levin_search"), method="levin")[0]
    lines.append(f"| `levin_search.py` | counting inputs: Levin search, programs tried, share of 161,700 test inputs "
                 f"right | {levin['programs_tried']:,}, {_percent(levin['test_fraction'])} | ~74 programs "
                 "(Schmidhuber 1997, another instruction set) |")
    for s in load("history_compressor")["summary"]:
        median = f"{s['median_sequences']:,.0f}" if s["median_sequences"] is not None else f"> {s['budget']:,}"
        published = "< 5,000 in 13 of 17 runs (Schmidhuber 1992)" if s["method"] == "compressor" and \
            s["task"] == "chunking-20" else "-"
        lines.append(f"| `history_compressor.py` | {s['task']}, {s['method']}: runs solved, median training "
                     f"sequences | {s['solved']} of {s['runs']}, {median} | {published} |")
    return lines


def experiments_overview() -> str:
    header = ["| experiment | what | measured here | published |", "|---|---|---|---|"]
    return "\n".join(header + _overview_rows())


def optimizer_choice() -> str:
    """docs/optimizers/cma.md: full CMA-ES beside sep-CMA-ES (the default) on the MSO table and a^n b^n c^n."""
    full, sep = load("mso_table"), load("mso_table_sep-cma")
    lines = ["| task | cells | `cma`: test NRMSE, seeds 0 / 1 / 2 | time per run "
             "| `sep-cma`: test NRMSE, seeds 0 / 1 / 2 | time per run |", "|---|---|---|---|---|---|"]
    for task in ("mso2", "mso3", "mso4", "sines5"):
        cells = []
        for data in (full, sep):
            rows = sorted(_rows(data, task=task), key=lambda r: r["seed"])
            cells += [" / ".join(fmt(r["test_error"]) for r in rows), seconds(rows)]
        lines.append(f"| {TASK_LABELS[task]} | {_rows(full, task=task)[0]['cells']} | " + " | ".join(cells) + " |")
    languages = []
    for name, label in (("anbncn", "`cma`"), ("anbncn_sep-cma", "`sep-cma`")):
        summary = load(name)["summary"]
        languages.append(f"{label}: " + ", ".join(
            f"{key.split('/')[1]} cells {s['train_solved']} / {s['runs']} training sets solved, median M "
            f"{s['median_limit']:g}" for key, s in summary.items() if key.startswith("evolino/")))
    lines += ["", "a^n b^n c^n (population 40, 500 generations, 10 seeds): " + "; ".join(languages) + "."]
    return "\n".join(lines)


# ------------------------------------------------------------- docs/fundamental-problem.md: the ways around

GRADIENT_NETS = {"rnn": "plain RNN (tanh)", "bptt": "LSTM"}


def gradient_lags() -> str:
    """The plain RNN and the LSTM, both by BPTT, at growing lags: the median share of fresh sequences solved."""
    data = load("gradient_lags")
    lags = sorted({r["steps"] for r in data["rows"]})
    lines = ["| task | net (BPTT) | " + " | ".join(f"T = {t}" for t in lags) + " | largest T solved |",
             "|---|---|" + "---|" * len(lags) + "---|"]
    for task, nets in data["summary"].items():
        for net, summary in nets.items():
            cells = [_percent(summary["median_solved"][str(t)]) if str(t) in summary["median_solved"] else "-"
                     for t in lags]
            largest = summary["largest_lag"]
            lines.append(f"| {task} | {GRADIENT_NETS[net]} | " + " | ".join(cells) + f" | {largest or 'none'} |")
    runs = len({r["seed"] for r in data["rows"]})
    return "\n".join(lines) + "\n\n" + prose(
        f"Median of {runs} seeds; solved: at least {_percent(data['needed'])} of 1,000 fresh test sequences right; "
        "- : not tried (a net moves to a longer lag only while one of its seeds succeeds).")


def _trials(summary: dict, cap: int) -> str:
    """Median trials (quartiles) of a guessing row; a run that hit the cap of ``cap`` trials counts as above it."""
    def one(x: float | None) -> str:
        return f"{x:,.0f}" if x is not None else f"> {cap:,}"

    low, high = summary["quartiles"]
    return f"{one(summary['median_trials'])} ({one(low)} .. {one(high)})"


def guessing_table() -> str:
    data = load("guessing_study")
    lines = ["| task | architecture | weights | runs solved | median trials (quartiles) | published trials | "
             "runs right on every fresh sequence | time per run |", "|---|---|---|---|---|---|---|---|"]
    cap = data["protocol"]["max_trials"]
    for s in data["summary"]:
        published = f"{s['published']['trials']:,}" if s.get("published") else "-"
        lines.append(f"| {s['task']} | {s['architecture']} | {s['weights']} | {s['solved']} / {s['runs']} | "
                     f"{_trials(s, cap)} | {published} | {_percent(s['generalise_fraction'])} | "
                     f"{s['median_seconds']:.1f} s |")
    protocol = data["protocol"]
    return "\n".join(lines) + "\n\n" + prose(
        f"{protocol['train_sequences']} training sequences of {protocol['lengths'][0]}-{protocol['lengths'][1]} "
        f"steps, {protocol['fresh_sequences']:,} fresh ones, at most {protocol['max_trials']:,} trials per run; "
        "published: Schmidhuber & Hochreiter 1996 (recalled, not verified).")


def levin_table() -> str:
    data = load("levin_search")
    lines = ["| method | programs or trials | steps | time | training examples right | "
             f"right of all {data['task']['test_inputs']:,} inputs |", "|---|---|---|---|---|---|"]
    labels = {"levin": "Levin search", "least_squares": "least squares (minimum norm)",
              "random_guessing": "random guessing"}
    for r in data["rows"]:
        tried = r.get("programs_tried", r.get("trials"))
        steps = f"{r['steps_total']:,}" if "steps_total" in r else "-"
        lines.append(f"| {labels.get(r['method'], r['method'])} | {f'{tried:,}' if tried else '-'} | {steps} | "
                     f"{r['seconds']:.2f} s | {r['train_right']} of 3 | {100 * r['test_fraction']:.4f}% |")
    levin = _rows(data, method="levin")[0]
    return "\n".join(lines) + "\n\n" + prose(
        f"Levin search's program: `{levin['program']}` (phase {levin['phase']}, {levin['program_steps']} steps).")


def compressor_table() -> str:
    data = load("history_compressor")
    labels = {"compressor": "history compressor", "rnn": "single RNN",
              "rnn-radius-1": "single RNN, recurrent weights at spectral radius 1"}
    lines = ["| task | learner | runs solved (budget) | median training sequences to success | fresh-test accuracy | "
             "time per run |", "|---|---|---|---|---|---|"]
    for s in data["summary"]:
        median = f"{s['median_sequences']:,.0f}" if s["median_sequences"] is not None else f"> {s['budget']:,}"
        accuracy = sorted(s["test_accuracy"])
        lines.append(f"| {s['task']} | {labels.get(s['method'], s['method'])} | {s['solved']} of {s['runs']} "
                     f"({s['budget']:,}) | {median} | {_percent(accuracy[0])} .. {_percent(accuracy[-1])} | "
                     f"{s['median_seconds']:.1f} s |")
    published = data["published"]
    return "\n".join(lines) + "\n\n" + prose(
        f"Published: {published['compressor']}; {published['rnn']} ({published['source']}).")


SUMMARY_TASKS = ("latch", "parity", "two-sequence", "adding", "temporal-order", "chunking-20")


def _solved_cell(rows: list[dict]) -> str:
    seen = [r["sequences_seen"] for r in rows if "sequences_seen" in r]
    cost = f", {np.median(seen):,.0f} sequences" if seen else ""
    return f"{_solved_span(rows)} ({len(rows)} runs{cost})"


def _lag_reach(summary: dict, rows: list[dict], needed: float) -> str:
    """Where a BPTT net of gradient_lags.py still solves the task, and what its last successful lag cost."""
    medians = {int(t): m for t, m in summary["median_solved"].items()}
    largest = summary["largest_lag"]
    if not largest:
        return f"fails from T = {min(medians)}"
    seen = np.median([r["sequences_seen"] for r in rows if r["steps"] == largest])
    failed = [t for t, m in medians.items() if t > largest and m < needed]
    end = f", fails at T = {min(failed)}" if failed else ""
    return f"solved up to T = {largest} ({seen:,.0f} sequences){end}"


def fundamental_summary() -> str:
    """Method by task: each cell the success and its cost, from the experiments' own files (their protocols differ:
    the notes under the table say how)."""
    long_lag, lags = load("long_lag"), load("gradient_lags")
    guessing_data = load("guessing_study")
    guessing = {(s["task"], s["architecture"]): s for s in guessing_data["summary"]}
    cap = guessing_data["protocol"]["max_trials"]
    compressor = {(s["method"], s["task"]): s for s in load("history_compressor")["summary"]}
    cells: dict[str, dict[str, str]] = {}
    for task in SUMMARY_TASKS[:-1]:
        for method, label in (("evolino", "Evolino"), ("esn", "ESN, same size")):
            cells.setdefault(label, {})[task] = _solved_cell(_rows(long_lag, task=task, method=method))
        for net, label in (("bptt", "LSTM by BPTT"), ("rnn", "plain RNN by BPTT")):
            if task in lags["summary"]:
                rows = _rows(lags, task=task, method=net)
                cells.setdefault(label, {})[task] = _lag_reach(lags["summary"][task][net], rows, lags["needed"])
    for task, archs in (("latch", ("one-tanh", "one-tanh-nobias")), ("parity", ("a2-noself",))):
        rows = [(arch, guessing[(task, arch)]) for arch in archs]
        cells.setdefault("random weight guessing", {})[task] = "; ".join(
            f"{arch}: {s['solved']} / {s['runs']} runs, median {_trials(s, cap)} trials, "
            f"{_percent(s['generalise_fraction'])} of runs right on every fresh sequence" for arch, s in rows)
    for method, label in (("compressor", "history compressor"), ("rnn", "plain RNN by BPTT")):
        s = compressor[(method, "chunking-20")]
        median = f"{s['median_sequences']:,.0f}" if s["median_sequences"] is not None else f"> {s['budget']:,}"
        cells.setdefault(label, {})["chunking-20"] = f"{s['solved']} / {s['runs']} runs, median {median} sequences"
    lines = ["| method | " + " | ".join(SUMMARY_TASKS) + " |", "|---|" + "---|" * len(SUMMARY_TASKS)]
    for label, row in cells.items():
        lines.append(f"| {label} | " + " | ".join(row.get(task, "-") for task in SUMMARY_TASKS) + " |")
    adding = _rows(load("long_lag_adding_4cells_2000"), method="evolino")  # the adding problem's longest Evolino run
    return "\n".join(lines) + "\n\n" + prose(
        f"Evolino on the adding problem with {adding[0]['settings']['cells']} cells and "
        f"{adding[0]['settings']['generations']:,} generations: {_solved_cell(adding)} (the long time-lag page).")



# ------------------------------------------------------------------------ docs/generated/forecast_benchmark.md

BENCHMARK_COLUMNS = {"evolino": "evolino", "evolino_ar": "AR(p)", "autoarima": "AutoARIMA", "autoets": "AutoETS",
                     "naive": "naive", "seasonal_naive": "seasonal naive", "evolino_mean": "training mean"}
BENCHMARK_SETS = ("development", "confirmation")
TIE = 1e-6  # relative: closer errors are a tie (evolino falling back to its AR(p) part is one)


def _benchmark_errors(entry: dict) -> dict[str, float]:
    """{method: test NRMSE} of a series, inf for a diverged forecast; SeasonalNaive left out without a season (it is
    Naive there)."""
    methods = entry["methods"]
    return {m: _value(methods[m]["nrmse"]) for m in BENCHMARK_COLUMNS
            if m in methods and not (m == "seasonal_naive" and entry["season"] == 1)}


def _compare(a: float, b: float) -> int:
    """-1 when ``a`` is lower than ``b`` by more than the tie tolerance, 1 when higher, 0 for a tie."""
    if a == b or (np.isfinite(a) and np.isfinite(b) and abs(a - b) <= TIE * max(abs(a), abs(b))):
        return 0
    return -1 if a < b else 1


def _best(errors: dict[str, float]) -> set[str]:
    low = min(errors.values())
    return {m for m, e in errors.items() if _compare(e, low) == 0}


def _relative(error: float, arima: float) -> str:
    return "diverged" if not np.isfinite(error) else f"{error / arima:.2f}"


def _benchmark_summary(entries: list[dict]) -> dict[str, str]:
    """The summary cells of a group of series: median relative errors, evolino's best-of-all count, its wins /
    ties / losses against AutoARIMA, AutoETS and its own AR(p), and the intervals' median coverage."""
    cells = {}
    for method, label in BENCHMARK_COLUMNS.items():
        ratios = [e[method] / e["autoarima"] for e in map(_benchmark_errors, entries) if method in e]
        if method != "autoarima":
            cells[f"{label}: median NRMSE / AutoARIMA's"] = f"{np.median(ratios):.2f}" if ratios else "-"
    best = [_best(_benchmark_errors(e)) for e in entries]
    alone = sum(b == {"evolino"} for b in best)
    shared = sum("evolino" in b for b in best) - alone
    cells["evolino best of all methods"] = f"{alone + shared} of {len(entries)}" + \
        (f" ({shared} shared)" if shared else "")
    for other in ("autoarima", "autoets", "evolino_ar"):
        outcomes = [_compare(e["evolino"], e[other]) for e in map(_benchmark_errors, entries) if other in e]
        cells[f"evolino against {BENCHMARK_COLUMNS[other]}: wins / ties / losses"] = \
            f"{outcomes.count(-1)} / {outcomes.count(0)} / {outcomes.count(1)}"
    runs = [r for e in entries for r in e["methods"]["evolino"]["seeds"]]
    own = [_value(r["nrmse"]) / r["baselines"]["ar"] for r in runs
           if r.get("baselines", {}).get("ar") and r["nrmse"] is not None]
    cells["evolino run / its own AR(p): largest"] = f"{max(own):.3f}" if own else "-"
    networks = sum(r.get("result", {}).get("final") == "network" for r in runs)
    cells["evolino runs whose final model is networks"] = f"{networks} of {len(runs)}"
    for method, label in (("autoarima", "AutoARIMA"), ("autoets", "AutoETS"), ("evolino", "evolino")):
        covered = [e["methods"][method]["coverage"] for e in entries if e["methods"][method]["coverage"] is not None]
        cells[f"{label}: median coverage of the 90% intervals"] = \
            f"{100 * np.median(covered):.0f}% ({len(covered)} series)" if covered else "not reported"
    for method, label in (("evolino", "evolino (a seed)"), ("autoarima", "AutoARIMA"), ("autoets", "AutoETS")):
        seconds = [e["methods"][method]["seconds"] for e in entries if e["methods"][method].get("seconds")]
        cells[f"{label}: median seconds per series"] = f"{np.median(seconds):.1f}" if seconds else "-"
    return cells


def forecast_benchmark_markdown(data: dict) -> str:
    """The table of experiments/forecast_benchmark.py's results: each series' test NRMSE of every method relative
    to AutoARIMA's, development then confirmation series, and the summary of each set and of all."""
    entries = data["series"]
    protocol = data["protocol"]
    seeds = ", ".join(map(str, protocol["seeds"]))
    generations = "evolino's default generations" if protocol["generations"] is None else \
        f"{protocol['generations']} generations"
    labels = [label for method, label in BENCHMARK_COLUMNS.items() if method != "autoarima"]
    lines = [prose(f"Test NRMSE of each method divided by AutoARIMA's on the same test part (below 1: better than "
                   f"AutoARIMA; AutoARIMA's own NRMSE in its column); evolino: the median of seeds {seeds}, "
                   f"{generations}; AR(p) and the training mean are evolino's own baselines. Bold: the best method "
                   f"of the series (errors within a relative {TIE:g} are tied). Seasonal naive is left out of series "
                   "without a season (it is naive there); evolino's persistence baseline, naive's forecast, is in "
                   "the JSON only."), ""]
    if not data.get("complete", True):
        lines += [f"**Incomplete run**: {len(entries)} series.", ""]
    for name in BENCHMARK_SETS:
        mine = [e for e in entries if e["set"] == name]
        if not mine:
            continue
        lines += [f"**{name.capitalize()} set** ({len(mine)} series)", "",
                  "| series | frequency | season | steps | test steps | AutoARIMA NRMSE | "
                  + " | ".join(labels) + " |", "|---|---|---|---|---|---|" + "---|" * len(labels)]
        for entry in mine:
            errors = _benchmark_errors(entry)
            best = _best(errors)
            arima = errors["autoarima"]
            cells = {m: _relative(e, arima) for m, e in errors.items()}
            cells["autoarima"] = fmt(arima, 2) if not np.isfinite(arima) else f"{arima:.3f}"
            cells = {m: f"**{c}**" if m in best else c for m, c in cells.items()}
            lines.append(f"| {entry['name']} | {entry['frequency']} | {entry['season']} | {entry['length']} | "
                         f"{entry['split']['test']} | {cells['autoarima']} | "
                         + " | ".join(cells.get(m, "-") for m in BENCHMARK_COLUMNS if m != "autoarima") + " |")
        lines.append("")
    groups = {name: [e for e in entries if e["set"] == name] for name in BENCHMARK_SETS}
    groups = {name: mine for name, mine in groups.items() if mine}
    if len(groups) > 1:
        groups["all"] = entries
    summaries = {name: _benchmark_summary(mine) for name, mine in groups.items()}
    heads = [f"{name} ({len(groups[name])})" for name in groups]
    lines += ["**Summary**", "", "| | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for key in next(iter(summaries.values())):
        lines.append(f"| {key} | " + " | ".join(s[key] for s in summaries.values()) + " |")
    return "\n".join(lines)


def forecast_benchmark() -> str:
    path = RESULTS / "forecast_benchmark.json"
    if not path.exists():
        return ("No results yet: `python experiments/forecast_benchmark.py --write-results` writes "
                "experiments/results/forecast_benchmark.json and this table.")
    return forecast_benchmark_markdown(json.loads(path.read_text()))


def long_series() -> str:
    """The table of benchmarks/results/long_series.json (benchmarks/long_series.py), with its provenance."""
    data = json.loads((ROOT / "benchmarks" / "results" / "long_series.json").read_text())
    meta = data["meta"]
    spec = importlib.util.spec_from_file_location("benchmark_long_series", ROOT / "benchmarks" / "long_series.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)  # its table, so that the docs show what the benchmark prints
    load = ", ".join(f"{x:.1f}" for x in data["load_average"])
    note = (f"`{meta['command']}` on {data['cpu']} ({meta['machine']['cpus']} cores, 1-minute load average {load} "
            f"before and after the sizes), commit {meta['commit'][:10]}, {meta['date'][:10]}; "
            "benchmarks/results/long_series.json.")
    return "\n".join([benchmark.table(data["sizes"]), "", note])


# ------------------------------------------------------------------ docs/generated/classification_benchmark.md

CLASSIFIERS = {"evolino": "evolino", "dtw": "1-NN DTW", "rocket": "ROCKET", "minirocket": "MiniRocket",
               "class_frequency": "class frequency"}
CLASSIFICATION_SETS = ("development", "kept-back")
WITHIN_POINTS = 5  # "evolino within 5 points of 1-NN DTW": its accuracy at least DTW's less 5 percentage points


def _accuracy(entry: dict, method: str) -> float | None:
    return (entry["methods"].get(method) or {}).get("accuracy")


def _steps(entry: dict) -> str:
    low = min(a for a, _ in entry["lengths"].values())
    high = max(b for _, b in entry["lengths"].values())
    return str(low) if low == high else f"{low}-{high}"


def _accuracy_cells(entry: dict) -> dict[str, str]:
    """Each method's accuracy in percent, the best in bold; evolino's median with the range over its seeds; ROCKET's
    marked where the sequences were padded."""
    accuracies = {m: _accuracy(entry, m) for m in CLASSIFIERS}
    known = [a for a in accuracies.values() if a is not None]
    best = max(known) if known else None
    cells = {}
    for method, accuracy in accuracies.items():
        if accuracy is None:
            cells[method] = "-"
            continue
        cell = f"{100 * accuracy:.1f}"
        cells[method] = f"**{cell}**" if best is not None and np.isclose(accuracy, best, rtol=0, atol=1e-9) else cell
        runs = entry["methods"][method].get("seeds") or []
        seeds = [r["accuracy"] for r in runs if r.get("accuracy") is not None]
        if method == "evolino" and len(seeds) > 1 and f"{100 * min(seeds):.1f}" != f"{100 * max(seeds):.1f}":
            cells[method] += f" ({100 * min(seeds):.1f}-{100 * max(seeds):.1f})"
        if method == "rocket" and entry["methods"][method].get("padded"):
            cells[method] += "†"
    return cells


def _seconds_cell(entry: dict, method: str) -> str:
    seconds = (entry["methods"].get(method) or {}).get("seconds")
    return "-" if seconds is None else f"{seconds:.1f}" if seconds < 10 else f"{seconds:.0f}"


def _names(entries: list[dict], total: int) -> str:
    """"2 of 6: A, B" / "none of the 6"."""
    if not entries:
        return f"none of the {total}"
    return f"{len(entries)} of {total}: " + ", ".join(e["name"] for e in entries)


def _classification_summary(entries: list[dict]) -> dict[str, str]:
    """The summary cells of a group of sets: each method's median accuracy and median seconds, the sets where
    evolino is within 5 points of 1-NN DTW, and those where it is below the class frequency."""
    cells = {}
    for method, label in CLASSIFIERS.items():
        values = [a for a in (_accuracy(e, method) for e in entries) if a is not None]
        cells[f"{label}: median accuracy"] = \
            f"{100 * np.median(values):.1f}% ({len(values)} set{'s' if len(values) > 1 else ''})" if values else "-"
    both = [e for e in entries if _accuracy(e, "evolino") is not None and _accuracy(e, "dtw") is not None]
    near = [e for e in both if 100 * _accuracy(e, "evolino") >= 100 * _accuracy(e, "dtw") - WITHIN_POINTS - 1e-9]
    cells[f"evolino within {WITHIN_POINTS} points of 1-NN DTW (or above)"] = _names(near, len(both))
    trivial = [e for e in entries if _accuracy(e, "evolino") is not None
               and _accuracy(e, "class_frequency") is not None]
    below = [e for e in trivial if _accuracy(e, "evolino") < _accuracy(e, "class_frequency") - 1e-9]
    cells["evolino below the class frequency"] = _names(below, len(trivial))
    for method, label in CLASSIFIERS.items():
        if method == "class_frequency":
            continue
        seconds = [e["methods"][method]["seconds"] for e in entries
                   if (e["methods"].get(method) or {}).get("seconds") is not None]
        cells[f"{label}: median seconds per set" + (" (a seed)" if method != "dtw" else "")] = \
            f"{np.median(seconds):.1f}" if seconds else "-"
    return cells


def classification_benchmark_markdown(data: dict) -> str:
    """The table of experiments/classification_benchmark.py's results: each set's test accuracy and wall seconds per
    method, development then kept-back sets, and the summary of each group and of all."""
    entries = data["sets"]
    protocol = data["protocol"]
    seeds = protocol["seeds"]
    seeds = f"seed {seeds[0]}" if len(seeds) == 1 else \
        f"the median of seeds {', '.join(map(str, seeds))} (their range in brackets)"
    generations = "evolino's default generations" if protocol["generations"] is None else \
        f"{protocol['generations']} generations"
    labels = list(CLASSIFIERS.values())
    timed = [m for m in CLASSIFIERS if m != "class_frequency"]
    lines = [prose(f"Accuracy (%) on the archive's test set, every method trained on the archive's training set "
                   f"(evolino holds out the last fifth of it, shuffled, as its validation part), and wall seconds "
                   f"(fit and prediction; evolino: the whole `python -m evolino run`). Evolino: {seeds}, "
                   f"{generations}; ROCKET and MiniRocket: the same seeds; "
                   f"1-NN DTW with the full window; class frequency: the training set's most frequent class. Bold: "
                   f"the best of the set. \u2020: sequences of unequal lengths padded with their last value for "
                   f"ROCKET (MiniRocket takes them as they are)."), ""]
    if not data.get("complete", True):
        lines += [f"**Incomplete run**: {len(entries)} set{'s' if len(entries) != 1 else ''} so far.", ""]
    for name in CLASSIFICATION_SETS:
        mine = [e for e in entries if e["set"] == name]
        if not mine:
            continue
        lines += [f"**{name.capitalize()} sets** ({len(mine)})", "",
                  "| set | channels | steps | classes | train / test | " + " | ".join(labels) + " | "
                  + " | ".join(f"{CLASSIFIERS[m]} s" for m in timed) + " |",
                  "|---|---|---|---|---|" + "---|" * (len(labels) + len(timed))]
        for entry in mine:
            cells = _accuracy_cells(entry)
            lines.append(f"| {entry['name']} | {entry['channels']} | {_steps(entry)} | {entry['classes']} | "
                         f"{entry['train']} / {entry['test']} | " + " | ".join(cells[m] for m in CLASSIFIERS)
                         + " | " + " | ".join(_seconds_cell(entry, m) for m in timed) + " |")
        lines.append("")
    groups = {name: [e for e in entries if e["set"] == name] for name in CLASSIFICATION_SETS}
    groups = {name: mine for name, mine in groups.items() if mine}
    if len(groups) > 1:
        groups["all"] = entries
    summaries = {name: _classification_summary(mine) for name, mine in groups.items()}
    heads = [f"{name} ({len(groups[name])})" for name in groups]
    lines += ["**Summary**", "", "| | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for key in next(iter(summaries.values()), {}):
        lines.append(f"| {key} | " + " | ".join(s[key] for s in summaries.values()) + " |")
    return "\n".join(lines)


def classification_benchmark() -> str:
    path = RESULTS / "classification_benchmark.json"
    if not path.exists():
        return ("No results yet: `python experiments/classification_benchmark.py --write-results` writes "
                "experiments/results/classification_benchmark.json and this table.")
    return classification_benchmark_markdown(json.loads(path.read_text()))


# ----------------------------------------------------------------- docs/generated/optimizer_benchmark.md

BENCHMARK_TASKS = {"mso2": "MSO2", "mso3": "MSO3", "adding": "adding (T = 100)", "anbncn": "a^n b^n c^n"}


def _optimizer_cell(entry: dict) -> str:
    name = entry["optimizer"]
    return f"`{name}`"


def _setting_cell(entry: dict) -> str:
    knob = entry["knob"]
    value = entry["setting"][knob]
    return f"{knob} = {value:.3g}"


def _task_score(entry: dict) -> str:
    s = entry["summary"]
    if "median_solved" in s:
        return f"{100 * s['median_solved']:.1f}% ({100 * s['min_solved']:.1f}-{100 * s['max_solved']:.1f}%)"
    if "median_limit" in s:
        return f"{s['median_limit']:g} ({s['min_limit']:g}-{s['max_limit']:g})"
    return ""


def benchmark_ranks(entries: list[dict]) -> dict[str, list[int]]:
    """{optimizer: its rank by median test error on each task (1 = lowest; ties share the lower rank)}."""
    ranks: dict[str, list[int]] = {}
    for task in dict.fromkeys(e["task"] for e in entries):
        mine = [e for e in entries if e["task"] == task]
        medians = {e["optimizer"]: _value(e["summary"]["median_test_error"]) for e in mine}
        for name, median_error in medians.items():
            ranks.setdefault(name, []).append(1 + sum(other < median_error for other in medians.values()))
    return ranks


def optimizer_benchmark_markdown(data: dict) -> str:
    """The tables of experiments/optimizer_benchmark.py's results: per task, every optimizer's chosen setting, the
    median test error over the seeds with its range, the task's own score and the time per run; then the ranks."""
    protocol, entries = data["protocol"], data["entries"]
    meta = data["meta"]
    seeds = ", ".join(map(str, protocol["seeds"]))
    machine = meta["machine"]
    cpu = machine["processor"] + (f" ({machine['simd']})" if machine.get("simd") else "")
    one_thread = meta.get("environment", {}).get("NUMBA_NUM_THREADS") == "1"
    cores = f"one core of {machine['cpus']}" if one_thread else f"{machine['cpus']} cores"
    lines = [prose(
        f"Population {protocol['population']}, seeds {seeds}; one setting per optimizer chosen from three on the "
        f"validation error of one run of half the budget (seed {protocol['tuning_seed']}). Error: the median over "
        "the seeds, then the lowest .. highest; bold: the lowest median of the task. Time: the median wall time of "
        f"a run on {cpu} ({cores}, shared with other work, load average "
        f"{meta.get('load_average', [float('nan')])[0]:.1f} at the end). Library versions: "
        + ", ".join(f"{k} {v}" for k, v in meta.get("libraries", {}).items() if v) + "."), ""]
    for task, label in BENCHMARK_TASKS.items():
        mine = [e for e in entries if e["task"] == task]
        if not mine:
            continue
        spec = protocol["tasks"][task]
        score = {"adding": "test sequences solved (range)", "anbncn": "limit M (range)"}.get(task)
        lowest = min(_value(e["summary"]["median_test_error"]) for e in mine)
        lines += [f"**{label}**: {spec['cells']} cells, {spec['evaluations']:,} evaluations per run, "
                  f"{spec['metric']}", "",
                  "| optimizer | setting | median error | lowest .. highest | " + (f"{score} | " if score else "")
                  + "time per run |", "|---|---|---|---|" + ("---|" if score else "") + "---|"]
        for entry in sorted(mine, key=lambda e: _value(e["summary"]["median_test_error"])):
            s = entry["summary"]
            median_error = fmt(s["median_test_error"])
            if _value(s["median_test_error"]) == lowest:
                median_error = f"**{median_error}**"
            failed = f" ({s['failed']} failed)" if s.get("failed") else ""
            seconds_cell = "-" if s["median_seconds"] is None else f"{s['median_seconds']:.1f} s"
            lines.append(f"| {_optimizer_cell(entry)} | {_setting_cell(entry)} | {median_error}{failed} | "
                         f"{fmt(s['min_test_error'])} .. {fmt(s['max_test_error'])} | "
                         + (f"{_task_score(entry)} | " if score else "") + f"{seconds_cell} |")
        lines.append("")
    ranks = benchmark_ranks(entries)
    tasks = [t for t in BENCHMARK_TASKS if any(e["task"] == t for e in entries)]
    lines += ["**Ranks** by median test error (1 = lowest)", "",
              "| optimizer | " + " | ".join(BENCHMARK_TASKS[t] for t in tasks) + " | mean rank |",
              "|---|" + "---|" * len(tasks) + "---|"]
    for name, mine in sorted(ranks.items(), key=lambda item: (np.mean(item[1]), item[0])):
        lines.append(f"| `{name}` | " + " | ".join(map(str, mine)) + f" | {np.mean(mine):.1f} |")
    if not data.get("complete", True):
        lines += ["", "**Incomplete run.**"]
    return "\n".join(lines)


def optimizer_benchmark() -> str:
    path = RESULTS / "optimizer_benchmark.json"
    if not path.exists():
        return ("No results yet: `python experiments/optimizer_benchmark.py --write-results` writes "
                "experiments/results/optimizer_benchmark.json and this table.")
    return optimizer_benchmark_markdown(json.loads(path.read_text()))


BLOCKS: dict[str, dict[str, Callable[[], str]]] = {
    "docs/architecture.md": {"readout-cutoff": architecture_cutoff},
    "README.md": {"results": readme_results},
    "docs/reproducing.md": {"mso-table": reproducing_mso, "ablation": reproducing_ablation,
                            "esn": reproducing_esn, "esn-verdict": reproducing_esn_verdict,
                            "baselines": reproducing_baselines, "anbncn": reproducing_anbncn},
    "experiments/README.md": {"overview": experiments_overview},
    "docs/optimizers/cma.md": {"optimizer-choice": optimizer_choice},
    "docs/long-lag.md": {"long-lag": long_lag_results, "long-lag-lags": long_lag_lags,
                         "anbn": lambda: language_table("anbn", beyond="test"),
                         "mackey-glass": mackey_glass_results},
    "docs/fundamental-problem.md": {"summary": fundamental_summary, "gradient-lags": gradient_lags,
                                    "guessing": guessing_table, "levin": levin_table, "compressor": compressor_table},
    "docs/generated/forecast_benchmark.md": {"forecast-benchmark": forecast_benchmark},
    "docs/forecasting.md": {"long-series": long_series},
    "docs/generated/classification_benchmark.md": {"classification-benchmark": classification_benchmark},
    "docs/generated/optimizer_benchmark.md": {"optimizer-benchmark": optimizer_benchmark},
}


# ------------------------------------------------------------------------------------------------ the files

class PartialResults(ValueError):
    """A block could not be made from the results files: one is missing, or holds fewer rows or keys than the block
    needs (a partial run written where the committed file should be)."""


# What a block raises when a results file is short or partial (a missing row, task or key; an empty list).
_PARTIAL = (KeyError, IndexError, StopIteration, ValueError, TypeError, ZeroDivisionError, FileNotFoundError,
            json.JSONDecodeError)


def render(text: str, blocks: dict[str, Callable[[], str]], failed: list[str] | None = None) -> str:
    """``text`` with every named block replaced; ValueError when a block's markers are missing.

    A block whose results file is missing or partial raises :class:`PartialResults` naming the block; when a list
    ``failed`` is given, the block is left as it was instead and its message appended to ``failed``."""
    for name, make in blocks.items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(\n<!-- end generated:{name} -->)", re.DOTALL)
        if not pattern.search(text):
            raise ValueError(f"no '<!-- generated:{name} -->' ... '<!-- end generated:{name} -->' block")
        try:
            body = make()
        except _PARTIAL as error:
            message = (f"block '{name}' left as it was: a results file under {RESULTS} is missing "
                       f"or partial ({type(error).__name__}: {error}); rerun its experiment with --write-results")
            if failed is None:
                raise PartialResults(message) from error
            failed.append(message)
            continue
        text = pattern.sub(lambda m, body=body: m.group(1) + body + m.group(2), text, count=1)
    return text


def stale_files(root: Path = ROOT, failed: list[str] | None = None) -> list[str]:
    """The files whose generated blocks differ from what the JSON gives (the blocks that cannot be made go to
    ``failed`` when given, see :func:`render`)."""
    return [name for name, blocks in BLOCKS.items()
            if render((root / name).read_text(), blocks, failed) != (root / name).read_text()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report stale files (exit 1 if any)")
    args = parser.parse_args()
    failed: list[str] = []  # a partial results file: its blocks stay as they were, reported, exit status 1
    if args.check:
        stale = stale_files(failed=failed)
        for name in stale:
            print(f"{name}: generated blocks differ from experiments/results/*.json; run python experiments/tables.py")
    else:
        stale = []
        for name, blocks in BLOCKS.items():
            path = ROOT / name
            text = render(path.read_text(), blocks, failed)
            if text != path.read_text():  # an unchanged file keeps its time stamp
                path.write_text(text)
                print(f"wrote {path}")
    for message in failed:
        print(message, file=sys.stderr)
    sys.exit(1 if stale or failed else 0)


if __name__ == "__main__":
    main()
