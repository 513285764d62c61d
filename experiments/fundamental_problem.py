"""The fundamental deep learning problem, every way around it, in one command: runs each experiment of
docs/fundamental-problem.md with its stated budget, then regenerates the page's tables from their results files.

    python experiments/fundamental_problem.py                  # everything, about two hours on 2 cores -> runs/
    python experiments/fundamental_problem.py --write-results  # the same, replacing the committed results and tables
    python experiments/fundamental_problem.py --dry-run        # the commands, not run
    python experiments/fundamental_problem.py --skip long_lag.py
    python experiments/fundamental_problem.py --smoke          # every experiment in its smoke mode: a check

The experiments, each a script of its own with its own results file (experiments/results/):

* vanishing_gradients.py: the error's norm back through a tanh RNN and an LSTM cell (the figure);
* gradient_lags.py: the plain RNN and the LSTM, both by BPTT, on latch, two-sequence, adding and temporal order at
  T = 10..100;
* guessing_study.py: random weight guessing on latch and parity (Schmidhuber & Hochreiter 1996);
* levin_search.py: universal search for a weight-writing program (Schmidhuber 1997);
* history_compressor.py: the neural history compressor against a single RNN (Schmidhuber 1992);
* long_lag.py: Evolino, the BPTT LSTM and the ESN on the long time-lag tasks (the page's Evolino and ESN rows).

Each experiment writes to runs/fundamental_problem/ (``--out``: the summary file there, the experiments' files
beside it); with ``--write-results`` each replaces its committed file under experiments/results/ and
experiments/tables.py then regenerates the page's tables from them (without it, tables.py only checks them:
``--check``). The summary file lists the commands and their results files. A failing experiment stops the run (its
results file is left as it was) with its exit status.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from provenance import RUNS, add_output_arguments, write_results

HERE = Path(__file__).resolve().parent
STEPS = ("vanishing_gradients.py", "gradient_lags.py", "guessing_study.py", "levin_search.py",
         "history_compressor.py", "long_lag.py")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip", nargs="+", default=[], choices=STEPS, help="experiments not to rerun")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    add_output_arguments(parser, HERE / "results", "every experiment with its own --smoke")
    args = parser.parse_args()
    if args.write_results and (args.smoke or args.out):
        parser.error("--write-results replaces the committed results files: leave out --smoke and --out")
    # No committed file of its own: the summary goes under runs/ even with --write-results.
    out = args.out or RUNS / "fundamental_problem" / ("smoke" if args.smoke else "") / "fundamental_problem.json"
    steps = [step for step in STEPS if step not in args.skip]
    commands = [[sys.executable, str(HERE / step), *(["--smoke"] if args.smoke else []),
                 *(["--write-results"] if args.write_results else ["--out", str(out.parent / f"{step[:-3]}.json")])]
                for step in steps]
    commands.append([sys.executable, str(HERE / "tables.py"), *([] if args.write_results else ["--check"])])
    for command in commands:
        print("$ python " + " ".join(Path(part).relative_to(HERE.parent).as_posix() if part.startswith(str(HERE))
                                     else part for part in command[1:]), flush=True)
        if not args.dry_run:
            status = subprocess.run(command, cwd=HERE.parent, check=False).returncode
            if status != 0:
                print(f"stopped: {Path(command[1]).name} exited with status {status}", file=sys.stderr)
                return status
    if not args.dry_run:
        write_results(out, {"steps": steps, "results": [command[command.index("--out") + 1] if "--out" in command
                                                        else None for command in commands[:-1]]},
                      "python experiments/fundamental_problem.py " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
