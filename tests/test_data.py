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
    plain = read_table(_write(tmp_path / "b.csv", "1,2.5\n2,3.5\n\n3,4.5\n\n\n"))
    assert plain.names == ("column_0", "column_1") and plain.rows == 4  # the blank line inside is a row of gaps
    np.testing.assert_array_equal(plain.columns[1], [2.5, 3.5, np.nan, 4.5])  # ... and the blank lines at the end go
    assert plain.lines.tolist() == [1, 2, 3, 4]
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
    with pytest.raises(ValueError, match="is empty at data row 11 and in 1 more row; fill them"):
        data_task({"y": y})
    task = data_task({"y": y}, missing="interpolate", scale=False)
    np.testing.assert_allclose(task.train[0].targets[9:13, 0], [9.0, 10.0, 11.0, 12.0])
    assert np.flatnonzero(task.train[0].filled).tolist() == [10, 11] and task.info["filled"] == [2, 0, 0]


@pytest.mark.parametrize("text, kwargs, message", [
    ("y\n1\n2\nabc\n4\n", {}, r"data row 3 \(file line 4\): 'abc' is not a number"),
    ("", {}, "is empty"),
    ("y\n", {}, "no data rows"),
    ("a,b\n1,2\n3\n", {}, "line 3 has 1 cells"),
    ("y,c\n" + "".join(f"{i},7\n" for i in range(40)), {"target": "y", "inputs": "c"}, "input column 'c' is constant"),
    ("y,u\n" + "".join(f"{i},{'' if i == 3 else i}\n" for i in range(40)), {"target": "y", "inputs": "u"},
     r"input column 'u' has missing or non-finite values, the first at data row 4 \(file line 5\)"),
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


# ------------------------------------------------------------------------------------------- the reader itself

_CSV_TEXTS = [  # the files of these tests and of test_cli_data.py, and the shapes users' files come in
    "time,value\n1,2.5\n2,3.5\n",
    "1.0,walk\n2.0,run\n",
    "y\n1\n2\nabc\n4\n",
    "y,c\n" + "".join(f"{i},7\n" for i in range(40)),
    "y,u\n" + "".join(f"{i},{'' if i == 3 else i}\n" for i in range(40)),
    "level\n" + "".join(f"{i % 3}\n" for i in range(10)),
    "level,u\n" + "".join(f"{i},{'nan' if i == 7 else i}\n" for i in range(60)),
    "id,y\n1,1\n1,2\n2,3\n",
    "a,b\n1,2\n3\n",
    "y\n",
    "\ufeffx, y \r\n 1 , 2\r\n3,\r\n,4\r\n",                       # byte-order mark, spaces, CRLF, empty cells
    'name,value\n"Smith, J",1\n"Doe, A",2\n',                       # quoted commas
    "v\n1_000\n١٢\nInfinity\n-inf\n.5\n5.\n+3\n1e-3\n",             # what Python's float() reads
    "0x10\n1\n",                                                    # ... and what it does not
    "a,b,c\nx,1,2\ny,,3\n",
    "7\n",
    "label\nwalk\n",
    "date,value\n1949-01,112\n1949-02,118\n\n\n",
]


@pytest.mark.parametrize("text", _CSV_TEXTS)
@pytest.mark.parametrize("header", [None, True, False])
def test_the_reader_agrees_with_the_old_one_on_files_without_gaps_inside(tmp_path, text, header):
    from tests.reference_csv import read_csv

    path = _write(tmp_path / "f.csv", text)
    try:
        names, columns = read_csv(path, header)
    except ValueError:
        with pytest.raises(ValueError):
            read_table(path, header=header)
        return
    table = read_table(path, header=header)
    assert table.names == tuple(names)
    for new, old in zip(table.columns, columns, strict=True):
        assert new.dtype.kind == old.dtype.kind
        assert new.tolist() == old.tolist() if old.dtype.kind != "f" else np.array_equal(new, old, equal_nan=True)


def test_a_big_file_is_read_column_by_column_with_its_words_named(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal(size=5000)
    values[[10, 4000]] = np.nan
    lines = ["x,y"] + [f"{'' if np.isnan(v) else repr(float(v))},{i}" for i, v in enumerate(values)]
    lines[3001] = "0.5,oops"
    table = read_table(_write(tmp_path / "big.csv", "\n".join(lines) + "\n"))
    np.testing.assert_array_equal(table.columns[0], np.where(np.arange(5000) == 3000, 0.5, values))
    assert table.columns[1].dtype.kind == "U"
    with pytest.raises(ValueError, match=r"column 'y', data row 3001 \(file line 3002\): 'oops' is not a number"):
        table.numbers(1, "target")


def test_rows_keep_their_file_lines_when_a_quoted_cell_spans_lines(tmp_path):
    table = read_table(_write(tmp_path / "q.csv", 'note,y\n"two\nlines",1\nplain,\n\nlast,4\n'))
    assert table.lines.tolist() == [2, 4, 5, 6] and table.rows == 4
    with pytest.raises(ValueError, match=r"data row 2 \(file line 4\) and in 1 more row"):
        data_task(table, target="y")


def test_blank_lines_before_a_header_are_no_rows_but_before_headerless_data_they_are(tmp_path):
    headed = read_table(_write(tmp_path / "h.csv", "\n\nx\n1\n2\n"))
    assert headed.names == ("x",) and headed.columns[0].tolist() == [1.0, 2.0] and headed.lines.tolist() == [4, 5]
    bare = read_table(_write(tmp_path / "b.csv", "\n1\n2\n"))
    np.testing.assert_array_equal(bare.columns[0], [np.nan, 1.0, 2.0])


# ------------------------------------------------------------------------------------------------------ gaps


def _gappy_csv(path, rows=300, gaps=(16, 40, 41, 99, 150, 200, 208, 209, 230, 254, 255, 298)):
    y = 10 + np.sin(0.2 * np.arange(rows)) + 0.01 * np.arange(rows)
    lines = ["x"] + ["" if t in gaps else f"{v:.6f}" for t, v in enumerate(y)]
    path.write_text("\n".join(lines) + "\n")
    return y, list(gaps)


def test_a_one_column_file_with_empty_lines_keeps_its_length_and_names_the_first_gap(tmp_path):
    path = tmp_path / "series.csv"
    _, gaps = _gappy_csv(path)
    table = read_table(path)
    assert table.rows == 300 and np.flatnonzero(np.isnan(table.columns[0])).tolist() == gaps
    with pytest.raises(ValueError) as error:
        data_task(table)
    assert str(error.value) == (f"{path}: target column 'x' is empty at data row 17 (file line 18) and in 11 more "
                                "rows; fill them, or let evolino interpolate (--missing interpolate)")


def test_interpolation_fills_each_part_from_its_own_values_and_marks_the_steps(tmp_path):
    path = tmp_path / "series.csv"
    y, gaps = _gappy_csv(path)
    task = data_task(read_table(path), missing="interpolate", split=(210, 45, 45), scale=False)
    parts = (task.train[0], task.validation[0], task.test[0])
    assert [p.steps for p in parts] == [210, 45, 45]
    marks = np.concatenate([p.filled for p in parts])
    assert np.flatnonzero(marks).tolist() == gaps and task.info["filled"] == [8, 2, 2]
    values = np.concatenate([p.targets[:, 0] for p in parts])
    np.testing.assert_allclose(values[~marks], y[~marks], atol=1e-6)  # what was measured is kept
    np.testing.assert_allclose(values[40:42], np.interp([40, 41], [39, 42], y[[39, 42]]), atol=1e-6)  # inside
    # 208, 209: the last steps of the training part take its last value, not one from the validation part
    np.testing.assert_allclose(values[208:210], y[207], atol=1e-6)
    # 254 | 255, the last validation step and the first test step: each from its own part
    np.testing.assert_allclose(values[[254, 255]], y[[253, 256]], atol=1e-6)
    np.testing.assert_allclose(values[298], (y[297] + y[299]) / 2, atol=1e-6)
    assert np.flatnonzero(~task.test[0].scored).tolist() == [0, 43]


def test_a_gap_at_a_boundary_is_never_filled_across_it():
    y = np.arange(100.0)
    y[[78, 79, 80, 81]] = np.nan  # the last two validation steps and the first two test steps
    task = data_task({"y": y}, missing="interpolate", split=(60, 20, 20), scale=False)
    np.testing.assert_array_equal(task.validation[0].targets[-2:, 0], [77.0, 77.0])  # from the validation part
    np.testing.assert_array_equal(task.test[0].targets[:2, 0], [82.0, 82.0])         # from the test part
    assert task.test[0].filled[:2].all() and not task.test[0].scored[:2].any()
    predict = data_task({"y": y}, kind="predict", missing="interpolate", split=(60, 19, 20), scale=False)
    assert predict.test[0].inputs[:3, 0].tolist() == [82.0, 82.0, 82.0]  # y at 79, 80, 81: its own inputs
    assert predict.validation[0].inputs[-1, 0] == 77.0
    assert np.flatnonzero(predict.validation[0].filled).tolist() == [17, 18]  # targets y at 78, 79
    hole = np.arange(100.0)
    hole[80:] = np.nan
    with pytest.raises(ValueError, match="no values in the test part"):
        data_task({"y": hole}, missing="interpolate", split=(60, 20, 20))


# ----------------------------------------------------------------------------------------------------- dates


def _monthly_csv(path, months=72, extra=""):
    stamps = np.datetime64("1949-01") + np.arange(months)
    values = 100 + 10 * np.sin(2 * np.pi * np.arange(months) / 12) + np.arange(months)
    lines = [f"month,passengers{extra and ',' + extra}"]
    lines += [f"{s},{v:.3f}" + (f",{s.astype('datetime64[D]') + 14}" if extra else "")
              for s, v in zip(stamps, values, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return values


def test_a_date_column_the_old_reader_refused_is_the_time_index(tmp_path):
    from tests.reference_csv import read_csv

    path = tmp_path / "air.csv"
    _monthly_csv(path)
    names, columns = read_csv(path)
    assert columns[0].dtype.kind == "U"  # a column of words, a target by default: "'1949-01' is not a number"
    table = read_table(path)
    assert table.time_name == "month" and table.time[0] == np.datetime64("1949-01")
    assert table.names == tuple(names) and table.columns[0].tolist() == columns[0].tolist()  # a column as before
    task = data_task(table)
    assert task.target_names == ("passengers",) and task.info["columns"]["time"] == "month"
    assert task.info["time"] == {"column": "month", "frequency": "monthly", "season": 12, "first": "1949-01",
                                 "last": "1954-12"}
    assert "monthly dates 1949-01 to 1954-12" in task.description
    with pytest.raises(ValueError, match="holds the dates"):
        data_task(table, target="month")


def test_of_several_date_columns_the_first_is_the_index_and_none_is_a_target(tmp_path):
    path = tmp_path / "two.csv"
    _monthly_csv(path, extra="mid")
    task = data_task(read_table(path))
    assert task.target_names == ("passengers",) and task.info["time"]["column"] == "month"
    explicit = data_task(read_table(path, time="mid"))
    assert explicit.target_names == ("passengers",) and explicit.info["time"]["first"] == "1949-01-15"


def test_a_column_of_years_is_the_index_when_its_header_says_so_or_it_is_named(tmp_path):
    path = _write(tmp_path / "nile.csv", "year,flow\n" + "".join(f"{1871 + i},{1000.5 + 50 * np.sin(i)}\n"
                                                                  for i in range(100)))
    found = data_task(read_table(path), split=(60, 20, 20))  # "year" holding increasing years: the index
    assert found.target_names == ("flow",)
    assert found.info["time"] == {"column": "year", "frequency": "yearly", "season": None, "first": "1871",
                                  "last": "1970"}
    other = _write(tmp_path / "other.csv", "count,flow\n" + "".join(f"{1871 + i},{i}\n" for i in range(100)))
    plain = read_table(other)
    assert plain.time is None  # plain numbers under another header: a column of values like any other
    assert data_task(plain, split=(60, 20, 20)).target_names == ("count", "flow")
    named = data_task(read_table(other, time="count"), split=(60, 20, 20))
    assert named.target_names == ("flow",) and named.info["time"]["first"] == "1871"
    same = data_task(read_table(other), time="count", split=(60, 20, 20))  # or named when the task is made
    assert same.info["time"] == named.info["time"]
    shuffled = _write(tmp_path / "s.csv", "year,flow\n1990,1\n1989,2\n" + "".join(f"{2000 + i},{i}\n"
                                                                                 for i in range(20)))
    assert read_table(shuffled).time is None  # years that do not increase are not an index by themselves
    with pytest.raises(ValueError, match=r"time column 'flow', data row 1 \(file line 2\): '1000.5' is not a year"):
        read_table(path, time="flow")


def test_a_named_time_column_must_hold_dates(tmp_path):
    path = _write(tmp_path / "d.csv", "day,y\n2024-01-01,1\n2024-01-02,2\nyesterday,3\n")
    assert read_table(path).time is None  # not every cell a date: no index, said nowhere
    with pytest.raises(ValueError, match=r"time column 'day', data row 3 \(file line 4\): 'yesterday' is not a date"):
        read_table(path, time="day")


def test_irregular_dates_are_an_index_without_a_frequency():
    stamps = np.array(["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-09"] * 1, dtype="datetime64[D]")
    days = np.concatenate([stamps, stamps[-1] + np.cumsum(np.arange(1, 37))])
    task = data_task({"day": days, "y": np.sin(np.arange(40.0))}, split=(28, 6, 6))
    assert task.info["time"]["frequency"] is None and task.info["time"]["season"] is None
    assert "irregular dates" in task.description


@pytest.mark.parametrize("cells, message", [
    (["1949-01", "1949-02", "1949-02", "1949-03"], r"repeats '1949-02' at data row 3 \(file line 4\)"),
    (["1949-01", "1949-03", "1949-02", "1949-04"], r"goes back to '1949-02' after '1949-03' at data row 3"),
    (["1949-01", "", "1949-03", "1949-04"], r"time column 'month' is empty at data row 2 \(file line 3\)"),
])
def test_dates_must_increase(tmp_path, cells, message):
    path = _write(tmp_path / "m.csv", "month,y\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells)))
    with pytest.raises(ValueError, match=message) as error:
        data_task(read_table(path), split=(2, 1, 1), washout=0, metric="rmse")
    assert "\n" not in str(error.value)


def test_dates_may_mark_sequences(tmp_path):
    days = np.repeat(np.array(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]), 5)
    labels = np.array(["up", "down", "up", "down"]).repeat(5)
    task = data_task({"day": days, "x": np.arange(20.0), "move": labels}, kind="classify", sequence="day",
                     target="move", inputs="x", split=(2, 1, 1))
    assert len(task.train) == 2 and task.info["time"] is None


def test_the_copy_keeps_the_time_index(tmp_path):
    path = tmp_path / "air.csv"
    _monthly_csv(path, months=24)
    table = read_table(path)
    copy = read_table(save_table(table, tmp_path / "copy.npz", [0, 1]))
    assert copy.time_name == "month" and np.array_equal(copy.time, table.time) and copy.time.dtype == table.time.dtype
    np.testing.assert_array_equal(copy.columns[1], table.columns[1])
    years = read_table(_write(tmp_path / "y.csv", "year,v\n1949,1\n1950,2\n"), time="year")
    again = read_table(save_table(years, tmp_path / "years.npz"))
    assert again.time_name == "year" and again.time.tolist() == years.time.tolist()
    np.savez(tmp_path / "stamped.npz", when=table.time, passengers=table.columns[1])  # a datetime64 array
    assert read_table(tmp_path / "stamped.npz").time_name == "when"
