"""The neural history compressor against a single BPTT-trained RNN on first-symbol recall with lags 20 and 1,000.

    python experiments/history_compressor.py                                  # the default run, 3-6 min on 2 cores
    python experiments/history_compressor.py --seeds 0 1 --rnn-budget 20000 --recall-rnn-budget 2000 --out /tmp/hc.json

Tasks (evolino.tasks.chunking): ``chunking-20`` (Schmidhuber 1992: a or x, then b1 .. b20, target the first symbol;
22 one-hot symbols) and ``recall-1000`` (a or x, then 1,000 filler symbols cycling b1 .. b5, 7 symbols: as
predictable as b1 .. b20, with a lag of 1,000).

Learners (evolino.baselines.history_compressor), every one trained online in batches of 10 fresh sequences, Adam
(step 0.01, gradient clipped to norm 1), initial weights N(0, 0.1^2), output weights zero:

* ``compressor``: a 16-unit predictor of the next symbol (softmax, cross-entropy) passes the inputs it gave a
  probability below 0.5 (and the first input) with their time code t / (T - 1) to a 10-unit high-level RNN trained
  on its last step; budget 10,000 training sequences on both tasks.
* ``rnn``: the same 10-unit net with the same inputs (symbol and time code) fed every step, the conventional
  net; budget 100,000 sequences on chunking-20 and 10,000 on recall-1000 (``--recall-rnn-budget``; a sequence there
  costs 50 times as much).
* ``rnn-radius-1``: the same, its initial recurrent matrix rescaled to spectral radius 1 (``--radius``; 0 skips it):
  a stronger gradient baseline, whose back-propagated error does not shrink from the start.

Success: the last 100 training sequences all classified right (outputs computed before the update on their batch);
"sequences" counts training sequences at success, a multiple of 10. After training, the frozen system classifies 100
fresh sequences (fresh-test accuracy). Published (Schmidhuber 1992, recalled, not verified): the chunking system solved
the 20-step task in 13 of 17 runs in fewer than 5,000 training sequences; a conventional RNN failed after more than
1,000,000.

Writes runs/history_compressor/history_compressor.json (``--out`` elsewhere; ``--write-results``: the committed
experiments/results/history_compressor.json) (with provenance) and prints a markdown table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from provenance import add_output_arguments, command_line, output_path, write_results

from evolino.baselines.history_compressor import DirectRNN, HistoryCompressor
from evolino.tasks.chunking import make_chunking_task

RESULTS = Path(__file__).parent / "results"
SHARED = dict(units=10, learning_rate=1e-2, clip=1.0, init_scale=0.1, batch_size=10, window=100, test_sequences=100,
              activation="tanh")
COMPRESSOR = dict(predictor_units=16, threshold=0.5)
PUBLISHED = {"compressor": "13 of 17 runs solved chunking-20 in < 5,000 training sequences",
             "rnn": "a conventional RNN failed after > 1,000,000 training sequences",
             "source": "Schmidhuber, Learning complex, extended sequences using the principle of history compression, "
                       "Neural Computation 4(2), 1992 (recalled, not verified)"}


def run(method: str, task_name: str, seed: int, budget: int, radius: float) -> dict:
    task = make_chunking_task(task_name)
    if method == "compressor":
        learner = HistoryCompressor(**SHARED, **COMPRESSOR, max_sequences=budget, random_state=seed)
        settings = {**SHARED, **COMPRESSOR}
    else:
        spectral = radius if method == "rnn-radius-1" else None
        learner = DirectRNN(**SHARED, spectral_radius=spectral, max_sequences=budget, random_state=seed)
        settings = {**SHARED, "spectral_radius": spectral}
    result = learner.fit(task).result_
    return {"method": method, "task": task_name, "seed": seed, "budget": budget, "solved": result.solved,
            "sequences": result.sequences, "sequences_to_success": result.sequences_to_success,
            "test_accuracy": result.test_accuracy, "test_compressed_steps": result.test_compressed_steps,
            "final_train_accuracy": float(np.mean(result.train_accuracy[-10:])),
            "settings": settings, "seconds": round(result.seconds, 2)}


def summarise(rows: list[dict]) -> list[dict]:
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["method"], row["task"]), []).append(row)
    summary = []
    for (method, task), group in groups.items():
        solved = [r["sequences_to_success"] for r in group if r["solved"]]
        counts = [r["sequences_to_success"] if r["solved"] else np.inf for r in group]
        median = float(np.median(counts))
        summary.append({"method": method, "task": task, "runs": len(group), "solved": len(solved),
                        "budget": group[0]["budget"],
                        "median_sequences": median if np.isfinite(median) else None,  # None: most runs failed
                        "median_sequences_solved_runs": float(np.median(solved)) if solved else None,
                        "test_accuracy": [r["test_accuracy"] for r in group],
                        "median_seconds": float(np.median([r["seconds"] for r in group]))})
    return summary


def table(summary: list[dict]) -> str:
    lines = ["| method | task | runs solved | median sequences to success | fresh-test accuracy | seconds per run |",
             "|---|---|---|---|---|---|"]
    for s in summary:
        median = f"{s['median_sequences']:,.0f}" if s["median_sequences"] is not None else f"> {s['budget']:,}"
        accuracy = s["test_accuracy"]
        accuracy = f"{min(accuracy):.2f}" if min(accuracy) == max(accuracy) else \
            f"{min(accuracy):.2f} .. {max(accuracy):.2f}"
        lines.append(f"| {s['method']} | {s['task']} | {s['solved']} of {s['runs']} (budget {s['budget']:,}) | "
                     f"{median} | {accuracy} | {s['median_seconds']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--tasks", nargs="+", default=["chunking-20", "recall-1000"])
    parser.add_argument("--compressor-budget", type=int, default=10_000, help="training sequences, every task")
    parser.add_argument("--rnn-budget", type=int, default=100_000, help="single RNN's training sequences, chunking-*")
    parser.add_argument("--recall-rnn-budget", type=int, default=10_000,
                        help="single RNN's training sequences, recall-*")
    parser.add_argument("--radius", type=float, default=1.0,
                        help="initial spectral radius of the stronger single-RNN baseline (0: leave it out)")
    add_output_arguments(parser, RESULTS / "history_compressor.json",
                         "chunking-20, seed 0, 20 training sequences per learner")
    args = parser.parse_args()
    if args.smoke:
        args.seeds, args.tasks = [0], ["chunking-20"]
        args.compressor_budget = args.rnn_budget = args.recall_rnn_budget = 20
    output_path(parser, args, RESULTS / "history_compressor.json", "history_compressor")
    methods = ["compressor", "rnn"] + (["rnn-radius-1"] if args.radius > 0 else [])
    print("| method | task | seed | solved | sequences | fresh-test accuracy | steps seen | seconds |\n"
          "|---|---|---|---|---|---|---|---|")
    rows = []
    for task_name in args.tasks:
        for method in methods:
            budget = args.compressor_budget if method == "compressor" else \
                args.recall_rnn_budget if task_name.startswith("recall") else args.rnn_budget
            for seed in args.seeds:
                row = run(method, task_name, seed, budget, args.radius)
                rows.append(row)
                print(f"| {method} | {task_name} | {seed} | {row['solved']} | {row['sequences']:,} | "
                      f"{row['test_accuracy']:.2f} | {row['test_compressed_steps']:.1f} | {row['seconds']:.1f} |",
                      flush=True)
    summary = summarise(rows)
    print()
    print(table(summary))
    write_results(args.out, {"summary": summary, "published": PUBLISHED, "rows": rows}, command_line(args))


if __name__ == "__main__":
    main()
