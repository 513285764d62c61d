"""Least-squares readout: the optimal linear output weights for every genome of a population.

For a genome with design matrix ``X`` (samples, p) (cell outputs after the washout, optionally a bias column of ones)
and targets ``D`` (samples, m), the readout is ``W = pinv(X) D`` with an explicit singular-value cutoff, or the ridge
solution ``argmin |X W - D|^2 + ridge |W|^2``.

Sufficient statistics are kept as a QR factorisation ``X = Q R``: the triangular ``R`` (p, p) and ``Q^T D`` (p, m).
Unlike the normal equations ``X^T X``, this does not square the condition number, so accumulating several sequences
gives the same weights as one solve on the stacked data, to rounding. ``R`` has the same singular values as ``X``,
so the cutoff means exactly what it means for ``pinv(X)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evolino.blas import single_threaded_blas

__all__ = ["ReadoutConfig", "ReadoutStats", "design_matrix", "fit_readout"]

@dataclass(frozen=True)
class ReadoutConfig:
    """How output weights are computed.

    Parameters
    ----------
    rcond : float
        Singular values below ``rcond * max(s)`` are treated as zero (pseudo-inverse cutoff).
    ridge : float
        Tikhonov strength; 0 gives the pseudo-inverse. Applies to every weight, the bias included.
    bias : bool
        Add a constant column of ones to the design matrix.
    """

    rcond: float = 1e-10
    ridge: float = 0.0
    bias: bool = True

    def __post_init__(self) -> None:
        if not (0 <= self.rcond < 1):
            raise ValueError(f"readout rcond must be in [0, 1), got {self.rcond}")
        if not (self.ridge >= 0 and np.isfinite(self.ridge)):
            raise ValueError(f"readout ridge must be finite and >= 0, got {self.ridge}")


def design_matrix(states: np.ndarray, bias: bool) -> np.ndarray:
    """states (n, T, cells) -> X (n, T, cells + 1); the last column is ones with a bias, zeros without."""
    n, T, _ = states.shape
    column = np.ones((n, T, 1)) if bias else np.zeros((n, T, 1))
    return np.concatenate([states, column], axis=2)


class ReadoutStats:
    """Accumulated least-squares statistics (R, Q^T D) of a population, for one or many sequences.

    Parameters
    ----------
    n : int
        Population size.
    p : int
        Columns of the design matrix (cells + 1).
    m : int
        Outputs.
    """

    def __init__(self, n: int, p: int, m: int) -> None:
        self.r = np.zeros((n, 0, p))
        self.qtd = np.zeros((n, 0, m))
        self.samples = 0

    def add(self, design: np.ndarray, targets: np.ndarray) -> None:
        """Fold in one sequence: design (n, T, p), targets (T, m) shared or (n, T, m) per genome."""
        n, T, p = design.shape
        stacked = self._stacked(n, T)
        stacked[:, -T:, :p] = design
        self._fold(stacked, targets, T)

    def add_states(self, states: np.ndarray, targets: np.ndarray, bias: bool) -> None:
        """Fold in one sequence of hidden states (n, T, cells); same as ``add(design_matrix(states, bias), targets)``
        without the intermediate copy of the states."""
        n, T, cells = states.shape
        stacked = self._stacked(n, T)
        stacked[:, -T:, :cells] = states
        stacked[:, -T:, cells] = 1.0 if bias else 0.0
        self._fold(stacked, targets, T)

    def _stacked(self, n: int, T: int) -> np.ndarray:
        """[[R, Q^T D], [new rows]] as one (n, k + T, p + m) array; the caller fills the new design rows."""
        k, p = self.r.shape[1:]
        stacked = np.empty((n, k + T, p + self.qtd.shape[2]))
        stacked[:, :k, :p] = self.r
        stacked[:, :k, p:] = self.qtd
        return stacked

    def _fold(self, stacked: np.ndarray, targets: np.ndarray, T: int) -> None:
        # The R factor of [X, D] is [[R, Q^T D], [0, *]]: one R-only QR (no Q formed) gives both statistics.
        n, _, width = stacked.shape
        m = self.qtd.shape[2]
        p = width - m
        stacked[:, -T:, p:] = np.broadcast_to(targets, (n, T, m))
        with single_threaded_blas():  # BLAS threads on these small matrices only contend (15x slower seen)
            r_aug = np.linalg.qr(stacked, mode="r")  # batched over genomes: (n, min(k + T, p + m), p + m)
        rows = min(r_aug.shape[1], p)
        self.r = np.ascontiguousarray(r_aug[:, :rows, :p])
        self.qtd = np.ascontiguousarray(r_aug[:, :rows, p:])
        self.samples += T

    def square_factor(self) -> tuple[np.ndarray, np.ndarray]:
        """Writable copies of (R, Q^T D) padded with zero rows to (n, p, p) and (n, p, m), for a kernel that folds
        rows in place (zero rows do not change R^T R nor R^T Q^T D)."""
        n, k, p = self.r.shape
        r = np.zeros((n, p, p))
        qtd = np.zeros((n, p, self.qtd.shape[2]))
        r[:, :k] = self.r[:, :p]
        qtd[:, :k] = self.qtd[:, :p]
        return r, qtd

    def set_factor(self, r: np.ndarray, qtd: np.ndarray, added_samples: int) -> None:
        """Take (R, Q^T D) back from a kernel that folded ``added_samples`` more rows into :meth:`square_factor`."""
        self.r, self.qtd = r, qtd
        self.samples += added_samples

    def solve(self, config: ReadoutConfig) -> np.ndarray:
        """Output weights (n, p, m); non-finite statistics give NaN weights (the fitness turns them into +inf)."""
        n, _, p = self.r.shape
        if self.samples == 0:
            raise ValueError("no samples were added to the readout statistics")
        finite = np.isfinite(self.r).all(axis=(1, 2)) & np.isfinite(self.qtd).all(axis=(1, 2))
        weights = np.full((n, p, self.qtd.shape[2]), np.nan)
        if not finite.any():
            return weights
        with single_threaded_blas():
            u, s, vt = np.linalg.svd(self.r[finite], full_matrices=False)
        cutoff = config.rcond * s[:, :1]
        keep = s > cutoff
        with np.errstate(divide="ignore", invalid="ignore"):
            if config.ridge > 0:
                inv_s = np.where(keep, s / (s * s + config.ridge), 0.0)
            else:
                inv_s = np.where(keep, 1.0 / s, 0.0)
        coeffs = np.matmul(u.transpose(0, 2, 1), self.qtd[finite]) * inv_s[:, :, None]
        weights[finite] = np.matmul(vt.transpose(0, 2, 1), coeffs)
        return weights


def fit_readout(
    states: np.ndarray, targets: np.ndarray, config: ReadoutConfig = ReadoutConfig()
) -> np.ndarray:
    """Output weights for one sequence.

    Parameters
    ----------
    states : (n, T, cells)
        Hidden states after the washout.
    targets : (T, m) or (n, T, m)

    Returns
    -------
    weights : (n, cells + 1, m)
        The last row holds the bias (zero when ``config.bias`` is False).
    """
    targets = np.asarray(targets, dtype=np.float64)
    m = targets.shape[-1]
    stats = ReadoutStats(states.shape[0], states.shape[2] + 1, m)
    stats.add(design_matrix(states, config.bias), targets)
    return stats.solve(config)
