"""What the command line prints when its reader goes away: nothing more, and a run still writes its files."""

import subprocess
import sys


def test_a_listing_piped_into_head_ends_quietly():
    proc = subprocess.run(f"{sys.executable} -m evolino tasks | head -1; exit ${{PIPESTATUS[0]}}", shell=True,
                          executable="/bin/bash", capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "" and len(proc.stdout.splitlines()) == 1


def test_a_run_whose_log_reader_goes_away_still_writes_its_results(tmp_path):
    out = tmp_path / "run"
    command = (f"{sys.executable} -m evolino run --task mso1 --cells 3 --population 8 --generations 30 "
               f"--progress-every 1 --no-plots --out {out} | head -1; exit ${{PIPESTATUS[0]}}")
    proc = subprocess.run(command, shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (out / "result.json").is_file() and (out / "model.npz").is_file()
    assert len((out / "history.csv").read_text().splitlines()) == 31  # every generation ran
