"""Reliability defects of issue 27: a readout without a bias under every ridge, checkpoints that record the libraries
and the kernel they were written with, the CLI's exit statuses (2: the user's input, 1: a bug), the advice when no
checkpoint is usable, and the one-line compile notice of a cold numba cache."""

import numpy as np
import pytest

import evolino
from evolino.readout import ReadoutConfig, ReadoutStats, design_matrix, loo_outputs

# --- 1. a readout without a bias -------------------------------------------------------------------------------------


def _no_bias_problem(seed=0, rows=60, cells=3, direct=2):
    rng = np.random.default_rng(seed)
    states = rng.normal(size=(2, rows, cells))
    sources = rng.normal(size=(rows, direct))
    design = design_matrix(states, bias=False, direct=sources)  # cells, direct sources, a column of zeros
    targets = rng.normal(size=(rows, 2))
    return design, targets


@pytest.mark.parametrize("ridge", [0.0, 1e-6, 0.3, 1.0, 1e8])
def test_a_readout_without_bias_matches_closed_form_ridge_on_the_columns_it_has(ridge):
    """The partial ridge (cells shrunk, direct sources not) without a bias is the closed-form ridge of the design
    without its zero column, and the bias row is 0; before the fix every strength > 0 was NaN (a zero pivot)."""
    design, targets = _no_bias_problem()
    stats = ReadoutStats(2, design.shape[2], 2)
    stats.add(design, targets)
    config = ReadoutConfig(ridge=ridge)
    solutions, dof = stats.solve_candidates(config, shrunk=3)
    weights = solutions[0]
    assert np.isfinite(weights).all() and np.isfinite(dof).all()
    for k in range(2):
        x = design[k][:, :-1]
        assert not design[k][:, -1].any()
        penalty = np.diag([ridge] * 3 + [0.0] * 2)
        if ridge == 0:
            expected = np.linalg.lstsq(x, targets, rcond=None)[0]
        else:
            expected = np.linalg.solve(x.T @ x + penalty, x.T @ targets)
        np.testing.assert_allclose(weights[k][:-1], expected, rtol=1e-8, atol=1e-10)
        assert np.all(weights[k][-1] == 0)
        hat = np.trace(x @ np.linalg.solve(x.T @ x + penalty, x.T))
        assert dof[0, k] == pytest.approx(hat, rel=1e-9)


def test_gcv_without_bias_scores_every_strength_and_can_choose_one_above_zero():
    design, targets = _no_bias_problem(seed=1, rows=30, cells=6, direct=1)
    design[:, :, 5] = design[:, :, 4] + 1e-4 * np.random.default_rng(2).normal(size=design.shape[:2])
    stats = ReadoutStats(2, design.shape[2], 2)
    stats.add(design, targets)
    config = ReadoutConfig(ridge="auto", ridge_grid=(0.0, 0.1, 1.0, 10.0, 100.0))
    solutions, dof = stats.solve_candidates(config, shrunk=6)
    scores = stats.gcv(solutions, dof)
    assert np.isfinite(scores).all()
    for g, ridge in enumerate(config.candidates):
        for k in range(2):
            x = design[k][:, :-1]
            penalty = np.diag([ridge] * 6 + [0.0])
            w = np.linalg.lstsq(x, targets, rcond=None)[0] if ridge == 0 else \
                np.linalg.solve(x.T @ x + penalty, x.T @ targets)
            rss = np.sum((x @ w - targets) ** 2)
            expected = rss / 30 / (1 - np.trace(x @ np.linalg.pinv(x.T @ x + penalty) @ x.T) / 30) ** 2
            assert scores[g, k] == pytest.approx(expected, rel=1e-7)
    _, choice = stats.choose(config, shrunk=6)
    assert (choice > 0).any()  # pure noise targets: some shrinkage pays, and GCV can now see it


def test_leave_one_out_without_bias_is_the_refit_without_each_row():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 12, 5))
    x[..., -1] = 0.0  # the bias column of a readout without a bias
    targets = rng.normal(size=(12, 1))
    grid = (0.0, 0.5, 100.0)
    outputs = loo_outputs(x, targets, grid, shrunk=3)
    assert np.isfinite(outputs).all()
    for g, ridge in enumerate(grid):
        for k in range(2):
            for i in range(12):
                keep = np.arange(12) != i
                rows = x[k, keep][:, :-1]
                refit = np.linalg.lstsq(rows, targets[keep], rcond=None)[0] if ridge == 0 else \
                    np.linalg.solve(rows.T @ rows + ridge * np.diag([1.0, 1, 1, 0]), rows.T @ targets[keep])
                np.testing.assert_allclose(outputs[g, k, i], x[k, i, :-1] @ refit, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("ridge", [1.0, "auto"])
def test_evolino_without_bias_gives_finite_errors_on_mso2(ridge):
    from evolino.fitness import ForwardPasses, _score_candidates

    task = evolino.make_task("mso2")
    estimator = evolino.Evolino(cells=5, generations=5, population=10, readout_bias=False, ridge=ridge)
    estimator.fit(task)
    result = estimator.result_
    assert np.isfinite(result.test_error) and np.isfinite(result.validation_error)
    assert result.evaluations > 0
    # The validation errors of every strength of the grid, for the genomes the run found best.
    problem = evolino.Evolino(cells=5, readout_bias=False, ridge="validation").build_problem(task)
    scores, _ = _score_candidates(ForwardPasses(problem.spec, estimator.top_genomes_, problem.kernel), problem.task,
                                  problem.readout, problem.lines)
    assert len(problem.readout.candidates) > 1
    assert np.isfinite(scores[np.array(problem.readout.candidates) > 0]).all()
