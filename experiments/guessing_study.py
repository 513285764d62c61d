"""Random weight guessing on the latch and parity problems (Schmidhuber & Hochreiter 1996).

    python experiments/guessing_study.py                       # 20 seeds per row, the seven rows below
    python experiments/guessing_study.py --seeds 0 1 2 --rows parity:a2-noself --out /tmp/guess.json

Protocol (evolino.baselines.guessing_nets): every weight (biases included) iid U[-100, 100]; logistic units (the
hidden unit of ``one-tanh`` is tanh), activations reset to 0 at the start of each sequence; layered update (the
output reads the current hidden state).
Each run draws ``--train`` training sequences (100, as evolino's latch and parity tasks), lengths 500-600, then
guesses nets until one classifies every training sequence right (output > 0.5 for class 1 at the sequence's last
step), at most ``--max-trials``; the trials are counted in guessing order (1-based). The solving net is then scored
once on ``--test`` fresh sequences. Training sequences, weights and fresh sequences come from three streams spawned
from the run's seed, so the rows of one seed share their training sequences and the trial counts do not depend on
``--batch``.

Rows (task:architecture):

* ``latch:a1``: the first element +1 (class 1) or -1 (class 0), then Gaussian noise of variance 0.2, one hidden
  unit (A1: with one logistic state unit the noisy latch is unsolvable, see the module docstring).
* ``latch:one-tanh``: the same noisy latch on one self-recurrent tanh unit read by a logistic output (the paper's
  "latch II" net; a tanh unit reset to 0 starts in the middle of its range and can hold the sign of the first
  element, see the module docstring).
* ``latch:one-tanh-nobias``: the same net without biases (three weights).
* ``latch-noiseless:a1``: the same without the noise (the rest of the sequence is 0).
* ``parity:a1``, ``parity:a2``, ``parity:a2-noself``: +1/-1 inputs, class 1 when the number of +1 is odd; A1 (one
  hidden unit), A2 (ten), A2 without the hidden self-connections.

Published (the brief's figures, recalled, not verified; whether each is a mean or a median is not verified either):
latch ("latch II", one tanh unit) 22 trials; parity A1 2906, A2 2797, A2 without self-connections 250
(Schmidhuber & Hochreiter 1996; Hochreiter & Schmidhuber 1997, section 3).

Writes runs/guessing_study/guessing_study.json (``--out`` elsewhere; ``--write-results``: the committed
experiments/results/guessing_study.json) (with provenance) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from provenance import add_output_arguments, command_line, output_path, write_results

from evolino.baselines.guessing_nets import (
    ARCHITECTURES,
    accuracy,
    get_architecture,
    guess_until_solved,
    latch_sequences,
    parity_sequences,
)

RESULTS = Path(__file__).parent / "results"
SOURCE = "Schmidhuber & Hochreiter 1996"
TASKS = {"latch": lambda rng, n: latch_sequences(rng, n, noise=0.2),
         "latch-noiseless": lambda rng, n: latch_sequences(rng, n, noise=0.0),
         "parity": lambda rng, n: parity_sequences(rng, n)}
ROWS = ["latch:a1", "latch:one-tanh", "latch:one-tanh-nobias", "latch-noiseless:a1", "parity:a1", "parity:a2",
        "parity:a2-noself"]
LATCH_II = (22, "latch II, one tanh hidden unit")
PUBLISHED = {"latch": LATCH_II, "latch-noiseless": LATCH_II,
             "parity:a1": (2906, "parity, A1"), "parity:a2": (2797, "parity, A2"),
             "parity:a2-noself": (250, "parity, A2 without self-connections")}


def published(task: str, arch: str) -> dict | None:
    key = task if task.startswith("latch") else f"{task}:{arch}"
    if key not in PUBLISHED:
        return None
    trials, what = PUBLISHED[key]
    return {"trials": trials, "what": what, "source": SOURCE}


def parse_row(text: str) -> tuple[str, str]:
    task, _, arch = text.partition(":")
    if task not in TASKS or arch not in ARCHITECTURES:
        raise argparse.ArgumentTypeError(f"row {text!r}: want TASK:ARCHITECTURE with TASK in {sorted(TASKS)} and "
                                         f"ARCHITECTURE in {sorted(ARCHITECTURES)}")
    return task, arch


def run_one(task: str, arch: str, seed: int, args: argparse.Namespace) -> dict:
    train_rng, guess_rng, test_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    draw = TASKS[task]
    train = draw(train_rng, args.train)
    started = time.perf_counter()
    result = guess_until_solved(arch, train, guess_rng, args.max_trials, batch=args.batch)
    seconds = time.perf_counter() - started
    fresh = None if result.genome is None else accuracy(arch, result.genome, draw(test_rng, args.test))
    return {"task": task, "architecture": arch, "seed": seed, "trials": result.trials,
            "solved": result.trials is not None, "guessed": result.guessed, "seconds": round(seconds, 2),
            "fresh_accuracy": fresh, "generalises": fresh == 1.0}


def summarise(task: str, arch: str, runs: list[dict]) -> dict:
    trials = np.array([r["trials"] if r["solved"] else np.inf for r in runs], dtype=float)
    solved = trials[np.isfinite(trials)]
    median = float(np.median(trials))
    accuracies = [r["fresh_accuracy"] for r in runs if r["fresh_accuracy"] is not None]
    return {"task": task, "architecture": arch, "weights": get_architecture(arch).n_weights, "runs": len(runs),
            "solved": int(solved.size), "median_trials": median if np.isfinite(median) else None,
            "quartiles": [float(q) if np.isfinite(q) else None for q in np.percentile(trials, [25, 75])],
            "mean_trials_solved": float(solved.mean()) if solved.size else None,
            "generalise_fraction": float(np.mean([r["generalises"] for r in runs])),
            "median_fresh_accuracy": float(np.median(accuracies)) if accuracies else None,
            "min_fresh_accuracy": float(np.min(accuracies)) if accuracies else None,
            "median_seconds": float(np.median([r["seconds"] for r in runs])),
            "total_seconds": round(float(np.sum([r["seconds"] for r in runs])), 1),
            "published": published(task, arch)}


def number(x: float | None, digits: int = 0) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def table(summary: list[dict], max_trials: int) -> str:
    lines = ["| task | architecture | weights | solved | median trials (quartiles) | mean trials (solved) | "
             "published | 100% on fresh sequences | accuracy on fresh (median, min) | time per run (median) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for s in summary:
        low, high = (number(q) if q is not None else f"> {max_trials:,}" for q in s["quartiles"])
        median = number(s["median_trials"]) if s["median_trials"] is not None else f"> {max_trials:,}"
        pub = "-" if s["published"] is None else f"{s['published']['trials']:,}"
        lines.append(f"| {s['task']} | {s['architecture']} | {s['weights']} | {s['solved']}/{s['runs']} | "
                     f"{median} ({low} .. {high}) | {number(s['mean_trials_solved'])} | {pub} | "
                     f"{s['generalise_fraction']:.0%} | {number(s['median_fresh_accuracy'], 3)}, "
                     f"{number(s['min_fresh_accuracy'], 3)} | {s['median_seconds']:.1f} s |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(20)))
    parser.add_argument("--rows", nargs="+", default=ROWS, help="TASK:ARCHITECTURE pairs, e.g. parity:a2")
    parser.add_argument("--max-trials", type=int, default=100_000, help="give up on a run after this many nets")
    parser.add_argument("--train", type=int, default=100, help="training sequences per run")
    parser.add_argument("--test", type=int, default=1000, help="fresh sequences the solving net is scored on")
    parser.add_argument("--batch", type=int, default=1000, help="nets scored at once (does not change the counts)")
    add_output_arguments(parser, RESULTS / "guessing_study.json",
                         "latch:a1, seed 0, at most 200 nets, 10 training and 10 fresh sequences")
    args = parser.parse_args()
    if args.smoke:
        args.seeds, args.rows, args.max_trials, args.train, args.test, args.batch = [0], ["latch:a1"], 200, 10, 10, 100
    output_path(parser, args, RESULTS / "guessing_study.json", "guessing_study")
    try:
        rows = [parse_row(text) for text in args.rows]
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    for name, value in (("--max-trials", args.max_trials), ("--train", args.train), ("--test", args.test),
                        ("--batch", args.batch)):
        if value < 1:
            parser.error(f"{name} must be >= 1, got {value}")
    runs, summary = [], []
    for task, arch in rows:
        these = []
        for seed in args.seeds:
            run = run_one(task, arch, seed, args)
            these.append(run)
            print(f"{task}:{arch} seed {seed}: trials {run['trials']}, fresh {run['fresh_accuracy']}, "
                  f"{run['seconds']:.1f} s", flush=True)
        runs += these
        summary.append(summarise(task, arch, these))
    print(table(summary, args.max_trials))
    protocol = {"weights": "iid U[-100, 100], biases included",
                "units": "logistic (one-tanh: tanh hidden unit, logistic output), reset to 0 per sequence",
                "hidden_activation": {arch: get_architecture(arch).hidden_activation for arch in dict.fromkeys(
                    arch for _, arch in rows)},
                "update": "layered: hidden from u(t) and the state at t-1, output from the hidden state at t",
                "lengths": [500, 600], "train_sequences": args.train, "fresh_sequences": args.test,
                "max_trials": args.max_trials, "latch_noise_variance": {"latch": 0.2, "latch-noiseless": 0.0},
                "success": "every training sequence right: output > 0.5 at its last step exactly for class 1"}
    write_results(args.out, {"protocol": protocol, "summary": summary, "runs": runs}, command_line(args))


if __name__ == "__main__":
    main()
