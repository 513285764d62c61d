"""Progress display of a run: a live tqdm bar on a terminal, plain lines when piped, nothing when quiet.

Both are callbacks of :class:`evolino.trainer.Evolino` (``callback(row)`` after every generation, ``row`` a
history row) with a ``close()`` method.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

__all__ = ["make_progress", "ProgressBar", "ProgressLines", "NoProgress"]


class NoProgress:
    """Shows nothing (``--quiet``)."""

    def __call__(self, row: dict) -> None:
        pass

    def close(self) -> None:
        pass


class _Rates:
    """Evaluations per second and seconds per generation, over the generations run by this process."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first: tuple[dict, float] | None = None

    def update(self, row: dict) -> tuple[float, float | None]:
        """(evaluations per second, seconds per generation); the latter is None after the first generation, whose
        time includes start-up (Ray actors, kernel compilation) and would make a wild ETA."""
        now = time.perf_counter()
        if self.first is None:  # the first generation ran between construction and now
            self.first = (row, now)
            seconds = max(now - self.started, 1e-9)
            return row["evaluations"] / max(row["generation"], 1) / seconds, None
        first, then = self.first
        seconds = max(now - then, 1e-9)
        generations = max(row["generation"] - first["generation"], 1)
        return (row["evaluations"] - first["evaluations"]) / seconds, seconds / generations


class ProgressLines:
    """One plain line every ``every`` generations (and on the first), for logs and pipes.

    Parameters
    ----------
    total : int
        Generation budget (for the ETA).
    every : int
        Print every this many generations.
    stream : text file
    """

    def __init__(self, total: int, every: int = 10, stream: TextIO | None = None) -> None:
        self.total, self.every = int(total), max(int(every), 1)
        self.stream = stream if stream is not None else sys.stdout
        self.rates = _Rates()
        self.printed_first = False

    def __call__(self, row: dict) -> None:
        evals_per_second, seconds_per_generation = self.rates.update(row)
        generation = row["generation"]
        if self.stream is None or self.printed_first and generation % self.every and generation != self.total:
            return
        self.printed_first = True
        eta = "--:--" if seconds_per_generation is None else \
            _clock(max(self.total - generation, 0) * seconds_per_generation)
        try:
            print(f"gen {generation:5d}/{self.total}  evals {row['evaluations']:8d}  best {row['best']:.3e}  "
                  f"mean {row['mean']:.3e}  best-ever {row['best_ever']:.3e}  {evals_per_second:8.1f} evals/s  "
                  f"ETA {eta}", file=self.stream, flush=True)
        except BrokenPipeError:  # nobody reads the log any more: the run goes on and writes its files
            self.stream = None

    def close(self) -> None:
        pass


class ProgressBar:
    """A tqdm bar: generation k/total, best and mean error of the generation, best ever, evaluations/s, ETA."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = int(total)
        self.stream = stream if stream is not None else sys.stderr
        self.bar = None
        self.rates = _Rates()

    def __call__(self, row: dict) -> None:
        from tqdm import tqdm

        evals_per_second, _ = self.rates.update(row)
        if self.bar is None:  # created on the first row, so a resumed run starts at its generation
            # A terminal that reports 0 columns (a fresh pty) would get an empty bar: fall back to 100.
            width = shutil.get_terminal_size((100, 24)).columns
            self.bar = tqdm(total=self.total, initial=row["generation"] - 1, desc="gen", unit="gen",
                            file=self.stream, ncols=width, leave=True)
        self.bar.set_postfix_str(f"best {row['best']:.2e} mean {row['mean']:.2e} best-ever {row['best_ever']:.2e} "
                                 f"{evals_per_second:.0f} evals/s", refresh=False)
        self.bar.update(row["generation"] - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def make_progress(total: int, quiet: bool = False, every: int = 10, stream: TextIO | None = None):
    """The right display for ``stream`` (stdout by default): a bar on a terminal, lines otherwise, or nothing."""
    if quiet:
        return NoProgress()
    stream = stream if stream is not None else sys.stdout
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return ProgressBar(total, stream)
    return ProgressLines(total, every, stream)
