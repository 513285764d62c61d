"""Per-generation overhead of every optimizer: ask + tell time, without fitness evaluation.

    python benchmarks/optimizer_overhead.py [--population 40] [--generations 20] [--max-seconds 20]
    python benchmarks/optimizer_overhead.py --smoke    # 2 generations of guess and sep-cma: a check that it runs

Genomes are laid out as Evolino LSTMs (MSO: one fed-back output, no external input) with 10 cells (d = 510) and
34 cells (d = 4,998), so ESP gets the real per-cell chromosomes. The errors told are a cheap function of the genomes,
computed outside the timed region. Each optimizer runs ``--generations`` generations after one warm-up generation,
or fewer if it exceeds ``--max-seconds``. Prints milliseconds per generation and the ratio to random guessing (which
only samples), all measured side by side in this one run. Writes runs/optimizer_overhead/optimizer_overhead.json
(``--out`` elsewhere; ``--write-results``: benchmarks/results/optimizer_overhead.json) with provenance: every row.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "experiments")]  # this checkout's evolino and the experiments' provenance
from provenance import add_output_arguments, command_line, output_path, write_results  # noqa: E402

from evolino.network import LSTMSpec  # noqa: E402
from evolino.optimizers import make_optimizer, optimizer_names  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "optimizer_overhead.json"

SIZES = {510: 10, 4998: 34}  # genome length -> cells


def time_optimizer(name: str, spec: LSTMSpec, population: int, generations: int, max_seconds: float) -> dict:
    x0 = np.random.default_rng(0).normal(0.0, 0.1, spec.dimension)
    started = time.perf_counter()
    opt = make_optimizer(name, x0, np.random.default_rng(1), population, spec.cell_slices())
    setup = time.perf_counter() - started
    ask_seconds = tell_seconds = 0.0
    timed = 0
    for generation in range(generations + 1):
        t0 = time.perf_counter()
        genomes = opt.ask()
        t1 = time.perf_counter()
        errors = np.sum(genomes**2, axis=1)  # not timed
        t2 = time.perf_counter()
        opt.tell(genomes, errors)
        t3 = time.perf_counter()
        if generation > 0:  # generation 0 is the warm-up
            ask_seconds += t1 - t0
            tell_seconds += t3 - t2
            timed += 1
            if ask_seconds + tell_seconds > max_seconds:
                break
    return {"optimizer": name, "dimension": spec.dimension, "population": opt.popsize, "setup_ms": 1e3 * setup,
            "ask_ms": 1e3 * ask_seconds / timed, "tell_ms": 1e3 * tell_seconds / timed, "generations": timed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--population", type=int, default=40)
    parser.add_argument("--generations", type=int, default=20)
    parser.add_argument("--max-seconds", type=float, default=20.0, help="cap on the timed part per optimizer")
    parser.add_argument("--optimizers", nargs="+", default=optimizer_names())
    add_output_arguments(parser, RESULTS, "guess and sep-cma, 2 generations")
    args = parser.parse_args()
    if args.smoke:
        args.optimizers, args.generations = ["guess", "sep-cma"], 2
    out = output_path(parser, args, RESULTS, "optimizer_overhead")
    measured = []

    print("| d | optimizer | networks/gen | setup ms | ask ms | tell ms | ask+tell ms/gen | x guess | gens timed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for dimension, cells in SIZES.items():
        spec = LSTMSpec(n_inputs=0, cells=cells, n_outputs=1, feedback=True)
        assert spec.dimension == dimension
        rows = [time_optimizer(name, spec, args.population, args.generations, args.max_seconds)
                for name in args.optimizers]
        measured += rows
        floor = next((r["ask_ms"] + r["tell_ms"] for r in rows if r["optimizer"] == "guess"), None)
        for r in rows:
            total = r["ask_ms"] + r["tell_ms"]
            ratio = f"{total / floor:.1f}" if floor else "-"
            print(f"| {dimension} | {r['optimizer']} | {r['population']} | {r['setup_ms']:.1f} | {r['ask_ms']:.2f} | "
                  f"{r['tell_ms']:.2f} | {total:.2f} | {ratio} | {r['generations']} |", flush=True)
    write_results(out, {"rows": measured}, command_line(args), load_average=list(os.getloadavg()))


if __name__ == "__main__":
    main()
