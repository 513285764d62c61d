"""Tasks from data files: reading CSV / NPY / NPZ, choosing columns, the four kinds, splits, scaling, bad data."""

import numpy as np
import pytest

from evolino.tasks.data import Table, data_task, read_table, save_table


def _write(path, text):
    path.write_text(text)
    return path


def test_csv_with_and_without_a_header(tmp_path):
    with_header = read_table(_write(tmp_path / "a.csv", "time,value\n1,2.5\n2,3.5\n"))
    assert with_header.names == ("time", "value") and with_header.rows == 2
    np.testing.assert_array_equal(with_header.columns[1], [2.5, 3.5])
    plain = read_table(_write(tmp_path / "b.csv", "1,2.5\n2,3.5\n\n3,4.5\n"))  # blank lines are skipped
    assert plain.names == ("column_0", "column_1") and plain.rows == 3
    labels = read_table(_write(tmp_path / "c.csv", "1.0,walk\n2.0,run\n"))  # words in a column: still no header
    assert labels.rows == 2 and labels.columns[1].tolist() == ["walk", "run"]
    assert len(with_header.sha256) == 64 and with_header.sha256 != plain.sha256


def test_npy_and_both_npz_layouts_and_evolinos_own_copy(tmp_path):
    values = np.arange(12.0).reshape(6, 2)
    np.save(tmp_path / "x.npy", values)
    table = read_table(tmp_path / "x.npy")
    assert table.names == ("column_0", "column_1") and np.array_equal(table.columns[1], values[:, 1])
    np.savez(tmp_path / "cols.npz", speed=values[:, 0], load=values[:, 1])
    assert read_table(tmp_path / "cols.npz").names == ("speed", "load")
    np.savez(tmp_path / "matrix.npz", data=values, columns=np.array(["a", "b"]))
    assert read_table(tmp_path / "matrix.npz").names == ("a", "b")
    mixed = Table.from_arrays({"id": np.array(["x", "x", "y"]), "v": np.array([1.0, np.nan, 3.0])})
    copy = read_table(save_table(mixed, tmp_path / "copy.npz"))
    assert copy.names == mixed.names and copy.columns[0].tolist() == ["x", "x", "y"]
    np.testing.assert_array_equal(copy.columns[1], mixed.columns[1])


def test_generate_task_defaults(tmp_path):
    y = np.sin(0.3 * np.arange(200)) + 5.0
    task = data_task(read_table(_write(tmp_path / "s.csv", "level\n" + "\n".join(repr(float(v)) for v in y) + "\n")))
    assert task.generative and task.continued and task.forecast_horizon == 1
    assert [p.steps for p in (*task.train, *task.validation, *task.test)] == [140, 30, 30]
    assert task.washout == 14 and task.validation_windows == 5 and task.free_run_steps == 30
    assert task.target_names == ("level",) and task.name == "s" and task.info["sha256"]
    train = task.train[0].targets
    assert abs(train.mean()) < 1e-12 and train.std() == pytest.approx(1.0)  # scaled on the training part only
    np.testing.assert_allclose(task.to_original(task.test[0].targets)[:, 0], y[170:], rtol=1e-12)
    unscaled = data_task({"level": y}, scale=False, split=(100, 50, 50), washout=3)
    assert [p.steps for p in unscaled.train] == [100] and unscaled.scaler is None and unscaled.washout == 3


def test_predict_k_steps_ahead_sees_the_current_values():
    y = np.arange(50.0)
    u = np.arange(50.0) * 10
    task = data_task({"y": y, "u": u}, kind="predict", target="y", inputs="u", horizon=3, scale=False,
                     split=(0.6, 0.2, 0.2))
    assert not task.generative and task.continued and task.forecast_horizon == 3
    assert task.input_names == ("y", "u")
    pair = task.train[0]
    np.testing.assert_array_equal(pair.inputs[:3], [[0.0, 0.0], [1.0, 10.0], [2.0, 20.0]])
    np.testing.assert_array_equal(pair.targets[:3, 0], [3.0, 4.0, 5.0])
    assert sum(p.steps for p in (*task.train, *task.validation, *task.test)) == 47


def test_map_task_with_missing_targets_masks_those_steps():
    u = np.linspace(0, 1, 40)
    y = 2 * u
    y[[5, 17, 30]] = np.nan
    task = data_task({"u": u, "y": y}, kind="map", inputs=["u"], target=["y"], scale=False, washout=0)
    assert not task.generative and task.forecast_horizon is None
    assert task.train[0].mask is not None and not task.train[0].mask[5] and task.train[0].mask[6]


def test_classify_sequences_reads_the_label_at_the_last_row():
    ids = np.repeat(["s1", "s2", "s3", "s4", "s5"], 4)
    labels = np.array(["walk"] * 4 + ["run"] * 4 + ["walk"] * 4 + ["sit"] * 4 + ["run"] * 4)
    task = data_task({"trial": ids, "x": np.arange(20.0), "activity": labels}, kind="classify",
                     sequence="trial", target="activity", inputs="x", split=(3, 1, 1))
    assert [len(task.train), len(task.validation), len(task.test)] == [3, 1, 1] and not task.continued
    assert task.info["classes"] == ["run", "sit", "walk"] and task.target_names[0] == "activity=run"
    first = task.train[0]
    assert np.isnan(first.targets[:3]).all()
    np.testing.assert_array_equal(first.targets[3], [0.0, 0.0, 1.0])  # walk, at the last row only
    assert task.metric == "mse" and task.washout == 0 and task.scaler.target_std.tolist() == [1.0, 1.0, 1.0]


def test_missing_target_values_can_be_interpolated():
    y = np.arange(30.0)
    y[[10, 11]] = np.nan
    with pytest.raises(ValueError, match="missing value"):
        data_task({"y": y})
    task = data_task({"y": y}, missing="interpolate", scale=False)
    np.testing.assert_allclose(task.train[0].targets[9:13, 0], [9.0, 10.0, 11.0, 12.0])


@pytest.mark.parametrize("text, kwargs, message", [
    ("y\n1\n2\nabc\n4\n", {}, "data row 3: 'abc' is not a number"),
    ("", {}, "is empty"),
    ("y\n", {}, "no data rows"),
    ("a,b\n1,2\n3\n", {}, "line 3 has 1 cells"),
    ("y,c\n" + "".join(f"{i},7\n" for i in range(40)), {"target": "y", "inputs": "c"}, "input column 'c' is constant"),
    ("y,u\n" + "".join(f"{i},{'' if i == 3 else i}\n" for i in range(40)), {"target": "y", "inputs": "u"},
     "input column 'u' has missing"),
    ("y\n" + "".join(f"{i}\n" for i in range(12)), {"washout": 10}, r"fewer than the washout \+ 1"),
    ("y\n1\n2\n3\n", {"target": "speed"}, "no column 'speed'"),
    ("y\n1\n2\n3\n", {"split": (0.5, 0.3, 0.3)}, "add up to 1"),
    ("y\n1\n2\n3\n", {"split": (1, 1, 5)}, "the data have 3 steps"),
    ("y\n1\n2\n3\n", {"kind": "map"}, "needs its target column"),
    ("y\n1\n2\n3\n", {"kind": "forecast"}, "unknown task kind"),
    ("id,y\n1,1\n1,2\n2,3\n", {"sequence": "id"}, "continues one series"),
])
def test_bad_data_is_one_clear_line(tmp_path, text, kwargs, message):
    path = _write(tmp_path / "bad.csv", text)
    with pytest.raises(ValueError, match=message) as error:
        data_task(read_table(path), **kwargs)
    assert "\n" not in str(error.value)
