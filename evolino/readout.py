"""Least-squares readout: the optimal linear output weights for every genome of a population.

For a genome with design matrix ``X`` (samples, p) (cell outputs after the washout, the sources the readout sees
directly, and a bias column of ones) and targets ``D`` (samples, m), the readout is ``W = pinv(X) D`` with an explicit
singular-value cutoff, or the ridge solution ``argmin |X W - D|^2 + ridge |W|^2``. Only steps that have a target are
rows of ``X``.

Ridge strengths apply to the cell weights only (``shrunk`` rows; the directly seen sources and the bias are fitted as
a plain linear model fits them, so a huge ridge leaves exactly that model). Without a bias (``bias=False``) the bias
column is zeros and its weight is 0 under every strength and chooser. Choosing the strength per genome:

* ``ridge="auto"``: generalized cross-validation (Golub, Heath & Wahba, Technometrics 1979) on the fit itself,
  GCV = (RSS / N) / (1 - df / N)^2 with df the trace of the hat matrix; every strength of ``ridge_grid`` is solved
  from the same statistics, no extra forward pass;
* ``ridge="validation"``: every strength is scored on the validation data and the best kept (see
  :mod:`evolino.fitness`); more forward passes, and more prone to fitting the validation data's noise;
* ``ridge="loo"``: for a label per sequence (one scored row each), every strength is scored by its leave-one-out
  error over the training sequences (:func:`loo_outputs`, exact and in closed form: each sequence predicted by the
  readout fitted on the others), and the fitness is that error: all training sequences fit and score the readout.

Sufficient statistics are kept as a QR factorisation ``X = Q R``: the triangular ``R`` (p, p) and ``Q^T D`` (p, m).
Unlike the normal equations ``X^T X``, this does not square the condition number, so accumulating several sequences
gives the same weights as one solve on the stacked data, to rounding. ``R`` has the same singular values as ``X``,
so the cutoff means exactly what it means for ``pinv(X)``.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from evolino.blas import single_threaded_blas
from evolino.kernels import compiled_threads

__all__ = ["DEFAULT_RCOND", "DEFAULT_RIDGE_GRID", "ReadoutConfig", "ReadoutStats", "design_matrix", "fit_readout",
           "loo_outputs"]

# The pseudo-inverse cutoff, chosen with network.DEFAULT_FEEDBACK_SCALE on MSO2's validation window.
DEFAULT_RCOND = 1e-14
DEFAULT_RIDGE_GRID = (0.0, 1e-8, 1e-6, 1e-4, 1e-2, 1.0, 100.0, 1e8)
CHOOSERS = ("auto", "validation", "loo")
LOO_RCOND = 1e-12  # pseudo-inverse cutoff of X^T X + ridge E in loo_outputs (relative to its largest eigenvalue)
LOO_LEVERAGE = 0.99  # above: the fit all but interpolates the row, and (fitted - h d) / (1 - h) is rounding noise
PARALLEL_SVD_WORK = 2e6  # n * p^3 above which the batched SVD is split over the kernel's threads


@dataclass(frozen=True)
class ReadoutConfig:
    """How output weights are computed.

    Parameters
    ----------
    rcond : float
        Singular values below ``rcond * max(s)`` are treated as zero (pseudo-inverse cutoff).
    ridge : float, "auto" or "validation"
        Tikhonov strength on the cell weights; 0 gives the pseudo-inverse. "auto", "validation" and "loo" choose a
        strength of ``ridge_grid`` per genome (see the module docstring).
    bias : bool
        Add a constant column of ones to the design matrix.
    ridge_grid : tuple of float
        The strengths "auto" and "validation" choose from.
    """

    rcond: float = DEFAULT_RCOND
    ridge: float | str = 0.0
    bias: bool = True
    ridge_grid: tuple[float, ...] = DEFAULT_RIDGE_GRID

    def __post_init__(self) -> None:
        if not (0 <= self.rcond < 1):
            raise ValueError(f"readout rcond must be in [0, 1), got {self.rcond}")
        if isinstance(self.ridge, str):
            if self.ridge not in CHOOSERS:
                raise ValueError(f'readout ridge must be a number >= 0, "auto", "validation" or "loo", got '
                                 f'{self.ridge!r}')
        elif not (self.ridge >= 0 and np.isfinite(self.ridge)):
            raise ValueError(f"readout ridge must be finite and >= 0, got {self.ridge}")
        grid = tuple(float(r) for r in self.ridge_grid)
        if not grid or not all(np.isfinite(r) and r >= 0 for r in grid):
            raise ValueError(f"ridge_grid must be non-empty, finite and >= 0, got {self.ridge_grid}")
        object.__setattr__(self, "ridge_grid", grid)

    @property
    def candidates(self) -> tuple[float, ...]:
        """The ridge strengths to solve for: the grid when a strength is chosen, else the one strength."""
        return self.ridge_grid if isinstance(self.ridge, str) else (float(self.ridge),)


def design_matrix(states: np.ndarray, bias: bool, direct: np.ndarray | None = None) -> np.ndarray:
    """states (n, T, cells), direct (T, D) shared or None -> X (n, T, cells + D + 1); the last column is ones with a
    bias, zeros without."""
    n, T, _ = states.shape
    column = np.ones((n, T, 1)) if bias else np.zeros((n, T, 1))
    parts = [states] if direct is None or direct.shape[1] == 0 else \
        [states, np.broadcast_to(direct[None], (n, T, direct.shape[1]))]
    return np.concatenate([*parts, column], axis=2)


def loo_outputs(x: np.ndarray, targets: np.ndarray, grid: tuple[float, ...], shrunk: int) -> np.ndarray:
    """Leave-one-out outputs of the ridge readout at every strength of ``grid``.

    Row i's output is that of the readout fitted on every other row: with the hat matrix H = X A^+ X^T of the fit
    on all rows (A = X^T X + ridge E, E selecting the first ``shrunk`` columns), it is (fitted_i - H_ii d_i) /
    (1 - H_ii), exactly (the Sherman-Morrison identity behind PRESS; Allen, Technometrics 1974). A row of leverage
    near 1 (:data:`LOO_LEVERAGE`: a fit that all but interpolates it, as with fewer rows than columns and a tiny
    ridge) gets NaN: its formula divides rounding errors by almost nothing, and a search would exploit them.

    Parameters
    ----------
    x : (n, S, p) design rows of n genomes (:func:`design_matrix` rows: cells, direct sources, bias)
    targets : (S, m)
    grid : ridge strengths
    shrunk : the columns the ridge applies to (the cells)

    Returns
    -------
    (len(grid), n, S, m) outputs
    """
    n, _, p = x.shape
    gram = np.matmul(x.transpose(0, 2, 1), x)
    xtd = np.matmul(x.transpose(0, 2, 1), targets)
    penalty = np.zeros(p)
    penalty[:shrunk] = 1.0
    outputs = np.full((len(grid), n, *targets.shape), np.nan)
    finite = np.isfinite(gram).all(axis=(1, 2))
    with np.errstate(all="ignore"):
        for g, ridge in enumerate(grid):
            inverse = np.linalg.pinv(gram[finite] + ridge * np.diag(penalty), rcond=LOO_RCOND, hermitian=True)
            rows = x[finite]
            fitted = np.matmul(rows, np.matmul(inverse, xtd[finite]))
            leverage = np.einsum("nsp,npq,nsq->ns", rows, inverse, rows)
            loo = (fitted - leverage[..., None] * targets) / (1.0 - leverage)[..., None]
            outputs[g, finite] = np.where((leverage < LOO_LEVERAGE)[..., None], loo, np.nan)
    return outputs


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
        self.rss = np.zeros((n, m))  # residual sum of squares of the least-squares fit, per output
        self.samples = 0

    def copy(self) -> ReadoutStats:
        other = ReadoutStats.__new__(ReadoutStats)
        other.r, other.qtd, other.rss, other.samples = self.r.copy(), self.qtd.copy(), self.rss.copy(), self.samples
        return other

    def add(self, design: np.ndarray, targets: np.ndarray) -> None:
        """Fold in one sequence: design (n, T, p), targets (T, m) shared or (n, T, m) per genome."""
        n, T, p = design.shape
        stacked = self._stacked(n, T)
        stacked[:, -T:, :p] = design
        self._fold(stacked, targets, T)

    def add_states(self, states: np.ndarray, targets: np.ndarray, bias: bool, direct: np.ndarray | None = None,
                   ) -> None:
        """Fold in one sequence of hidden states (n, T, cells) and direct sources (T, D) (None when D = 0); the same as
        ``add(design_matrix(states, bias, direct), targets)`` without the intermediate copy of the states."""
        n, T, cells = states.shape
        if T == 0:
            return
        stacked = self._stacked(n, T)
        p = self.r.shape[2]
        stacked[:, -T:, :cells] = states
        if p > cells + 1:
            stacked[:, -T:, cells : p - 1] = direct
        stacked[:, -T:, p - 1] = 1.0 if bias else 0.0
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
        # The block below [R, Q^T D] is the residual's triangular factor: what these rows add to the RSS.
        self.rss += np.sum(r_aug[:, p:, p:] ** 2, axis=1)
        self.samples += T

    def square_factor(self) -> tuple[np.ndarray, np.ndarray]:
        """Writable copies of (R, Q^T D) padded with zero rows to (n, p, p) and (n, p, m), for a kernel that folds
        rows in place (zero rows do not change R^T R nor R^T Q^T D); the kernel adds to ``rss`` in place."""
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

    def solve(self, config: ReadoutConfig, shrunk: int | None = None) -> np.ndarray:
        """Output weights (n, p, m): for a fixed ridge, its solution; for "auto", each genome's choice by GCV.
        Non-finite statistics give NaN weights (the fitness turns them into +inf)."""
        if config.ridge == "validation":
            raise ValueError('ridge="validation" is chosen on validation data: use solve_candidates')
        return self.choose(config, shrunk)[0]

    def choose(self, config: ReadoutConfig, shrunk: int | None = None, svd: Callable | None = None,
               ) -> tuple[np.ndarray, np.ndarray]:
        """(weights (n, p, m), index of each genome's strength in ``config.candidates``): GCV's choice for
        "auto", the one strength otherwise. ``svd``: as for :meth:`solve_candidates`."""
        solutions, dof = self.solve_candidates(config, shrunk, svd)
        if len(solutions) == 1:
            return solutions[0], np.zeros(self.r.shape[0], dtype=int)
        choice = np.argmin(self.gcv(solutions, dof), axis=0)  # the first (weakest) strength on ties
        return np.stack(solutions)[choice, np.arange(choice.size)], choice

    def solve_candidates(self, config: ReadoutConfig, shrunk: int | None = None, svd: Callable | None = None,
                         ) -> tuple[list[np.ndarray], np.ndarray]:
        """Output weights for every ridge strength of ``config.candidates``, and their degrees of freedom.

        ``shrunk``: the ridge applies to the first ``shrunk`` rows only (the cells; the direct view and the bias are
        then fitted as a plain linear model would fit them, and a huge ridge leaves exactly that model). None: every
        row, solved from one SVD per genome. Strength 0 is always the pseudo-inverse with the ``rcond`` cutoff.
        ``svd``: the SVD of a stack, as ``np.linalg.svd(stack, full_matrices=False)`` (the compiled kernels' is
        :func:`evolino.kernels.svd.threaded_svd`); None: :func:`batched_svd`.

        Returns
        -------
        solutions : list of (n, p, m), one per candidate (NaN for a genome whose statistics are not finite)
        dof : (candidates, n), the trace of each fit's hat matrix
        """
        n, _, p = self.r.shape
        if self.samples == 0:
            raise ValueError("no samples were added to the readout statistics")
        finite = np.isfinite(self.r).all(axis=(1, 2)) & np.isfinite(self.qtd).all(axis=(1, 2))
        solutions = [np.full((n, p, self.qtd.shape[2]), np.nan) for _ in config.candidates]
        dof = np.full((len(config.candidates), n), np.nan)
        if not finite.any():
            return solutions, dof
        u, s, vt = (svd or batched_svd)(self.r[finite])
        keep = s > config.rcond * s[:, :1]
        projected = np.matmul(u.transpose(0, 2, 1), self.qtd[finite])
        for g, (weights, ridge) in enumerate(zip(solutions, config.candidates, strict=True)):
            if ridge > 0 and shrunk is not None and shrunk < p:
                weights[finite], dof[g, finite] = self._partial_ridge(finite, ridge, shrunk)
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                if ridge > 0:
                    inv_s = np.where(keep, s / (s * s + ridge), 0.0)
                else:
                    inv_s = np.where(keep, 1.0 / s, 0.0)
            weights[finite] = np.matmul(vt.transpose(0, 2, 1), projected * inv_s[:, :, None])
            dof[g, finite] = np.sum(s * inv_s, axis=1)  # s^2 / (s^2 + ridge) on the kept directions
        return solutions, dof

    def _partial_ridge(self, rows: np.ndarray, ridge: float, shrunk: int) -> tuple[np.ndarray, np.ndarray]:
        """argmin |X W - D|^2 + ridge |W[:shrunk]|^2 as the least-squares problem [R; sqrt(ridge) E] W = [Q^T D; 0]
        (E selects the shrunk rows), by one more QR: no normal equations. Returns the weights and the trace of the
        hat matrix, tr((R^T R + ridge E^T E)^-1 R^T R). An unshrunk column of zeros (the bias column when
        ``bias=False``) gets weight 0."""
        r, qtd = self.r[rows], self.qtd[rows]
        k, p = r.shape[1:]
        m = qtd.shape[2]
        # An unshrunk column that is zero in every row (the bias column of a readout without a bias) would leave a
        # zero on U's diagonal: any penalty on it gives its weight 0 and changes neither the fit nor the hat matrix.
        # (Rows for it only when there is one: the other problems are solved exactly as they always were.)
        zero = ~np.any(r[:, :, shrunk:] != 0, axis=1)
        extra = p - shrunk if zero.any() else 0
        stacked = np.zeros((r.shape[0], k + shrunk + extra, p + m))
        stacked[:, :k, :p] = r
        stacked[:, :k, p:] = qtd
        stacked[:, k + np.arange(shrunk), np.arange(shrunk)] = np.sqrt(ridge)
        if extra:
            unshrunk = np.arange(shrunk, p)
            stacked[:, k + unshrunk, unshrunk] = np.where(zero, 1.0, 0.0)
        with single_threaded_blas():
            r_aug = np.linalg.qr(stacked, mode="r")
        upper, rhs = r_aug[:, :p, :p], r_aug[:, :p, p:]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            weights = _solve_upper(upper, rhs)
            # tr(A^-1 R^T R) with A = U^T U is |R U^-1|_F^2: U^T Y = R^T is a triangular solve.
            y = _solve_upper(upper.transpose(0, 2, 1)[:, ::-1, ::-1], r.transpose(0, 2, 1)[:, ::-1])[:, ::-1]
            dof = np.sum(y * y, axis=(1, 2))
        return weights, dof

    def gcv(self, solutions: list[np.ndarray], dof: np.ndarray) -> np.ndarray:
        """Generalized cross-validation score (candidates, n) of each solution: (RSS / N) / (1 - df / N)^2, with the
        RSS of the solution over every folded row; +inf where it is not finite or df >= N."""
        n_rows = self.samples
        scores = np.empty(dof.shape)
        with np.errstate(all="ignore"):
            for g, weights in enumerate(solutions):
                extra = np.matmul(self.r, weights) - self.qtd  # |X W - D|^2 = |R W - Q^T D|^2 + RSS_lstsq
                rss = np.sum(extra * extra, axis=(1, 2)) + self.rss.sum(axis=1)
                scores[g] = rss / n_rows / (1.0 - dof[g] / n_rows) ** 2
        return np.where(np.isfinite(scores) & (dof < n_rows), scores, np.inf)


def batched_svd(stack: np.ndarray, threads: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.linalg.svd(stack, full_matrices=False)`` of a stack (n, k, p), on single-threaded BLAS, split over
    ``threads`` threads (None: the compiled kernel's, :func:`evolino.kernels.compiled_threads`) when the stack is big
    enough to pay for them. numpy releases the GIL in the loop over matrices, and each matrix is decomposed alone, so
    the result is the same on any number of threads. The chunks are small (at least four per thread, at most about 16
    matrices) and written into the result as they finish, so little more memory is held than for one call."""
    n, k, p = stack.shape
    r = min(k, p)  # fewer rows than columns when fewer samples than readout rows were folded in
    threads = compiled_threads() if threads is None else threads
    with single_threaded_blas():
        if threads <= 1 or n < 2 or n * p**3 < PARALLEL_SVD_WORK:
            return np.linalg.svd(stack, full_matrices=False)
        u, s, vt = np.empty((n, k, r)), np.empty((n, r)), np.empty((n, r, p))

        def decompose(rows: np.ndarray) -> None:
            u[rows], s[rows], vt[rows] = np.linalg.svd(stack[rows], full_matrices=False)

        with ThreadPoolExecutor(min(threads, n)) as pool:
            list(pool.map(decompose, np.array_split(np.arange(n), min(max(4 * threads, n // 16), n))))
    return u, s, vt


def _solve_upper(upper: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Back substitution for a batch of upper-triangular systems: (n, p, p), (n, p, m) -> (n, p, m)."""
    p = upper.shape[1]
    x = np.zeros_like(rhs)
    for i in range(p - 1, -1, -1):
        x[:, i] = (rhs[:, i] - np.einsum("nj,njm->nm", upper[:, i, i + 1 :], x[:, i + 1 :])) / upper[:, i, i, None]
    return x


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
