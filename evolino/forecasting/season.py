"""The season length of a series: given by the user, implied by its dates, or read off its autocorrelation.

In this order (:func:`season_length`):

1. ``given`` (``--season N``; 0 or 1 means "no season");
2. the natural season of the dates' frequency (monthly 12, quarterly 4, daily 7, hourly 24, ...), when the series
   holds at least two such seasons;
3. the autocorrelation of the first differences (differencing removes a trend, which would otherwise make every lag
   look alike): among its local maxima after it first drops to zero (earlier bumps are noise on the decay from lag
   0) that are significant (above ``2 / sqrt(T)``, the usual band of a white-noise autocorrelation) and at least
   ``MIN_ACF``, the shortest whose autocorrelation is within ``NEAR_BEST`` of the highest (a season's multiples peak
   as high as the season itself), if the series holds at least three such seasons. A series without one has no
   season (None).

Only the data a choice may look at (train and validation) are passed in. Shapes: levels (T, m); with several
columns the autocorrelations are averaged.
"""

from __future__ import annotations

import numpy as np

__all__ = ["season_length", "autocorrelation", "MIN_ACF", "MAX_SEASON", "NEAR_BEST"]

MIN_ACF = 0.3
NEAR_BEST = 0.8
MAX_SEASON = 400  # longest season the autocorrelation is searched for (e.g. a week of hourly data is 168)


def autocorrelation(values: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelation (max_lag + 1,) of a (T,) or (T, m) series at lags 0..max_lag (averaged over columns;
    NaN steps count as the mean), computed by FFT in O(T log T)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    centred = values - np.nanmean(values, axis=0)
    centred = np.nan_to_num(centred)
    steps = centred.shape[0]
    size = 1 << int(np.ceil(np.log2(2 * steps)))
    spectrum = np.fft.rfft(centred, n=size, axis=0)
    covariance = np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=0)[: max_lag + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        acf = covariance / covariance[:1]
    return np.nan_to_num(acf).mean(axis=1)


def season_length(levels: np.ndarray, given: int | None = None, frequency_season: int | None = None) -> int | None:
    """The season length of ``levels`` (T, m), or None (see the module docstring for the order of the rules)."""
    if given is not None:
        return int(given) if given >= 2 else None
    steps = levels.shape[0]
    if frequency_season is not None and frequency_season >= 2 and steps >= 2 * frequency_season:
        return int(frequency_season)
    changes = np.diff(np.asarray(levels, dtype=np.float64), axis=0)
    max_lag = min(MAX_SEASON, changes.shape[0] // 3)
    if max_lag < 2:
        return None
    acf = autocorrelation(changes, max_lag)
    crossing = np.flatnonzero(acf[1:] <= 0)
    if not crossing.size:
        return None
    peaks = [lag for lag in range(max(2, int(crossing[0]) + 2), max_lag)
             if acf[lag] > acf[lag - 1] and acf[lag] >= acf[lag + 1]]
    if not peaks:
        return None
    threshold = max(MIN_ACF, 2.0 / np.sqrt(changes.shape[0]))
    highest = max(acf[lag] for lag in peaks)
    if highest < threshold:
        return None
    return int(min(lag for lag in peaks if acf[lag] >= max(threshold, NEAR_BEST * highest)))
