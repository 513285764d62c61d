"""The counting-inputs task of Schmidhuber 1997: Levin search for a weight-writing program, least squares and random
guessing, each trained on the same three examples and tested on all 161,700 inputs.

    python experiments/levin_search.py
    python experiments/levin_search.py --guess-trials 100000 --out /tmp/levin.json

Protocol (evolino.tasks.counting): one linear unit, 100 binary inputs of which three are on, integer weights in
[-10000, 10000], target 3 for every input; trained on the paper's three examples (on-bits, 1-based, {5, 17, 86},
{13, 55, 58}, {40, 87, 94}; 0-based in the code); an input counts as right when |w . x - 3| < 0.5. Methods:

* Levin search (evolino.search.levin_search) over the programs of WeightMachine (ten instructions: halt, zero, one,
  minus, inc, dec, write, next, prev, jump), phase i giving a program p at most floor(c 2^i 10^-len(p)) steps
  (``--time-scale`` c), stopping at the first program whose weights fit the three examples;
* least squares: the minimum-norm solution pinv(X) y (where gradient descent from w = 0 ends);
* random guessing: ``--guess-trials`` weight vectors uniform on the integers of [-10000, 10000] from
  numpy.random.default_rng(``--seed``), stopping at the first that fits; the best guess is tested otherwise.

Schmidhuber, Discovering neural nets with low Kolmogorov complexity and high generalization capability, Neural
Networks 10(5), 1997. Writes runs/levin_search/levin_search.json
(``--out`` elsewhere; ``--write-results``: the committed experiments/results/levin_search.json) with provenance
and prints a markdown table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from provenance import add_output_arguments, command_line, output_path, write_results

from evolino.search import WeightMachine, counting_inputs_task, levin_search
from evolino.tasks.counting import least_squares_weights, random_guessing

RESULTS = Path(__file__).parent / "results"


def run_levin(task, max_phase: int, time_scale: float) -> dict:
    machine = WeightMachine(n_weights=task.n_inputs, bound=task.weight_bound)
    result = levin_search(task.fits, machine, max_phase, time_scale=time_scale)
    row = {"method": "levin", "fits_training": result.found, "programs_tried": result.programs_tried,
           "steps_total": result.steps_total, "steps_executed": result.steps_executed,
           "seconds": round(result.seconds, 3), "phase": result.phase,
           "programs_per_phase": list(result.phase_programs),
           "settings": {"max_phase": max_phase, "time_scale": time_scale,
                        "instructions": list(machine.instructions), "bound": machine.bound}}
    if result.found:
        row |= {"program": " ".join(result.program), "program_length": len(result.program),
                "program_steps": result.program_steps, "halted": result.halted,
                "train_right": int((task.train_errors(result.weights) < 0.5).sum()),
                "test_fraction": task.test_fraction(result.weights),
                "all_weights_one": bool((result.weights == 1).all())}
    return row


def run_least_squares(task) -> dict:
    started = time.perf_counter()
    weights = least_squares_weights(task)
    seconds = time.perf_counter() - started
    return {"method": "least_squares", "fits_training": bool(task.fits(weights)), "seconds": round(seconds, 4),
            "train_right": int((task.train_errors(weights) < 0.5).sum()),
            "test_fraction": task.test_fraction(weights),
            "nonzero_weights": int(np.count_nonzero(np.abs(weights) > 1e-9))}


def run_guessing(task, trials: int, seed: int) -> dict:
    started = time.perf_counter()
    guess = random_guessing(task, trials, np.random.default_rng(seed))
    seconds = time.perf_counter() - started
    return {"method": "random_guessing", "fits_training": guess.found, "trials": guess.trials,
            "seconds": round(seconds, 3), "train_right": guess.train_right, "max_train_error": guess.max_train_error,
            "test_fraction": task.test_fraction(guess.weights), "settings": {"trials": trials, "seed": seed}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-phase", type=int, default=30, help="the last phase Levin search may run")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="c: phase i gives a program p floor(c 2^i P(p)) steps")
    parser.add_argument("--guess-trials", type=int, default=1_000_000, help="random guessing's budget")
    parser.add_argument("--seed", type=int, default=0, help="seed of random guessing's numpy Generator")
    add_output_arguments(parser, RESULTS / "levin_search.json", "phases up to 12, 1,000 guesses")
    args = parser.parse_args()
    if args.smoke:
        args.max_phase, args.guess_trials = 12, 1000
    output_path(parser, args, RESULTS / "levin_search.json", "levin_search")
    task = counting_inputs_task()
    rows = [run_levin(task, args.max_phase, args.time_scale), run_least_squares(task),
            run_guessing(task, args.guess_trials, args.seed)]
    print(f"| method | programs / trials | steps | seconds | training examples right | "
          f"test fraction right (of {task.test_size:,}) |\n|---|---|---|---|---|---|")
    for row in rows:
        count = row.get("programs_tried", row.get("trials"))
        steps = row.get("steps_total")
        print(f"| {row['method'].replace('_', ' ')} | {'-' if count is None else f'{count:,}'} | "
              f"{'-' if steps is None else f'{steps:,}'} | {row['seconds']:.3g} | {row.get('train_right', '-')} of 3 | "
              f"{row.get('test_fraction', float('nan')):.4%} |")
    levin = rows[0]
    if levin["fits_training"]:
        print(f"\nLevin search: `{levin['program']}` in phase {levin['phase']}, {levin['program_steps']} steps, "
              f"{'halted' if levin['halted'] else 'out of time'}; every weight 1: {levin['all_weights_one']}")
    task_record = {"n_inputs": task.n_inputs, "on_bits": task.on_bits, "target": task.target,
                   "weight_bound": task.weight_bound, "train_on_bits_1based": (task.train_on_bits + 1).tolist(),
                   "test_inputs": task.test_size, "right": "|w.x - 3| < 0.5"}
    write_results(args.out, {"task": task_record, "rows": rows}, command_line(args))


if __name__ == "__main__":
    main()
