"""Evolino on real, noisy series shipped by statsmodels, with default settings, beside the trivial forecasters.

    python experiments/real_series.py                          # nine statsmodels series; seeds 0 1 2
    python experiments/real_series.py --series sunspots --seeds 0 --generations 50
    python experiments/real_series.py --variants "ridge validation=--ridge validation" "5 cells=--cells 5"

Each series is written to a one-column CSV and run exactly as a user would run it, with
``python -m evolino run --data FILE`` and nothing else but the seed: a ``generate`` task split 70/15/15 and
standardised on the training part, the ridge on the cell weights chosen per genome by generalized cross-validation,
the readout's lags chosen by the AR(p) models' validation errors, five validation free runs as long as the test part.
Each result is the free-running forecast of the whole test part (NRMSE) and the one-step prediction of it, beside
persistence, the training mean and AR(p) (p chosen on validation, least squares) on the same steps.

The checks of the table: median one-step NRMSE at most 1.05 x AR(p)'s; median free-run NRMSE at most the better of
persistence and the training mean; no seed's free run above 2. ``--variants "LABEL=FLAGS" ...`` runs other settings
as well and writes docs/generated/real_series_variants.md, how often each setting passes.

Needs statsmodels (``pip install -e ".[examples]"``): its datasets are the data. Writes runs/real_series/: the
results file, the table and the figure (``--out`` elsewhere, the others beside it); with ``--write-results``, the
committed experiments/results/real_series.json, docs/generated/real_series.md (the table docs/your-data.md
includes) and docs/images/real_series_sunspots.png. ``--smoke``: nile, seed 0, 2 generations.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from provenance import add_output_arguments, command_line, output_path, write_results

from evolino.cli import main as evolino_main
from evolino.reporting import read_columns

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
TABLE = ROOT / "docs" / "generated" / "real_series.md"
VARIANTS = ROOT / "docs" / "generated" / "real_series_variants.md"
FIGURE = ROOT / "docs" / "images" / "real_series_sunspots.png"
ONE_STEP_FACTOR = 1.05  # the acceptance bar against AR(p)'s one-step error
FREE_RUN_LIMIT = 2.0


def load_series(name: str) -> tuple[str, np.ndarray, str]:
    """(column name, values (T,), description) of a statsmodels dataset."""
    from statsmodels import datasets

    if name == "sunspots":
        data = datasets.sunspots.load_pandas().data
        return "SUNACTIVITY", data["SUNACTIVITY"].to_numpy(float), "yearly sunspot numbers 1700-2008"
    if name == "co2":
        weekly = datasets.co2.load_pandas().data["co2"]
        monthly = weekly.resample("MS").mean().interpolate()  # monthly means, 5 empty months interpolated
        return "co2", monthly.to_numpy(float), "Mauna Loa CO2, monthly means 1958-2001 (from weekly data)"
    if name == "elnino":
        data = datasets.elnino.load_pandas().data.drop(columns="YEAR")
        return "temperature", data.to_numpy(float).ravel(), "El Nino sea surface temperature, monthly 1950-2010"
    if name == "nile":
        data = datasets.nile.load_pandas().data
        return "volume", data["volume"].to_numpy(float), "yearly Nile flow at Aswan 1871-1970"
    if name == "elec_equip":
        from statsmodels.datasets import elec_equip  # not imported with the package

        data = elec_equip.load().data
        return "orders", data.iloc[:, 0].to_numpy(float), "euro-area electrical equipment orders, monthly 1995-2016"
    if name in MACRO:
        data = datasets.macrodata.load_pandas().data
        return name, data[name].to_numpy(float), f"US {MACRO[name]}, quarterly 1959-2009"
    raise ValueError(f"unknown series {name!r}")


MACRO = {"infl": "inflation rate", "unemp": "unemployment rate", "realgdp": "real GDP", "cpi": "consumer prices"}
SERIES = ("sunspots", "co2", "elnino", "nile", "elec_equip", *MACRO)


def run_series(name: str, seed: int, generations: int | None, folder: Path, flags: tuple[str, ...] = (),
               variant: str = "default") -> dict:
    column, values, _ = load_series(name)
    csv = folder / f"{name}.csv"
    np.savetxt(csv, values, delimiter=",", header=column, comments="", fmt="%.10g")
    out = folder / f"{variant.replace(' ', '_')}-{name}-{seed}"
    argv = ["run", "--data", str(csv), "--out", str(out), "--seed", str(seed), "--quiet", *flags]
    if generations is not None:
        argv += ["--generations", str(generations)]
    if evolino_main(argv) != 0:
        raise RuntimeError(f"evolino run failed on {name} seed {seed}")
    result = json.loads((out / "result.json").read_text())
    baselines = result["baselines"]
    return {"variant": variant, "flags": " ".join(flags), "series": name, "seed": seed, "steps": len(values),
            "generations": result["generations"],
            "seconds": result["wall_seconds"], "validation": result["validation_error"],
            "free_run": result["test_error"], "one_step": result["test_one_step_error"], "ridge": result["ridge"],
            "lags": result["readout_lags"], "ar_free_run": baselines["ar"]["test_error"],
            "ar_one_step": baselines["ar"]["test_one_step_error"], "ar_order": baselines["ar"]["order"],
            "ar_order_one_step": baselines["ar"].get("order_one_step", baselines["ar"]["order"]),  # forecasts: one p
            "persistence": baselines["persistence"]["test_error"], "mean": baselines["mean"]["test_error"],
            "warnings": result["warnings"], "folder": str(out)}


def summarise(rows: list[dict]) -> dict:
    summary = {}
    for name in dict.fromkeys(r["series"] for r in rows):
        mine = [r for r in rows if r["series"] == name]
        one_step = float(np.median([r["one_step"] for r in mine]))
        free_run = float(np.median([r["free_run"] for r in mine]))
        trivial = min(mine[0]["persistence"], mine[0]["mean"])
        summary[name] = {
            "seeds": len(mine), "one_step_median": one_step, "ar_one_step": mine[0]["ar_one_step"],
            "one_step_ratio": one_step / mine[0]["ar_one_step"], "free_run_median": free_run,
            "free_run_worst": max(r["free_run"] for r in mine), "ar_free_run": mine[0]["ar_free_run"],
            "persistence": mine[0]["persistence"], "mean": mine[0]["mean"], "better_trivial": trivial,
            "one_step_ok": one_step <= ONE_STEP_FACTOR * mine[0]["ar_one_step"], "free_run_ok": free_run <= trivial,
            "no_seed_above_limit": all(r["free_run"] <= FREE_RUN_LIMIT for r in mine),
        }
    return summary


def variants_markdown(rows: list[dict]) -> str:
    lines = ["<!-- Generated by experiments/real_series.py from experiments/results/real_series.json. -->", "",
             "| setting | flags | series passing all checks | one-step / AR(p), median per series | free run, "
             "median per series |", "|---|---|---|---|---|"]
    for variant in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == variant]
        summary = summarise(mine)
        passing = [name for name, s in summary.items()
                   if s["one_step_ok"] and s["free_run_ok"] and s["no_seed_above_limit"]]
        ratios = ", ".join(f"{name} {s['one_step_ratio']:.2f}" for name, s in summary.items())
        free = ", ".join(f"{name} {s['free_run_median']:.3f}" for name, s in summary.items())
        lines.append(f"| {variant} | `{mine[0]['flags'] or '(none)'}` | {len(passing)} of {len(summary)}"
                     f"{': ' + ', '.join(passing) if passing else ''} | {ratios} | {free} |")
    return "\n".join(lines + [""])


def table_markdown(summary: dict, rows: list[dict]) -> str:
    lines = ["<!-- Generated by experiments/real_series.py from experiments/results/real_series.json. -->", "",
             "| series | steps | evolino free run | AR(p) free run | persistence | training mean | evolino one step "
             "| AR(p) one step | checks |", "|---|---|---|---|---|---|---|---|---|"]
    for name, s in summary.items():
        mine = [r for r in rows if r["series"] == name]
        spread = f"{s['free_run_median']:.3f} ({min(r['free_run'] for r in mine):.2f}-{s['free_run_worst']:.2f})"
        checks = " ".join(mark if ok else f"~~{mark}~~" for mark, ok in (
            ("one-step", s["one_step_ok"]), ("free-run", s["free_run_ok"]), ("<=2", s["no_seed_above_limit"])))
        lines.append(f"| {name} | {mine[0]['steps']} | {spread} | {s['ar_free_run']:.3f} | {s['persistence']:.3f} | "
                     f"{s['mean']:.3f} | {s['one_step_median']:.3f} | {s['ar_one_step']:.3f} | {checks} |")
    seeds = sorted({r["seed"] for r in rows})
    lines += ["", f"Test NRMSE, median over seeds {', '.join(map(str, seeds))} (range in brackets); the trivial "
                  "models are deterministic. A struck-through check failed: one-step at most 1.05 x AR(p)'s, free run "
                  "at most the better of persistence and the training mean, no seed's free run above 2.", ""]
    return "\n".join(lines)


def plot(folder: Path, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    columns = read_columns(folder / "test_outputs.csv")
    name = next(key[len("target_"):] for key in columns if key.startswith("target_"))
    steps = np.arange(len(columns[f"target_{name}"]))
    fig, axes = plt.subplots(2, 1, figsize=(8, 5.5), dpi=110, sharex=True)
    for ax, mode, suffix in ((axes[0], "free-running forecast of the whole test part", ""),
                             (axes[1], "one-step-ahead prediction", "_one_step")):
        ax.plot(steps, columns[f"target_{name}"], color="black", lw=1.6, label="data")
        ax.plot(steps, columns[f"ar{suffix}_{name}"], color="tab:green", lw=1, label="AR(p)")
        ax.plot(steps, columns[f"persistence{suffix}_{name}"], color="tab:purple", lw=1, ls=":", label="persistence")
        if not suffix:
            ax.plot(steps, columns[f"mean_{name}"], color="0.5", lw=1, ls="-.", label="training mean")
        ax.plot(steps, columns[f"evolino{suffix}_{name}"], color="tab:orange", lw=1.4, ls="--", label="evolino")
        ax.set_title(mode, fontsize="medium")
        ax.set_ylabel("sunspot number")
        ax.legend(fontsize="x-small", ncol=5, loc="upper left")
    axes[1].set_xlabel("test year (2008 is the last)")
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.09, top=0.95, hspace=0.25)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", nargs="+", default=list(SERIES), choices=SERIES)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--generations", type=int, default=None, help="default: evolino's own (300)")
    parser.add_argument("--variants", nargs="*", default=[], metavar="LABEL=FLAGS",
                        help="other settings to run too, e.g. \"5 cells=--cells 5\"")
    parser.add_argument("--table", type=Path, default=None, help="default: beside the results file")
    parser.add_argument("--figure", type=Path, default=None, help="default: beside the results file")
    add_output_arguments(parser, RESULTS / "real_series.json", "nile, seed 0, 2 generations")
    args = parser.parse_args()
    if args.smoke:
        args.series, args.seeds, args.generations = ["nile"], [0], 2
    out = output_path(parser, args, RESULTS / "real_series.json", "real_series")
    # The docs' table and figure are replaced only with the committed results; otherwise they go beside the results.
    committed = {TABLE: args.table, FIGURE: args.figure, VARIANTS: None}
    table_file, figure_file, variants_file = (given or (path if args.write_results else out.parent / path.name)
                                              for path, given in committed.items())
    variants = {"default": ()}
    for item in args.variants:
        label, sep, flags = item.partition("=")
        if not sep:
            parser.error(f"--variants expects LABEL=FLAGS, got {item!r}")
        variants[label.strip()] = tuple(flags.split())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant, flags in variants.items():
            for name in args.series:
                for seed in args.seeds:
                    row = run_series(name, seed, args.generations, Path(tmp), flags, variant)
                    rows.append(row)
                    print(f"{variant}: {name} seed {seed}: free run {row['free_run']:.3f} (AR "
                          f"{row['ar_free_run']:.3f}, persistence {row['persistence']:.3f}, mean {row['mean']:.3f}), "
                          f"one step {row['one_step']:.3f} (AR {row['ar_one_step']:.3f}), {row['seconds']:.0f} s",
                          flush=True)
        if "sunspots" in args.series:
            figure_file.parent.mkdir(parents=True, exist_ok=True)
            plot(Path(next(r["folder"] for r in rows if r["series"] == "sunspots")), figure_file)
    for row in rows:
        row.pop("folder")
    default = [r for r in rows if r["variant"] == "default"]
    summary = summarise(default)
    write_results(out, {"summary": summary, "rows": rows},
                  command_line(args, skip=("table", "figure")))
    table_file.parent.mkdir(parents=True, exist_ok=True)
    table_file.write_text(table_markdown(summary, default))
    print(table_markdown(summary, default))
    if len(variants) > 1:
        variants_file.write_text(variants_markdown(rows))
        print(variants_markdown(rows))


if __name__ == "__main__":
    main()
