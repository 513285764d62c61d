"""Metrics with target masks, original units, classification and custom callables."""

import numpy as np
import pytest

from evolino.metrics import check_metric, report_scores, score
from evolino.scaling import Standardizer
from evolino.tasks import SequencePair


def test_regression_metrics_against_hand_computed_values():
    y = np.array([[0.0], [1.0], [2.0], [3.0]])
    yhat = y[None] + np.array([1.0, -1.0, 1.0, -3.0])[None, :, None]
    assert score("mse", y, yhat)[0] == pytest.approx(3.0)
    assert score("rmse", y, yhat)[0] == pytest.approx(np.sqrt(3.0))
    assert score("mae", y, yhat)[0] == pytest.approx(1.5)
    assert score("nrmse", y, yhat)[0] == pytest.approx(np.sqrt(3.0 / 1.25))
    assert score("mse", y, np.full((1, 4, 1), np.nan))[0] == np.inf


def test_mask_leaves_steps_out_and_scores_pool_the_rest():
    y = np.array([[0.0], [np.nan], [2.0], [np.nan]])
    yhat = np.array([[[1.0], [100.0], [2.0], [-50.0]]])
    mask = np.isfinite(y[:, 0])
    assert score("mse", y, yhat, mask)[0] == pytest.approx(0.5)  # (1 + 0) / 2: the NaN steps do not count
    assert score("mse", y, yhat, np.zeros(4, bool))[0] == np.inf  # nothing to score


def test_errors_are_in_original_units_and_nrmse_does_not_depend_on_them():
    rng = np.random.default_rng(0)
    z, zhat = rng.normal(size=(20, 2)), rng.normal(size=(3, 20, 2))
    scale, offset = np.array([10.0, 0.5]), np.array([3.0, -1.0])
    y, yhat = z * scale + offset, zhat * scale + offset
    for metric in ("rmse", "mse", "mae", "nrmse"):
        np.testing.assert_allclose(score(metric, z, zhat, scale=scale, offset=offset), score(metric, y, yhat),
                                   rtol=1e-12)
    np.testing.assert_allclose(score("nrmse", z, zhat), score("nrmse", y, yhat), rtol=1e-12)


def test_error_rate_uses_argmax_for_one_hot_and_thresholds_otherwise():
    one_hot = np.eye(3)[[0, 1, 2, 1]]
    outputs = np.array([[[0.9, 0.2, 0.1], [0.1, 0.4, 0.3], [0.3, 0.2, 0.25], [0.0, 0.6, 0.7]]])
    assert score("error_rate", one_hot, outputs)[0] == pytest.approx(0.5)  # steps 2 and 3 are wrong
    multi = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    guesses = np.array([[[0.7, 0.2], [0.6, 0.4], [0.1, 0.1]]])
    assert score("error_rate", multi, guesses)[0] == pytest.approx(1 / 3)  # one label missed at step 1
    assert report_scores(["accuracy", "error_rate"], multi, guesses[0]) == pytest.approx(
        {"accuracy": 2 / 3, "error_rate": 1 / 3})


def test_callable_metric_sees_original_units_and_the_scored_steps_only():
    seen = {}

    def worst(targets, outputs, mask):
        seen["targets"] = targets
        return np.max(np.abs(outputs - targets[None]), axis=(1, 2))

    z = np.array([[0.0], [1.0], [np.nan]])
    errors = score(worst, z, np.array([[[0.5], [1.0], [9.0]]]), np.isfinite(z[:, 0]), np.array([2.0]),
                   np.array([1.0]))
    assert errors[0] == pytest.approx(1.0)  # |0.5 - 0| * 2
    np.testing.assert_array_equal(seen["targets"], [[1.0], [3.0]])
    assert check_metric(worst) is worst
    with pytest.raises(ValueError, match="unknown metric 'median'"):
        check_metric("median")


def test_standardizer_is_fitted_on_training_data_and_names_a_constant_column():
    train = [SequencePair(np.array([1.0, 2.0, 3.0]), np.array([[1.0, 5.0], [2.0, 5.0], [4.0, 5.0]]))]
    with pytest.raises(ValueError, match="input column 'valve' is constant"):
        Standardizer.fit(train, input_names=["flow", "valve"])
    good = [SequencePair(np.array([1.0, 2.0, 3.0, np.nan]), np.array([[1.0], [2.0], [4.0], [0.0]]))]
    scaler = Standardizer.fit(good)
    assert scaler.target_mean[0] == pytest.approx(2.0) and scaler.target_std[0] == pytest.approx(np.std([1, 2, 3]))
    values = np.array([[7.0], [-2.0]])
    np.testing.assert_allclose(scaler.targets_to_original(scaler.targets_to_model(values)), values, rtol=1e-15)
    assert Standardizer.from_dict(scaler.to_dict()) == scaler
    labels = Standardizer.fit(good, scale_targets=False)
    assert labels.target_mean[0] == 0.0 and labels.target_std[0] == 1.0
