"""Echo state network baseline on the MSO tasks, with the reservoir settings selected honestly.

For each task, every (spectral radius, feedback scale, ridge) of a small grid and several reservoir seeds is fitted;
the setting with the lowest *validation* error (closed-loop on steps 300-399, never the test window) is reported with
its test error on steps 400-699, the protocol Evolino uses.

    python experiments/esn_baseline.py [--units 100] [--seeds 5]

Writes experiments/results/esn_baseline.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from evolino.baselines import EchoStateNetwork
from evolino.readout import ReadoutConfig
from evolino.tasks import make_task

RESULTS = Path(__file__).parent / "results"
GRID = {"spectral_radius": (0.8, 0.95, 1.0), "feedback_scale": (0.01, 0.1, 0.5), "ridge": (1e-12, 1e-8, 1e-4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--tasks", nargs="+", default=["mso1", "mso2", "mso3", "mso4", "sines5"])
    args = parser.parse_args()
    rows = []
    print("| task | units | selected setting | validation NRMSE | test NRMSE |\n|---|---|---|---|---|")
    for name in args.tasks:
        task = make_task(name)
        best = None
        for radius, feedback, ridge in itertools.product(*GRID.values()):
            for seed in range(args.seeds):
                esn = EchoStateNetwork(units=args.units, spectral_radius=radius, feedback_scale=feedback,
                                       readout=ReadoutConfig(ridge=ridge), random_state=seed)
                result = esn.fit(task)
                if best is None or result.validation_error < best["validation_error"]:
                    best = {"task": name, "units": args.units, "spectral_radius": radius,
                            "feedback_scale": feedback, "ridge": ridge, "seed": seed,
                            "validation_error": result.validation_error, "test_error": result.test_error}
        rows.append(best)
        setting = f"radius {best['spectral_radius']}, feedback {best['feedback_scale']}, ridge {best['ridge']:g}"
        print(f"| {name} | {args.units} | {setting} | {best['validation_error']:.2e} | {best['test_error']:.2e} |",
              flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "esn_baseline.json"
    out.write_text(json.dumps({"grid": GRID, "seeds": args.seeds, "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
