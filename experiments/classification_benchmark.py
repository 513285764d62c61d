"""Evolino against 1-NN DTW and ROCKET on the UCR/UEA archive sets shipped inside aeon and sktime, run as a user would.

    python experiments/classification_benchmark.py                      # the development sets, seeds 0 1 2
    python experiments/classification_benchmark.py --sets ArrowHead --seeds 0 --generations 20
    python experiments/classification_benchmark.py --catalogue          # the sets and their sizes; nothing is run
    python experiments/classification_benchmark.py --smoke              # UnitTest, seed 0, 2 generations, seconds
    python experiments/classification_benchmark.py --write-results      # experiments/results/ and the docs table

The catalogue. ``CATALOGUE`` below: the classification sets of the UCR/UEA archive whose files ship inside aeon
(``aeon/datasets/data``) or sktime (``sktime/datasets/data``: PLAID only), read from those files with aeon's
``load_from_ts_file``: nothing is downloaded. The archive's originals are used (aeon also ships equal-length
``_eq`` versions of JapaneseVowels and PickupGestureWiimoteZ; they are not). Tecator, also in sktime's folder, is a
regression set and is left out.

The two sets, fixed here:

* **development** (6 sets): ArrowHead, OSULeaf, ACSF1, PLAID, PickupGestureWiimoteZ, UnitTest, the sets issue 25
  names to develop evolino's classification on;
* **kept-back** (4 sets): BasicMotions, GunPoint, ItalyPowerDemand, JapaneseVowels, which confirm the defaults once
  they are chosen. They choose nothing and are reported separately. (``--set kept-back`` runs them.)

The protocol. The archive's own train/test split, as a user holding the two files would run it. Each part is written
as a long CSV, one row per step: ``id`` (the sequence), the channels ``c0 .. ck``, ``label`` (the class, the same on
every row of a sequence), the sequences in the archive's order. It is run with

    python -m evolino run --data TRAIN.csv --test TEST.csv --kind classify --sequence id --target label
        --seed S --quiet --no-plots --out DIR

(in-process, ``evolino.cli.main``) and nothing else (``--generations N`` when given): the channels are the inputs
(every column but the id and the target), evolino deals the training file's sequences to its training and
validation parts (its default: stratified by class, seeded) and scores the test file as the test part. Evolino so
trains on the archive's training set, as the other methods do. The run's test part is checked to be the archive's
test set: the counts and lengths in task.json and the labels of test_outputs.csv, sequence by sequence. Evolino's
accuracy and balanced accuracy are read from result.json (``test_scores``) and checked against test_outputs.csv.
Everything result.json says is kept beside it.

On the same split, each trained once on the whole archive training set and tested once on its test set:

* **1-NN DTW**: aeon's ``KNeighborsTimeSeriesClassifier(distance="dtw", n_neighbors=1)``; aeon's default
  ``distance_params`` (None) is the full window (no warping constraint). Deterministic, run once.
* **ROCKET**: aeon's ``RocketClassifier(random_state=S)``, its default 10,000 kernels and ridge. aeon's ROCKET takes
  equal lengths only: where a set's lengths differ, every sequence (training and test) is padded at its end with its
  own last value to the set's longest length (``padded`` in the record).
* **MiniRocket**: sktime's ``MiniRocketMultivariateVariable(random_state=S)`` (10,000 features; it takes unequal
  lengths as they are) then ``StandardScaler(with_mean=False)`` and ``RidgeClassifierCV(alphas=logspace(-3, 3,
  10))``, as aeon's MiniRocketClassifier; on every set. Sequences shorter than its 9-step minimum are padded with
  their last value to 9 steps.
* **class frequency**: the training set's most frequent class for every test sequence (over a tie, the mean over the
  tied classes: the expected accuracy of a random tie-break).

Evolino, ROCKET and MiniRocket run seeds ``--seeds`` (default 0 1 2; ROCKET's kernels are random); a set's figure is
their median. Accuracy and balanced accuracy (scikit-learn's: the mean recall over classes) on the test set, and the
wall seconds of each run (fit and prediction; evolino's: the whole CLI run) are recorded per method.

Writes runs/classification_benchmark/classification_benchmark.json by default (``--out`` elsewhere); with
``--write-results``, experiments/results/classification_benchmark.json and the table
docs/generated/classification_benchmark.md (made by experiments/tables.py from that file). The file is rewritten
after every set (``"complete": false`` until the last).

Needs aeon (the files, its loader, DTW and ROCKET), sktime (PLAID's files and MiniRocket) and scikit-learn; the
results file records their versions (``meta.packages``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import importlib.util
import io
import json
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

# The evolino of this checkout, not an installed one (see experiments/forecast_benchmark.py).
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path[:2]:
    sys.path.insert(1, str(ROOT))

from provenance import add_output_arguments, command_line, output_path, write_results  # noqa: E402

from evolino.cli import main as evolino_main  # noqa: E402

RESULTS_FILE = ROOT / "experiments" / "results" / "classification_benchmark.json"
TABLE = ROOT / "docs" / "generated" / "classification_benchmark.md"

SETS = ("development", "kept-back")
METHODS = ("evolino", "dtw", "rocket", "minirocket", "class_frequency")
SEEDED = ("evolino", "rocket", "minirocket")
MINIROCKET_SHORTEST = 9  # sktime's MiniRocket needs 9 steps
SMOKE_SETS = ("UnitTest",)
PACKAGES = ("aeon", "sktime", "scikit-learn", "numba", "pandas", "scipy")


@dataclass(frozen=True)
class ArchiveSet:
    """One catalogue entry: the archive's name, the set it belongs to, the package whose datasets/data folder ships
    its ``NAME_TRAIN.ts`` and ``NAME_TEST.ts``, and what the sequences are."""

    name: str
    set: str
    package: str
    description: str


D, K = "development", "kept-back"
CATALOGUE: tuple[ArchiveSet, ...] = (
    ArchiveSet("UnitTest", D, "aeon", "aeon's test set: 24 hourly pedestrian counts of Chinatown (Melbourne), "
                                      "weekday or weekend (a part of the archive's Chinatown)"),
    ArchiveSet("ArrowHead", D, "aeon", "outlines of projectile points as 1-D series, 3 types"),
    ArchiveSet("PickupGestureWiimoteZ", D, "aeon", "z-acceleration of a Wii remote over 10 gestures, unequal "
                                                   "lengths"),
    ArchiveSet("OSULeaf", D, "aeon", "leaf outlines as 1-D series, 6 species"),
    ArchiveSet("ACSF1", D, "aeon", "power consumption of home appliances over a day, 10 kinds of appliance"),
    ArchiveSet("PLAID", D, "sktime", "current drawn by appliances as they switch on, 11 kinds, unequal lengths"),
    ArchiveSet("ItalyPowerDemand", K, "aeon", "24 hourly electricity demands of Italy, October-March or April-"
                                              "September"),
    ArchiveSet("GunPoint", K, "aeon", "hand position of an actor drawing a gun or pointing a finger"),
    ArchiveSet("BasicMotions", K, "aeon", "smartwatch accelerometer and gyroscope (6 channels), 4 activities"),
    ArchiveSet("JapaneseVowels", K, "aeon", "12 LPC cepstrum coefficients of a vowel spoken by 9 speakers, unequal "
                                            "lengths"),
)
BY_NAME = {s.name: s for s in CATALOGUE}


# ------------------------------------------------------------------------------------------------------ loading

@dataclass
class Archive:
    """A set as the archive splits it: sequences as (channels, T_i) arrays and their labels (strings)."""

    x_train: list[np.ndarray]
    y_train: np.ndarray
    x_test: list[np.ndarray]
    y_test: np.ndarray
    files: dict[str, dict]

    @property
    def channels(self) -> int:
        return self.x_train[0].shape[0]

    @property
    def equal_length(self) -> bool:
        return len({x.shape[1] for x in (*self.x_train, *self.x_test)}) == 1


def data_folder(package: str) -> Path:
    """The package's datasets/data folder, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{package} is not installed; the benchmark reads the archive files it ships")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data"


def load(entry: ArchiveSet) -> Archive:
    """The archive's training and test sequences of a catalogue set, from the package's own files."""
    from aeon.datasets import load_from_ts_file

    parts, files = {}, {}
    for part in ("TRAIN", "TEST"):
        path = data_folder(entry.package) / entry.name / f"{entry.name}_{part}.ts"
        x, y = load_from_ts_file(str(path))
        sequences = [np.asarray(s, float) for s in x]  # (n, c, T) array or a list of (c, T_i) arrays
        if any(not np.all(np.isfinite(s)) for s in sequences):
            raise ValueError(f"{entry.name}: {path.name} has missing values")
        parts[part] = (sequences, np.asarray([str(label) for label in y]))
        files[part.lower()] = {"path": f"{entry.package}/datasets/data/{entry.name}/{path.name}",
                               "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    archive = Archive(*parts["TRAIN"], *parts["TEST"], files)
    if len({s.shape[0] for s in (*archive.x_train, *archive.x_test)}) != 1:
        raise ValueError(f"{entry.name}: the sequences have different numbers of channels")
    return archive


def describe(archive: Archive) -> dict:
    """Channels, lengths, classes and sizes of a set, as the results file records them."""

    def lengths(xs):
        steps = [x.shape[1] for x in xs]
        return [min(steps), max(steps)]

    classes, counts = np.unique(archive.y_train, return_counts=True)
    return {"channels": archive.channels, "equal_length": archive.equal_length,
            "lengths": {"train": lengths(archive.x_train), "test": lengths(archive.x_test)},
            "classes": len(set(archive.y_train) | set(archive.y_test)), "labels": sorted(set(archive.y_train)),
            "train": len(archive.y_train), "test": len(archive.y_test),
            "train_class_counts": dict(zip(classes.tolist(), counts.tolist(), strict=True)),
            "files": archive.files}


def write_csv(path: Path, sequences: list[np.ndarray], labels: np.ndarray, prefix: str) -> None:
    """One part of a set as a long CSV: ``id``, the channels ``c0 .. ck``, ``label``; the sequences in order."""
    channels = sequences[0].shape[0]
    with open(path, "w", newline="") as handle:
        handle.write(",".join(["id", *(f"c{j}" for j in range(channels)), "label"]) + "\n")
        for i, (x, label) in enumerate(zip(sequences, labels, strict=True)):
            for values in x.T.tolist():
                handle.write(f"{prefix}{i},{','.join(map(repr, values))},{label}\n")


# ------------------------------------------------------------------------------------------------------ scores

def scores(truth, predicted) -> dict[str, float]:
    from sklearn.metrics import balanced_accuracy_score

    truth, predicted = np.asarray(truth), np.asarray(predicted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a predicted class absent from the test set
        balanced = balanced_accuracy_score(truth, predicted)
    return {"accuracy": float(np.mean(truth == predicted)), "balanced_accuracy": float(balanced)}


def _sequence_labels(path: Path, prefix: str) -> tuple[list[str], list[str] | None] | None:
    """(true labels, ``prefix``'s predicted labels) of the test sequences in a run's test_outputs.csv (one row per
    step: ``sequence``, ``target_<COL>=<class>`` ..., ``<prefix>_<COL>=<class>`` ...; a sequence's label at its one
    row with targets, the prediction the largest output there); None when the file is not laid out so."""
    if not path.exists():
        return None
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    targets = [j for j, name in enumerate(header) if name.startswith("target_") and "=" in name]
    if "sequence" not in header or not targets or not body:
        return None
    classes = [header[j].split("=", 1)[1] for j in targets]
    outputs = [header.index(f"{prefix}_{header[j][len('target_'):]}") if
               f"{prefix}_{header[j][len('target_'):]}" in header else None for j in targets]
    sequence = header.index("sequence")
    truth, predicted, seen = [], [], []
    for row in body:
        target = np.array([float(row[j]) for j in targets])
        if np.isnan(target).all():
            continue
        seen.append(row[sequence])
        truth.append(classes[int(np.argmax(target))])
        if None not in outputs:
            predicted.append(classes[int(np.argmax([float(row[j]) for j in outputs]))])
    if len(set(seen)) != len(seen):  # more than one labelled row in a sequence: not the layout read here
        return None
    return truth, (predicted if None not in outputs else None)


def check_test_part(name: str, out: Path, archive: Archive) -> list[str]:
    """Check that the run's test part is the archive's test set; the checks that could be made."""
    made = []
    task_file = out / "task.json"
    if task_file.exists():
        task = json.loads(task_file.read_text())
        info = task.get("info", {})
        if "split" in info:
            train, validation, test = info["split"]
            if train + validation != len(archive.y_train) or test != len(archive.y_test):
                raise RuntimeError(f"{name}: the run split {info['split']}, not the archive's "
                                   f"{len(archive.y_train)} training and {len(archive.y_test)} test sequences")
            made.append("task.json split")
        test_steps = task.get("steps", {}).get("test")
        if test_steps is not None:
            if list(test_steps) != [x.shape[1] for x in archive.x_test]:
                raise RuntimeError(f"{name}: the run's test sequences do not have the archive's test lengths (does "
                                   "this evolino reorder the sequences of its test file?)")
            made.append("task.json test lengths")
    labels = _sequence_labels(out / "test_outputs.csv", "evolino")
    if labels is not None:
        if labels[0] != archive.y_test.tolist():
            raise RuntimeError(f"{name}: the run's test labels are not the archive's test labels, in order (does this "
                               "evolino reorder the sequences of its test file?)")
        made.append("test_outputs.csv labels")
    if not made:
        raise RuntimeError(f"{name}: neither task.json nor test_outputs.csv says which sequences the run tested")
    return made


# ------------------------------------------------------------------------------------------------------ methods

def run_evolino(entry: ArchiveSet, files: tuple[Path, Path], seed: int, generations: int | None, folder: Path,
                archive: Archive) -> dict:
    """One evolino run of the CLI on the set's training and test CSVs; its record (result.json kept whole under
    "result")."""
    out = folder / f"{entry.name}-seed{seed}"
    argv = ["run", "--data", str(files[0]), "--test", str(files[1]), "--kind", "classify", "--sequence", "id",
            "--target", "label", "--seed", str(seed), "--quiet", "--no-plots", "--out", str(out)]
    if generations is not None:
        argv += ["--generations", str(generations)]
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        status = evolino_main(argv)
    seconds = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"python -m evolino {' '.join(argv)} exited with {status}")
    result = json.loads((out / "result.json").read_text())
    checks = check_test_part(entry.name, out, archive)
    reported = result.get("test_scores") or {}
    labels = _sequence_labels(out / "test_outputs.csv", "evolino")
    computed = scores(labels[0], labels[1]) if labels is not None and labels[1] is not None else {}
    accuracy = reported.get("accuracy", computed.get("accuracy"))
    if accuracy is None:
        raise RuntimeError(f"{entry.name}: result.json reports no accuracy and test_outputs.csv gives none")
    if "accuracy" in computed and not np.isclose(computed["accuracy"], accuracy, rtol=0, atol=1e-9):
        raise RuntimeError(f"{entry.name}: result.json's accuracy {accuracy} is not that of its test outputs "
                           f"({computed['accuracy']})")
    linear = _sequence_labels(out / "test_outputs.csv", "linear")
    split = json.loads((out / "task.json").read_text())["info"]["split"]
    record = {"seed": seed, "split": split, "accuracy": float(accuracy),
              "balanced_accuracy": reported.get("balanced_accuracy", computed.get("balanced_accuracy")),
              "seconds": round(seconds, 3), "test_error": result.get("test_error"), "checked": checks}
    if linear is not None and linear[1] is not None:
        record["linear_baseline"] = scores(*linear)  # evolino's own linear model of the last steps
    return {**record, "result": result}


def pad_to(xs: list[np.ndarray], steps: int) -> np.ndarray:
    """(n, c, steps): each (c, T_i) sequence padded at its end with its own last values."""
    return np.stack([np.pad(x, ((0, 0), (0, steps - x.shape[1])), mode="edge") for x in xs])


def as_collection(xs: list[np.ndarray]):
    """aeon's collection: an (n, c, T) array when the lengths agree, else the list of (c, T_i) arrays."""
    return np.stack(xs) if len({x.shape[1] for x in xs}) == 1 else xs


def _timed(fit_predict) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predicted = fit_predict()
    return np.asarray([str(p) for p in predicted]), round(time.perf_counter() - start, 3)


def run_dtw(archive: Archive) -> dict:
    from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier

    def fit_predict():
        model = KNeighborsTimeSeriesClassifier(distance="dtw", n_neighbors=1)
        return model.fit(as_collection(archive.x_train), archive.y_train).predict(as_collection(archive.x_test))

    predicted, seconds = _timed(fit_predict)
    return {**scores(archive.y_test, predicted), "seconds": seconds, "window": "full (aeon's default)"}


def run_rocket(archive: Archive, seed: int) -> dict:
    from aeon.classification.convolution_based import RocketClassifier

    steps = max(x.shape[1] for x in (*archive.x_train, *archive.x_test))

    def fit_predict():
        model = RocketClassifier(random_state=seed)
        return model.fit(pad_to(archive.x_train, steps), archive.y_train).predict(pad_to(archive.x_test, steps))

    predicted, seconds = _timed(fit_predict)
    return {"seed": seed, **scores(archive.y_test, predicted), "seconds": seconds}


def run_minirocket(archive: Archive, seed: int) -> dict:
    import pandas as pd
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.preprocessing import StandardScaler
    from sktime.transformations.panel.rocket import MiniRocketMultivariateVariable

    def frames(xs):  # sktime's df-list: one (T_i, c) frame a sequence, at least 9 steps
        return [pd.DataFrame(pad_to([x], max(x.shape[1], MINIROCKET_SHORTEST))[0].T) for x in xs]

    def fit_predict():  # step by step: scikit-learn's Pipeline (1.9) fails on sktime's transformer
        features = MiniRocketMultivariateVariable(random_state=seed)
        scaler = StandardScaler(with_mean=False)
        ridge = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))
        ridge.fit(scaler.fit_transform(features.fit_transform(frames(archive.x_train))), archive.y_train)
        return ridge.predict(scaler.transform(features.transform(frames(archive.x_test))))

    predicted, seconds = _timed(fit_predict)
    return {"seed": seed, **scores(archive.y_test, predicted), "seconds": seconds}


def class_frequency(archive: Archive) -> dict:
    """The training set's most frequent class for every test sequence; over a tie, the mean over the tied classes."""
    classes, counts = np.unique(archive.y_train, return_counts=True)
    majority = classes[counts == counts.max()].tolist()
    each = [scores(archive.y_test, np.full(len(archive.y_test), c)) for c in majority]
    return {"accuracy": float(np.mean([s["accuracy"] for s in each])),
            "balanced_accuracy": float(np.mean([s["balanced_accuracy"] for s in each])), "seconds": None,
            "majority": majority}


def _median_of(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return float(np.median(values)) if values else None


def seeded(runs: list[dict]) -> dict:
    """A seeded method's figures: the medians over its runs, and the runs."""
    return {"accuracy": _median_of(runs, "accuracy"), "balanced_accuracy": _median_of(runs, "balanced_accuracy"),
            "seconds": _median_of(runs, "seconds"), "seeds": runs}


def run_set(entry: ArchiveSet, seeds: list[int], generations: int | None, methods: tuple[str, ...],
            folder: Path) -> dict:
    archive = load(entry)
    record = {**asdict(entry), **describe(archive), "padded_for_rocket": not archive.equal_length}
    results = {}
    if "evolino" in methods:
        files = folder / f"{entry.name}_TRAIN.csv", folder / f"{entry.name}_TEST.csv"
        write_csv(files[0], archive.x_train, archive.y_train, "train")
        write_csv(files[1], archive.x_test, archive.y_test, "test")
        results["evolino"] = seeded([run_evolino(entry, files, seed, generations, folder, archive) for seed in seeds])
    if "dtw" in methods:
        results["dtw"] = run_dtw(archive)
    if "rocket" in methods:
        results["rocket"] = {**seeded([run_rocket(archive, seed) for seed in seeds]),
                             "padded": not archive.equal_length}
    if "minirocket" in methods:
        results["minirocket"] = seeded([run_minirocket(archive, seed) for seed in seeds])
    if "class_frequency" in methods:
        results["class_frequency"] = class_frequency(archive)
    return {**record, "methods": results}


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


def percent(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def line(entry: dict) -> str:
    m = entry["methods"]
    parts = []
    for method, label in (("evolino", "evolino"), ("dtw", "1-NN DTW"), ("rocket", "ROCKET"),
                          ("minirocket", "MiniRocket"), ("class_frequency", "class frequency")):
        if method in m:
            seconds = m[method]["seconds"]
            parts.append(f"{label} {percent(m[method]['accuracy'])}" + (f" ({seconds:.0f} s)" if seconds else ""))
    return f"{entry['name']} ({entry['set']}): " + ", ".join(parts)


def catalogue_line(entry: ArchiveSet, info: dict) -> str:
    lengths = {tuple(v) for v in info["lengths"].values()}
    low, high = min(a for a, _ in lengths), max(b for _, b in lengths)
    steps = f"{low} steps" if low == high else f"{low}-{high} steps (unequal)"
    return (f"{entry.name} ({entry.set}, {entry.package}): {info['channels']} channel(s), {steps}, "
            f"{info['classes']} classes, {info['train']} train / {info['test']} test")


# --------------------------------------------------------------------------------------------------------- main

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=None, choices=list(BY_NAME), metavar="NAME",
                        help="these archive sets only (default: every set of --set)")
    parser.add_argument("--set", default="development", choices=(*SETS, "all"),
                        help="which group of sets (default development)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--generations", type=int, default=None, help="passed to evolino; default: evolino's own")
    parser.add_argument("--methods", nargs="+", default=None, choices=METHODS,
                        help="these methods only (default: all)")
    parser.add_argument("--catalogue", action="store_true",
                        help="load the chosen sets and print their sizes; run nothing")
    add_output_arguments(parser, RESULTS_FILE, f"{' and '.join(SMOKE_SETS)}, seed 0, 2 generations "
                         "(--write-results: the docs table too)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sets, args.seeds, args.generations = list(SMOKE_SETS), [0], 2
    if args.write_results and args.methods is not None:
        parser.error("--write-results runs every method: leave out --methods")
    output_path(parser, args, RESULTS_FILE, "classification_benchmark")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    chosen = [BY_NAME[n] for n in args.sets] if args.sets else \
        [s for s in CATALOGUE if args.set in ("all", s.set)]
    if args.catalogue:
        for entry in chosen:
            print(catalogue_line(entry, describe(load(entry))))
        return
    methods = tuple(args.methods) if args.methods else METHODS
    command = command_line(args)
    evolino = ("python -m evolino run --data TRAIN.csv --test TEST.csv --kind classify --sequence id --target label "
               "--seed S --quiet --no-plots --out DIR"
               + (f" --generations {args.generations}" if args.generations is not None else ""))
    protocol = {"split": "the archive's; evolino deals the training file to its training and validation parts "
                         "(its default)",
                "seeds": args.seeds, "generations": args.generations, "methods": list(methods), "evolino": evolino,
                "dtw": "aeon KNeighborsTimeSeriesClassifier(distance='dtw', n_neighbors=1), full window",
                "rocket": "aeon RocketClassifier(random_state=S), 10,000 kernels; unequal lengths padded at the end "
                          "with each sequence's last value to the set's longest",
                "minirocket": "sktime MiniRocketMultivariateVariable(random_state=S) + StandardScaler(with_mean="
                              "False) + RidgeClassifierCV(alphas=logspace(-3, 3, 10)), unequal lengths as they are",
                "class_frequency": "the training set's most frequent class (a tie: the mean over the tied classes)",
                "scores": "accuracy and balanced accuracy (scikit-learn) on the archive's test set; seeded methods: "
                          "the median over seeds"}
    entries = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for entry in chosen:
            record = run_set(entry, args.seeds, args.generations, methods, Path(tmp))
            entries.append(record)
            print(line(record), flush=True)
            write_results(args.out, {"complete": len(entries) == len(chosen), "protocol": protocol,
                                     "wall_seconds": round(time.perf_counter() - started, 1), "sets": entries},
                          command, packages=package_versions())
    import tables

    data = json.loads(args.out.read_text())
    print(tables.classification_benchmark_markdown(data))
    if args.write_results:
        TABLE.write_text(tables.render(TABLE.read_text(),
                                       tables.BLOCKS["docs/generated/classification_benchmark.md"]))
        print(f"wrote {TABLE}")


if __name__ == "__main__":
    sys.exit(main())
