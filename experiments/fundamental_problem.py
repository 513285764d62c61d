"""The fundamental deep learning problem, every way around it, in one command: runs each experiment of
docs/fundamental-problem.md with its stated budget, then regenerates the page's tables from their results files.

    python experiments/fundamental_problem.py             # everything, about two hours on 2 cores
    python experiments/fundamental_problem.py --dry-run   # the commands, not run
    python experiments/fundamental_problem.py --skip long_lag.py

The experiments, each a script of its own with its own results file (experiments/results/):

* vanishing_gradients.py: the error's norm back through a tanh RNN and an LSTM cell (the figure);
* gradient_lags.py: the plain RNN and the LSTM, both by BPTT, on latch, two-sequence, adding and temporal order at
  T = 10..100;
* guessing_study.py: random weight guessing on latch and parity (Schmidhuber & Hochreiter 1996);
* levin_search.py: universal search for a weight-writing program (Schmidhuber 1997);
* history_compressor.py: the neural history compressor against a single RNN (Schmidhuber 1992);
* long_lag.py: Evolino, the BPTT LSTM and the ESN on the long time-lag tasks (the page's Evolino and ESN rows).

A failing experiment stops the run (its results file is left as it was) with its exit status.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
STEPS = ("vanishing_gradients.py", "gradient_lags.py", "guessing_study.py", "levin_search.py",
         "history_compressor.py", "long_lag.py")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip", nargs="+", default=[], choices=STEPS, help="experiments not to rerun")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args()
    commands = [[sys.executable, str(HERE / step)] for step in STEPS if step not in args.skip]
    commands.append([sys.executable, str(HERE / "tables.py")])
    for command in commands:
        print("$ python " + " ".join(Path(part).relative_to(HERE.parent).as_posix() if part.startswith(str(HERE))
                                     else part for part in command[1:]), flush=True)
        if not args.dry_run:
            status = subprocess.run(command, cwd=HERE.parent, check=False).returncode
            if status != 0:
                print(f"stopped: {Path(command[1]).name} exited with status {status}", file=sys.stderr)
                return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
