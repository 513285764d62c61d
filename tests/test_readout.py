"""The least-squares readout against known answers: exact weights, numpy's pinv, the ridge normal equations."""

import numpy as np
import pytest

from evolino.readout import ReadoutConfig, ReadoutStats, design_matrix, fit_readout


def test_recovers_known_linear_weights_with_bias():
    rng = np.random.default_rng(0)
    states = rng.normal(size=(3, 200, 5))
    true_w = rng.normal(size=(3, 5, 2))
    true_b = rng.normal(size=(3, 1, 2))
    targets = states @ true_w + true_b
    w = fit_readout(states, targets, ReadoutConfig(rcond=1e-12))
    np.testing.assert_allclose(w[:, :5], true_w, atol=1e-10)
    np.testing.assert_allclose(w[:, 5:], true_b, atol=1e-10)


def test_matches_numpy_pinv_with_the_same_cutoff():
    rng = np.random.default_rng(1)
    base = rng.normal(size=(2, 50, 3))
    # Nearly collinear columns: the cutoff decides which directions are used.
    states = np.concatenate([base, base[:, :, :1] + 1e-9 * rng.normal(size=(2, 50, 1))], axis=2)
    targets = rng.normal(size=(50, 1))
    for rcond in (1e-15, 1e-6, 1e-2):
        w = fit_readout(states, targets, ReadoutConfig(rcond=rcond, bias=False))
        for k in range(2):
            expected = np.linalg.pinv(design_matrix(states[k : k + 1], bias=False)[0], rcond=rcond) @ targets
            np.testing.assert_allclose(w[k], expected, rtol=1e-6, atol=1e-9)


def test_ridge_matches_the_normal_equations():
    rng = np.random.default_rng(2)
    states = rng.normal(size=(2, 80, 4))
    targets = rng.normal(size=(80, 1))
    ridge = 0.7
    w = fit_readout(states, targets, ReadoutConfig(ridge=ridge))
    for k in range(2):
        x = design_matrix(states[k : k + 1], bias=True)[0]
        expected = np.linalg.solve(x.T @ x + ridge * np.eye(5), x.T @ targets)
        np.testing.assert_allclose(w[k], expected, rtol=1e-10)


def test_statistics_over_several_sequences_equal_one_stacked_solve():
    rng = np.random.default_rng(3)
    parts = [rng.normal(size=(4, t, 6)) for t in (30, 3, 57)]
    targets = [rng.normal(size=(p.shape[1], 2)) for p in parts]
    stats = ReadoutStats(4, 7, 2)
    for p, d in zip(parts, targets, strict=True):
        stats.add(design_matrix(p, bias=True), d)
    accumulated = stats.solve(ReadoutConfig())
    stacked = fit_readout(np.concatenate(parts, axis=1), np.concatenate(targets), ReadoutConfig())
    np.testing.assert_allclose(accumulated, stacked, rtol=1e-9, atol=1e-12)
    assert stats.samples == 90


def test_without_bias_the_bias_row_is_zero():
    rng = np.random.default_rng(4)
    states = rng.normal(size=(2, 40, 3))
    w = fit_readout(states, rng.normal(size=(40, 1)) + 5.0, ReadoutConfig(bias=False))
    assert np.all(w[:, 3] == 0.0)


def test_non_finite_states_give_nan_weights_for_that_genome_only():
    rng = np.random.default_rng(5)
    states = rng.normal(size=(3, 20, 2))
    states[1, 4, 0] = np.inf
    w = fit_readout(states, rng.normal(size=(20, 1)))
    assert np.isnan(w[1]).all() and np.isfinite(w[[0, 2]]).all()


@pytest.mark.parametrize("kwargs", [dict(rcond=-1.0), dict(rcond=1.0), dict(ridge=-0.1), dict(ridge=float("inf"))])
def test_invalid_config_is_rejected(kwargs):
    with pytest.raises(ValueError):
        ReadoutConfig(**kwargs)


def _hat_trace(x, penalty):
    return np.trace(x @ np.linalg.solve(x.T @ x + penalty, x.T))


def test_ridge_on_the_cells_only_matches_its_normal_equations_and_a_huge_one_leaves_the_linear_model():
    """shrunk = 3: the ridge penalises the first three rows (the cells), not the direct view nor the bias."""
    rng = np.random.default_rng(6)
    design = design_matrix(rng.normal(size=(2, 60, 5)), bias=True)
    targets = rng.normal(size=(60, 2))
    stats = ReadoutStats(2, 6, 2)
    stats.add(design, targets)
    config = ReadoutConfig(ridge="auto", ridge_grid=(0.0, 0.3, 1e12))
    solutions, dof = stats.solve_candidates(config, shrunk=3)
    for g, ridge in enumerate(config.candidates):
        penalty = np.diag([ridge] * 3 + [0.0] * 3)
        for k in range(2):
            x = design[k]
            expected = np.linalg.solve(x.T @ x + penalty, x.T @ targets)
            np.testing.assert_allclose(solutions[g][k], expected, rtol=1e-8, atol=1e-10)
            assert dof[g, k] == pytest.approx(_hat_trace(x, penalty), rel=1e-10)
    linear = np.linalg.lstsq(design[0][:, 3:], targets, rcond=None)[0]
    np.testing.assert_allclose(solutions[2][0][3:], linear, atol=1e-9)
    assert np.abs(solutions[2][0][:3]).max() < 1e-9


def test_gcv_scores_and_choice_against_the_hat_matrix():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(1, 40, 6))
    x[0, :, 5] = x[0, :, 4] + 1e-3 * rng.normal(size=40)  # nearly collinear: some shrinkage pays
    targets = x[0, :, :1] - x[0, :, 4:5] + 0.5 * rng.normal(size=(40, 1))
    stats = ReadoutStats(1, 7, 1)
    stats.add(design_matrix(x[:, :20], True), targets[:20])
    stats.add(design_matrix(x[:, 20:], True), targets[20:])  # the residual sums carry over between sequences
    config = ReadoutConfig(ridge="auto", ridge_grid=(0.0, 0.1, 1.0, 10.0))
    solutions, dof = stats.solve_candidates(config, shrunk=6)
    scores = stats.gcv(solutions, dof)
    d = design_matrix(x, True)[0]
    expected = []
    for ridge in config.candidates:
        penalty = np.diag([ridge] * 6 + [0.0])
        w = np.linalg.solve(d.T @ d + penalty, d.T @ targets)
        rss = np.sum((d @ w - targets) ** 2)
        expected.append(rss / 40 / (1 - _hat_trace(d, penalty) / 40) ** 2)
    np.testing.assert_allclose(scores[:, 0], expected, rtol=1e-8)
    weights, choice = stats.choose(config, shrunk=6)
    assert choice[0] == int(np.argmin(expected))
    np.testing.assert_array_equal(weights[0], solutions[choice[0]][0])


def test_a_fixed_ridge_is_one_candidate_and_validation_needs_validation_data():
    stats = ReadoutStats(1, 3, 1)
    stats.add(design_matrix(np.random.default_rng(8).normal(size=(1, 10, 2)), True), np.ones((10, 1)))
    weights, choice = stats.choose(ReadoutConfig(ridge=0.5))
    assert weights.shape == (1, 3, 1) and choice.tolist() == [0]
    with pytest.raises(ValueError, match="validation"):
        stats.solve(ReadoutConfig(ridge="validation"))
    with pytest.raises(ValueError, match='"auto", "validation" or "loo"'):
        ReadoutConfig(ridge="sometimes")


@pytest.mark.parametrize("rows", [40, 24])  # 24: fewer samples folded in than readout rows (a short R)
def test_the_batched_svd_is_the_same_on_any_number_of_threads(rows):
    """Split over threads (a stack big enough to be split), the SVD is numpy's, bit for bit, and reconstructs."""
    from evolino.readout import PARALLEL_SVD_WORK, batched_svd

    stack = np.random.default_rng(3).normal(size=(33, rows, 40))
    assert stack.shape[0] * 40**3 >= PARALLEL_SVD_WORK
    alone = batched_svd(stack, threads=1)
    for threads in (2, 3):
        split = batched_svd(stack, threads=threads)
        assert all(np.array_equal(a, b) for a, b in zip(alone, split, strict=True))
    u, s, vt = alone
    np.testing.assert_allclose(np.matmul(u * s[:, None, :], vt), stack, atol=1e-12)


def test_leave_one_out_outputs_are_those_of_the_readout_refitted_without_each_row():
    """The closed form against refitting on every other row, for the pseudo-inverse and a partial ridge."""
    from evolino.readout import loo_outputs

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 12, 5))
    x[..., -1] = 1.0  # the bias column, never shrunk
    targets = rng.normal(size=(12, 2))
    grid = (0.0, 0.5, 1e8)
    outputs = loo_outputs(x, targets, grid, shrunk=3)
    for g, ridge in enumerate(grid):
        for k in range(3):
            for i in range(12):
                keep = np.arange(12) != i
                a = x[k, keep].T @ x[k, keep] + ridge * np.diag([1.0, 1, 1, 0, 0])
                refit = np.linalg.solve(a, x[k, keep].T @ targets[keep])
                np.testing.assert_allclose(outputs[g, k, i], x[k, i] @ refit, rtol=1e-7, atol=1e-9)
    # fewer rows than columns: at ridge 0 every row has leverage 1 and no leave-one-out output
    assert np.isnan(loo_outputs(x[:, :4], targets[:4], (0.0,), shrunk=3)).all()
    assert np.isfinite(loo_outputs(x[:, :4], targets[:4], (1.0,), shrunk=3)).all()
