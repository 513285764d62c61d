"""PNG plots of a run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["plot_learning_curve", "plot_test_window", "plot_confusion"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_learning_curve(history: dict[str, np.ndarray], path: str | os.PathLike, title: str = "") -> Path:
    """Best, median and best-ever error per generation on a log scale.

    Parameters
    ----------
    history : dict of (G,) arrays
        Columns of history.csv; uses "generation", "best", "median", "best_ever".
    path : output PNG
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    generation = history["generation"]
    for column, style in (("median", dict(color="0.6", lw=1)), ("best", dict(color="tab:blue", lw=1)),
                          ("best_ever", dict(color="tab:red", lw=2))):
        values = np.where(np.isfinite(history[column]) & (history[column] > 0), history[column], np.nan)
        ax.plot(generation, values, label=column.replace("_", "-"), **style)
    ax.set_yscale("log")
    ax.set_xlabel("generation")
    ax.set_ylabel("fitness (error on held-out data)")
    ax.set_title(title or "learning curve")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.13, top=0.92)  # fixed margins: tight_layout is slow
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


_BASELINE_STYLES = {"ar": dict(color="tab:green", lw=1, label="AR(p)"),
                    "linear": dict(color="tab:green", lw=1, label="linear(p)"),
                    "persistence": dict(color="tab:purple", lw=1, ls=":", label="persistence"),
                    "seasonal_naive": dict(color="tab:brown", lw=1, ls=":", label="seasonal naive"),
                    "mean": dict(color="0.5", lw=1, ls="-.", label="training mean")}


def plot_test_window(targets: np.ndarray, outputs: np.ndarray, path: str | os.PathLike, title: str = "",
                     baselines: dict[str, np.ndarray] | None = None, names=(),
                     band: tuple[np.ndarray, np.ndarray] | None = None, band_label: str = "interval") -> Path:
    """The network's outputs against the targets on the test steps, one panel per output, the trivial models'
    outputs beside them, and the absolute errors.

    Parameters
    ----------
    targets, outputs : (T, m) arrays (NaN targets: steps without a target)
    path : output PNG
    baselines : {name: (T, m)}, e.g. "ar", "persistence", "mean"
    names : the m column names
    band : (lower, upper), each (T, m), optional
        A prediction interval, shaded around the outputs.
    """
    plt = _pyplot()
    targets, outputs = np.atleast_2d(targets.T).T, np.atleast_2d(outputs.T).T
    baselines = baselines or {}
    m = targets.shape[1]
    fig, axes = plt.subplots(m + 1, 1, figsize=(8, 2.2 * (m + 1)), dpi=110, sharex=True, squeeze=False)
    steps = np.arange(targets.shape[0])
    for j in range(m):
        ax = axes[j, 0]
        ax.plot(steps, targets[:, j], color="black", lw=1.5, label="target", marker="." if np.isnan(
            targets[:, j]).any() else None)
        for name, values in baselines.items():
            ax.plot(steps, values[:, j], **_BASELINE_STYLES.get(name, dict(lw=1, label=name)))
        if band is not None:
            ax.fill_between(steps, band[0][:, j], band[1][:, j], color="tab:orange", alpha=0.18, lw=0,
                            label=band_label)
        ax.plot(steps, outputs[:, j], color="tab:orange", lw=1.2, ls="--", label="evolino")
        ax.set_ylabel(names[j] if j < len(names) else f"output {j}")
        ax.legend(loc="upper right", fontsize="x-small", ncol=2)
    with np.errstate(all="ignore"):
        error = _largest_error(outputs, targets)
        axes[m, 0].semilogy(steps, np.where(error > 0, error, np.nan), color="tab:orange", lw=1, label="evolino")
        for name, values in baselines.items():
            other = _largest_error(values, targets)
            style = {k: v for k, v in _BASELINE_STYLES.get(name, {"label": name}).items() if k != "lw"}
            axes[m, 0].semilogy(steps, np.where(other > 0, other, np.nan), lw=0.8, **style)
    axes[m, 0].set_ylabel("|error|")
    axes[m, 0].set_xlabel("test step")
    axes[0, 0].set_title(title or "test window")
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.2 / (m + 1), top=1 - 0.14 / (m + 1), hspace=0.12)
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def _largest_error(values: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(T,) largest |value - target| of each step over the outputs; NaN at steps without a target (no warning)."""
    distance = np.abs(values - targets)
    largest = np.full(distance.shape[0], np.nan)
    known = ~np.isnan(distance).all(axis=1)
    largest[known] = np.nanmax(distance[known], axis=1)
    return largest


def plot_confusion(confusion: dict, path: str | os.PathLike, title: str = "") -> Path:
    """A confusion matrix as a heat map with its counts: ``{"classes": [...], "counts": [[...]]}`` (rows: the true
    class, columns: the predicted one)."""
    plt = _pyplot()
    counts = np.asarray(confusion["counts"])
    classes = [str(c) for c in confusion["classes"]]
    size = 2.5 + 0.45 * len(classes)
    fig, ax = plt.subplots(figsize=(size + 1, size), dpi=110)
    ax.imshow(counts, cmap="Blues")
    for (i, j), count in np.ndenumerate(counts):
        ax.text(j, i, str(count), ha="center", va="center", fontsize="small",
                color="white" if count > counts.max() / 2 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize="small")
    ax.set_yticks(range(len(classes)), classes, fontsize="small")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title or "test confusion matrix", fontsize="medium")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
