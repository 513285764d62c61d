"""Dates of a series (evolino/tasks/dates.py): ISO parsing, the frequency of the rows, the dates after the last."""

import numpy as np
import pytest

from evolino.tasks.dates import (
    DateError,
    Frequency,
    first_unordered,
    format_times,
    future_times,
    infer_frequency,
    parse_times,
    years,
)


@pytest.mark.parametrize("text, expected, unit", [
    ("1949", "1949", "Y"),
    ("1949-01", "1949-01", "M"),
    ("1949-01-31", "1949-01-31", "D"),
    ("1949-01-31 12:00", "1949-01-31T12:00", "m"),
    ("1949-01-31T12:00:00", "1949-01-31T12:00:00", "s"),
    ("1949-01-31T12:00:00Z", "1949-01-31T12:00:00", "s"),
    ("1949Q1", "1949-01", "M"),
    ("1949-Q3", "1949-07", "M"),
    ("1949q4", "1949-10", "M"),
])
def test_iso_dates_keep_the_precision_they_are_written_in(text, expected, unit):
    (parsed,) = parse_times([text])
    assert np.datetime_data(parsed.dtype)[0] == unit
    assert parsed == np.datetime64(expected)


def test_empty_cells_are_nat_and_a_column_takes_its_finest_precision():
    parsed = parse_times(["1949-01", "", "1949-03-15"])
    assert np.datetime_data(parsed.dtype)[0] == "D" and np.isnat(parsed[1])
    assert parsed[0] == np.datetime64("1949-01-01") and parsed[2] == np.datetime64("1949-03-15")


@pytest.mark.parametrize("cells, index", [
    (["1949-01", "1949-02", "soon"], 2),
    (["1949-13"], 0),                 # looks right, is no month
    (["1949-02-30"], 0),
    (["1949-01", "today"], 1),        # numpy would read it; a data file means no such thing
    (["1949-01", "NaT"], 1),
    (["1949-1-5"], 0),
    (["1949Q5"], 0),
    (["1949-01-31T12:00+01:00"], 0),  # time zones other than Z are not read
])
def test_a_cell_that_is_not_a_date_is_named(cells, index):
    with pytest.raises(DateError) as error:
        parse_times(cells)
    assert error.value.index == index and error.value.text == cells[index]


def test_numbers_are_read_as_years_only_when_they_are_years():
    parsed = years(np.array([1949.0, 1950.0, np.nan]))
    assert parsed.dtype == np.dtype("datetime64[Y]") and parsed[1] == np.datetime64("1950") and np.isnat(parsed[2])
    for bad in (1949.5, 49.0, 12345.0):
        with pytest.raises(DateError) as error:
            years(np.array([1949.0, bad]))
        assert error.value.index == 1


def _days(start: str, count: int, step: int = 1) -> np.ndarray:
    return np.datetime64(start) + np.arange(count) * np.timedelta64(step, "D")


@pytest.mark.parametrize("times, name, season", [
    (parse_times([f"{y}" for y in range(1949, 1955)]), "yearly", None),
    (years(np.arange(1949.0, 1955.0)), "yearly", None),
    (parse_times([f"19{y}Q{q}" for y in (49, 50) for q in (1, 2, 3, 4)]), "quarterly", 4),
    (parse_times([f"1949-{m:02d}" for m in range(1, 13)]), "monthly", 12),
    (parse_times(["1949-01-31", "1949-02-28", "1949-03-31", "1949-04-30"]), "monthly", 12),  # month ends
    (parse_times(["1949-01-15", "1949-07-15", "1950-01-15"]), "every 6 months", None),
    (_days("2024-01-01", 10, 7), "weekly", None),
    (_days("2024-01-01", 10), "daily", 7),
    (parse_times(["2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"]), "business daily", 5),
    (np.datetime64("2024-01-01T00:00") + np.arange(50) * np.timedelta64(1, "h"), "hourly", 24),
    (np.datetime64("2024-01-01T00:00") + np.arange(50) * np.timedelta64(30, "m"), "half-hourly", 48),
    (np.datetime64("2024-01-01T00:00") + np.arange(50) * np.timedelta64(1, "m"), "minutely", None),
    (np.datetime64("2024-01-01T00:00:00") + np.arange(50) * np.timedelta64(15, "s"), "every 15 seconds", None),
])
def test_the_frequency_and_its_season(times, name, season):
    frequency = infer_frequency(times)
    assert frequency is not None and frequency.name == name and frequency.season == season


@pytest.mark.parametrize("times", [
    parse_times(["2024-01-01", "2024-01-02", "2024-01-04"]),     # a day missing
    parse_times(["1949-01", "1949-02", "1949-04"]),              # a month missing
    parse_times(["1949-01-01", "1949-02-01", "1949-03-05"]),     # not the same day of the month
    parse_times(["2024-01-01 09:00", "2024-01-02 10:00"])[:1],   # one date
])
def test_irregular_dates_have_no_frequency_and_no_future(times):
    assert infer_frequency(times) is None


@pytest.mark.parametrize("cells, index, word", [
    (["1949-01", "1949-02", "1949-02"], 2, "repeats"),
    (["1949-01", "1949-03", "1949-02"], 2, "earlier"),
])
def test_repeated_or_decreasing_dates_are_an_error(cells, index, word):
    times = parse_times(cells)
    assert first_unordered(times) == index
    with pytest.raises(ValueError, match=word):
        infer_frequency(times)
    assert first_unordered(parse_times(cells[:2])) is None


def test_month_ends_stay_month_ends():
    times = parse_times(["1960-10-31", "1960-11-30", "1960-12-31"])
    future = future_times(times[-1], infer_frequency(times), 4)
    assert future.tolist() == parse_times(["1961-01-31", "1961-02-28", "1961-03-31", "1961-04-30"]).tolist()
    leap = future_times(np.datetime64("1963-12-31"), infer_frequency(times), 2)
    assert leap[1] == np.datetime64("1964-02-29")


def test_a_day_of_the_month_is_kept_and_clipped_to_short_months():
    times = parse_times(["1961-10-30", "1961-11-30", "1961-12-30"])
    frequency = infer_frequency(times)
    future = future_times(times[-1], frequency, 3)
    assert future.tolist() == parse_times(["1962-01-30", "1962-02-28", "1962-03-30"]).tolist()


@pytest.mark.parametrize("cells, steps, expected", [
    (["1949-11", "1949-12"], 3, ["1950-01", "1950-02", "1950-03"]),
    (["1949Q3", "1949Q4"], 2, ["1950-Q1", "1950-Q2"]),
    (["1998", "1999"], 2, ["2000", "2001"]),
    (["2023-12-29", "2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"], 2,
     ["2024-01-08", "2024-01-09"]),  # business days: Friday, then Monday
    (["2024-02-27", "2024-02-28"], 2, ["2024-02-29", "2024-03-01"]),
    (["2024-01-01 22:00", "2024-01-01 23:00"], 2, ["2024-01-02T00:00", "2024-01-02T01:00"]),
    (["2024-01-01 23:00", "2024-01-01 23:30"], 1, ["2024-01-02T00:00"]),
])
def test_future_dates_written_at_the_frequencys_precision(cells, steps, expected):
    times = parse_times(cells)
    frequency = infer_frequency(times)
    assert format_times(future_times(times[-1], frequency, steps), frequency).tolist() == expected
    assert format_times(times, frequency).tolist() == \
        format_times(parse_times(format_times(times, frequency)), frequency).tolist()  # the text reads back


def test_irregular_dates_are_written_as_precisely_as_they_need_and_have_no_step():
    times = parse_times(["2024-01-01", "2024-01-03 12:00", ""])
    assert format_times(times, None).tolist() == ["2024-01-01T00:00", "2024-01-03T12:00", ""]
    with pytest.raises(ValueError, match="no next dates"):
        future_times(times[0], infer_frequency(parse_times(["2024-01-01", "2024-01-02", "2024-01-04"])), 2)
    with pytest.raises(ValueError, match="no step"):
        future_times(times[0], Frequency("made up"), 2)
