"""Dates of a series: ISO text to datetime64, the step between rows, and the dates that come after the last.

Idea. A column of dates is a series' time index: it is never a target or an input, but it says how far apart the
rows are (the frequency), which season length a forecaster may try, and which dates a forecast covers. Dates are
read as written: ``1949`` is a year, ``1949-01`` a month, ``1949-01-31 12:00`` a minute, and numpy keeps that
precision (the unit of the datetime64 array), so that writing them back gives the same text.

Layout.

* :func:`parse_times` ISO text -> datetime64: ``1949``, ``1949-01``, ``1949-01-31``, ``1949-01-31 12:00``,
  ``1949-01-31T12:00:00`` (a trailing ``Z``, UTC, is allowed; other time zones are not), and quarters ``1949Q1`` /
  ``1949-Q1`` (the quarter's first month). :func:`years` reads integers 1000..9999 as years.
* :class:`Frequency` and :func:`infer_frequency`: calendar steps (yearly, quarterly, monthly, every N months: the
  same day of each month, or each month's last day), business days (Monday to Friday), or fixed durations (weekly,
  daily, hourly, half-hourly, minutely, every N seconds). Irregular dates have no frequency (None), which is not an
  error; dates that repeat or go back are (:func:`first_unordered` finds where).
* :func:`future_times` the dates after the last one; :func:`format_times` ISO text at the frequency's precision:
  ``1961`` yearly, ``1961-Q1`` quarterly (the one quarter format written; both are read), ``1961-01`` monthly,
  ``1961-01-31`` for days, ``1961-01-31T12:00`` for hours and minutes.

Shapes. Times are (T,) datetime64 arrays, NaT where a cell is empty; a :class:`Frequency` is a frozen dataclass.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Frequency", "DateError", "parse_times", "years", "infer_frequency", "first_unordered", "future_times",
           "format_times", "ISO_EXAMPLES"]

ISO_EXAMPLES = "1949, 1949-01, 1949-01-31, 1949-01-31 12:00, 1949Q1"

_ISO = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?Z?)?)?)?")
_QUARTER = re.compile(r"(\d{4})-?[Qq]([1-4])")
_DAY = np.timedelta64(1, "D")

# Fixed steps by their length in seconds: (name, season length)
_FIXED = {7 * 86400: ("weekly", None), 86400: ("daily", 7), 3600: ("hourly", 24), 1800: ("half-hourly", 48),
          60: ("minutely", None)}
_CALENDAR = {12: ("yearly", None), 3: ("quarterly", 4), 1: ("monthly", 12)}


class DateError(ValueError):
    """A cell that is not a date: ``index`` (0-based) and ``text`` say which."""

    def __init__(self, index: int, text: str, what: str = "a date") -> None:
        super().__init__(f"{text[:40]!r} is not {what} (position {index})")
        self.index, self.text, self.what = index, text, what


@dataclass(frozen=True)
class Frequency:
    """The regular step between a series' dates.

    Attributes
    ----------
    name : str
        "yearly", "quarterly", "monthly", "every N months", "weekly", "daily", "business daily", "hourly",
        "half-hourly", "minutely" or "every N seconds".
    season : int or None
        The natural season length in steps: quarterly 4, monthly 12, daily 7, business daily 5, hourly 24,
        half-hourly 48; None for the others.
    months : int
        Calendar steps: months per step (12 yearly, 3 quarterly, 1 monthly); 0 otherwise.
    seconds : int
        Fixed steps: seconds per step; 0 otherwise.
    business : bool
        Steps of one business day (Monday to Friday).
    day : int or None
        Calendar steps: the day of the month each date falls on, 31 for the month's last day (a shorter month
        takes its last day); None takes the last date's day.
    """

    name: str
    season: int | None = None
    months: int = 0
    seconds: int = 0
    business: bool = False
    day: int | None = None


# --------------------------------------------------------------------------------------------------------- parsing


def parse_times(cells: Sequence[str] | np.ndarray) -> np.ndarray:
    """ISO dates and times (see the module docstring) -> (T,) datetime64 at the finest precision written.

    Empty cells become NaT. Raises :class:`DateError` naming the first cell that is not a date.
    """
    cells = np.asarray(cells, dtype=str)
    if cells.ndim != 1:
        raise ValueError(f"expected a (T,) array of text, got shape {cells.shape}")
    normal = []
    for index, cell in enumerate(cells.tolist()):
        text = cell.strip()
        if not text:
            normal.append("NaT")
        elif _ISO.fullmatch(text):
            normal.append(text.rstrip("Z").replace(" ", "T"))
        else:
            quarter = _QUARTER.fullmatch(text)
            if quarter is None:
                raise DateError(index, cell)
            normal.append(f"{quarter[1]}-{3 * int(quarter[2]) - 2:02d}")
    try:
        return np.array(normal, dtype="datetime64")
    except ValueError:  # a month 13 or a February 30: find which
        for index, text in enumerate(normal):
            try:
                np.datetime64(text)
            except ValueError:
                raise DateError(index, str(cells[index])) from None
        raise


def years(values: np.ndarray) -> np.ndarray:
    """Numbers that are whole years 1000..9999 -> (T,) datetime64[Y] (NaN -> NaT); :class:`DateError` otherwise."""
    values = np.asarray(values, dtype=np.float64)
    present = ~np.isnan(values)
    good = ~present | ((values == np.round(values)) & (values >= 1000) & (values <= 9999))
    if not good.all():
        index = int(np.argmin(good))
        raise DateError(index, repr(float(values[index])).removesuffix(".0"), "a year")
    out = np.full(values.shape, np.datetime64("NaT"), dtype="datetime64[Y]")
    out[present] = (values[present].astype(np.int64) - 1970).astype("datetime64[Y]")
    return out


# ------------------------------------------------------------------------------------------------------- frequency


def first_unordered(times: np.ndarray) -> int | None:
    """Index of the first date that is not later than the one before it (None when they increase throughout)."""
    times = np.asarray(times)
    if times.shape[0] < 2:
        return None
    bad = np.flatnonzero(~(times[1:] > times[:-1]))
    return int(bad[0]) + 1 if bad.size else None


def _calendar(times: np.ndarray):
    """(month index since 1970-01, day of the month, time of day as timedelta64) of each date."""
    months = times.astype("datetime64[M]")
    days = times.astype("datetime64[D]")
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return months.astype(np.int64), day, times - days


def _month_length(months: np.ndarray) -> np.ndarray:
    """Days in each month given as months since 1970-01."""
    start = np.asarray(months, dtype=np.int64).astype("datetime64[M]")
    return ((start + 1).astype("datetime64[D]") - start.astype("datetime64[D]")).astype(np.int64)


def infer_frequency(times: np.ndarray) -> Frequency | None:
    """The regular step of increasing dates, or None when they are irregular (or fewer than two).

    Raises ValueError when a date is empty (NaT), repeats the one before or comes before it.
    """
    times = np.asarray(times)
    if times.dtype.kind != "M" or times.ndim != 1:
        raise ValueError(f"expected a (T,) datetime64 array, got {times.dtype} {times.shape}")
    if np.isnat(times).any():
        raise ValueError(f"date {int(np.argmax(np.isnat(times)))} is empty")
    unordered = first_unordered(times)
    if unordered is not None:
        word = "repeats" if times[unordered] == times[unordered - 1] else "is earlier than"
        raise ValueError(f"date {unordered} ({times[unordered]}) {word} the date before it ({times[unordered - 1]})")
    if times.shape[0] < 2:
        return None
    months, day, clock = _calendar(times)
    step = np.diff(months)
    anchor = int(day.max())
    if step[0] > 0 and (step == step[0]).all() and (clock == clock[0]).all() \
            and (day == np.minimum(anchor, _month_length(months))).all():
        name, season = _CALENDAR.get(int(step[0]), (f"every {int(step[0])} months", None))
        return Frequency(name, season, months=int(step[0]), day=anchor)
    if times.dtype in (np.dtype("datetime64[Y]"), np.dtype("datetime64[M]")):
        return None  # years or months at irregular steps
    gaps = np.diff(times).astype("timedelta64[us]").astype(np.int64)
    if (gaps == gaps[0]).all() and gaps[0] % 1_000_000 == 0:
        seconds = int(gaps[0] // 1_000_000)
        name, season = _FIXED.get(seconds, (f"every {seconds} seconds", None))
        return Frequency(name, season, seconds=seconds)
    dates = times.astype("datetime64[D]")
    if (clock == clock[0]).all() and np.is_busday(dates).all() and (np.busday_count(dates[:-1], dates[1:]) == 1).all():
        return Frequency("business daily", 5, business=True)
    return None


# ------------------------------------------------------------------------------------------------ future and text


def _fixed_step(seconds: int) -> np.timedelta64:
    """A step of ``seconds`` in the coarsest unit that holds it exactly (so daily dates stay days)."""
    for unit, size in (("D", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return np.timedelta64(seconds // size, unit)
    return np.timedelta64(seconds, "s")


def future_times(last: np.datetime64, frequency: Frequency | None, steps: int) -> np.ndarray:
    """The ``steps`` dates after ``last`` at ``frequency``: (steps,) datetime64.

    Calendar steps keep the day of the month (``frequency.day``, else ``last``'s; a month end stays a month end:
    1961-01-31, 1961-02-28, 1961-03-31) and the time of day. Irregular dates (``frequency`` None) have no next
    dates: ValueError.
    """
    if frequency is None:
        raise ValueError("irregular dates have no next dates (no frequency)")
    last = np.datetime64(last)
    if np.isnat(last):
        raise ValueError("the last date is empty")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    ahead = np.arange(1, steps + 1)
    if frequency.months:
        (month,), (day,), (clock,) = _calendar(np.array([last]))
        anchor = frequency.day or (31 if day == _month_length(np.array([month]))[0] else int(day))
        months = month + frequency.months * ahead
        days = np.minimum(anchor, _month_length(months))
        start = months.astype("datetime64[M]").astype("datetime64[D]")
        out = start + (days - 1) * _DAY + clock
        coarse = last.dtype in (np.dtype("datetime64[Y]"), np.dtype("datetime64[M]"))
        return out.astype(last.dtype) if coarse and anchor == 1 else out
    if frequency.business:
        clock = last - last.astype("datetime64[D]")
        return np.busday_offset(last.astype("datetime64[D]"), ahead, roll="forward") + clock
    if frequency.seconds:
        return last + ahead * _fixed_step(frequency.seconds)
    raise ValueError(f"frequency {frequency.name!r} has no step")


def _exact_unit(times: np.ndarray) -> str:
    """The coarsest of D, m (minutes), s that shows every date exactly, or the array's own unit."""
    present = times[~np.isnat(times)]
    for unit in ("D", "m", "s"):
        if (present.astype(f"datetime64[{unit}]") == present).all():
            return unit
    return np.datetime_data(times.dtype)[0]


def format_times(times: np.ndarray, frequency: Frequency | None) -> np.ndarray:
    """(T,) datetime64 -> (T,) ISO text at the precision of ``frequency``: "1961" yearly, "1961-Q1" quarterly,
    "1961-01" for months, "1961-01-31" for days, "1961-01-31T12:00" for hours and minutes, seconds where needed;
    irregular dates (None) as precisely as they need. NaT becomes ""."""
    times = np.asarray(times)
    if times.dtype.kind != "M":
        raise ValueError(f"expected datetime64 values, got {times.dtype}")
    name = frequency.name if frequency is not None else None
    if name == "quarterly":
        months = times.astype("datetime64[M]").astype(np.int64)
        text = np.array([f"{m // 12 + 1970}-Q{m % 12 // 3 + 1}" for m in months.tolist()], dtype=object)
        text[np.isnat(times)] = ""
        return text.astype(str)
    if name == "yearly":
        unit = "Y"
    elif frequency is not None and frequency.months:
        unit = "M"
    elif np.datetime_data(times.dtype)[0] in ("Y", "M"):
        unit = np.datetime_data(times.dtype)[0]
    else:
        unit = _exact_unit(times)
        if unit == "D" and frequency is not None and 0 < frequency.seconds < 86400:
            unit = "m"  # a sub-daily step shows the clock even where every date reads midnight
    text = np.datetime_as_string(times, unit=unit)
    return np.where(np.isnat(times), "", text)
