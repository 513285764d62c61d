"""evolino as an sktime forecaster: ``EvolinoForecaster().fit(y, X=None, fh=...)`` in sktime's loops.

Idea. sktime's forecasters take a series ``y`` with its time index (and exogenous series ``X`` on the same index),
forecast the steps of a horizon ``fh`` after the cutoff, and are evaluated, tuned and compared by the same code
whatever they are. :class:`EvolinoForecaster` puts :class:`evolino.forecasting.Forecaster` (evolved LSTM networks
over the linear model inside them, chosen on a backtest; split-conformal intervals) behind sktime's
``BaseForecaster``, adding nothing but the translation.

What is adapted. ``fit`` lays ``y`` (and ``X``) out as a one-series table, with the dates of a ``DatetimeIndex`` or
``PeriodIndex`` as its time index (their frequency gives the season), and builds a generative task whose last
``validation_fraction`` of the steps is the validation part and which has no test part: every step given is seen.
``predict`` forecasts from the end of the data seen so far (``update`` adds data: with ``update_params=True`` the
model is fitted again on all of it, otherwise the fitted model forecasts from the new end), closed-loop, as far as
the horizon's last step, and sktime puts the values on the horizon's own index (dates kept). ``predict_interval``
adds the forecaster's bounds from its backtest residuals at each requested coverage (``predict_quantiles`` follows
from them). With ``X`` in ``fit``, the exogenous values of every step up to the horizon's last are needed in
``predict``.

The evolution's settings are flat ``__init__`` parameters (``cells``, ``population``, ``generations``,
``optimizer``; other :class:`~evolino.trainer.Evolino` settings in ``evolino_options``); ``random_state`` (an int,
None, a Generator or a RandomState) seeds the evolution.

Shapes. ``y``: a pd.Series of T steps (sktime applies the forecaster to each column of a DataFrame, and to each
series of a panel); ``X``: a pd.DataFrame (T, k) of numbers; forecasts: a pd.Series on the horizon's index;
intervals: a DataFrame with columns (variable, coverage, "lower"/"upper"). Install with
``pip install "evolino[sktime]"``.
"""

from __future__ import annotations

import numpy as np

from evolino.errors import require_extra
from evolino.integration._common import make_evolino, seed_from

require_extra("sktime", "sktime", "evolino.integration.sktime")

import pandas as pd  # noqa: E402
from sktime.forecasting.base import BaseForecaster, ForecastingHorizon  # noqa: E402

from evolino.forecasting.forecaster import Forecaster  # noqa: E402
from evolino.tasks.data import data_task  # noqa: E402
from evolino.tasks.table import Table  # noqa: E402

__all__ = ["EvolinoForecaster"]

# Small budgets for sktime's estimator checks (many fits of series of a few dozen steps).
TEST_PARAMS = {"cells": 2, "population": 8, "generations": 2, "random_state": 0}


def _dates(index: pd.Index) -> np.ndarray | None:
    """The dates of a time index as datetime64 (None for an integer index)."""
    if isinstance(index, pd.PeriodIndex):
        return index.to_timestamp().to_numpy(dtype="datetime64[ns]")
    if isinstance(index, pd.DatetimeIndex):
        return (index.tz_localize(None) if index.tz is not None else index).to_numpy(dtype="datetime64[ns]")
    return None


class EvolinoForecaster(BaseForecaster):
    """Forecast a series with Evolino (sktime's ``BaseForecaster``; see the module docstring).

    Parameters
    ----------
    cells : int, optional
        Memory cells of the networks; None: evolino's default (10).
    population : int
        Genomes per generation.
    generations : int
        Generation budget.
    optimizer : str
        Evolino's optimizer (e.g. "sep-cma", "cma", "esp").
    validation_fraction : float
        Share of the steps, the last ones, kept as the validation part: the backtest's horizon, and where the
        residuals of the intervals come from.
    season : int, optional
        Season length in steps; None: from the dates' frequency or the autocorrelation; 0 or 1: none.
    random_state : int, Generator, RandomState or None
        Seed of the evolution; None: fresh entropy (not reproducible).
    evolino_options : dict, optional
        Further :class:`~evolino.trainer.Evolino` settings by name (``ridge``, ``max_seconds``, ...).

    Attributes
    ----------
    forecaster_ : Forecaster
        The fitted evolino forecaster: ``model_`` (the :class:`~evolino.forecasting.ForecastModel`) and
        ``result_`` (its choices: ``final`` "linear" or "network", ``transform``, ``season``, ``backtest``).

    Examples
    --------
    >>> from sktime.datasets import load_airline
    >>> from evolino.integration.sktime import EvolinoForecaster
    >>> y = load_airline()
    >>> forecaster = EvolinoForecaster(cells=3, population=8, generations=3, random_state=0).fit(y, fh=[1, 2, 3])
    >>> y_pred = forecaster.predict()                                 # on the next three months' PeriodIndex
    >>> bounds = forecaster.predict_interval(coverage=0.9)            # (airline, 0.9, lower / upper) columns
    """

    _tags = {
        "authors": ["evolino"],
        "maintainers": ["evolino"],
        "y_inner_mtype": "pd.Series",
        "X_inner_mtype": "pd.DataFrame",
        "capability:multivariate": False,  # sktime fits one forecaster per column of a multivariate y
        "capability:exogenous": True,
        "requires-fh-in-fit": False,
        "X-y-must-have-same-index": True,
        "capability:pred_int": True,
        # Forecasts are closed-loop from the end of the data: a horizon before the cutoff (in-sample fitted values)
        # is not what evolino's forecast model makes, nor are intervals for such steps.
        "capability:insample": False,
        "capability:pred_int:insample": False,
        # A closed-loop forecast needs the exogenous values of every step up to the horizon's last, not only of the
        # steps asked for.
        "capability:non_contiguous_X": False,
        "capability:categorical_in_X": False,  # inputs are numbers
        "capability:missing_values": False,
        "capability:random_state": True,  # random_state seeds the evolution
    }

    def __init__(self, cells: int | None = None, population: int = 40, generations: int = 300,
                 optimizer: str = "sep-cma", validation_fraction: float = 0.2, season: int | None = None,
                 random_state=None, evolino_options: dict | None = None) -> None:
        self.cells = cells
        self.population = population
        self.generations = generations
        self.optimizer = optimizer
        self.validation_fraction = validation_fraction
        self.season = season
        self.random_state = random_state
        self.evolino_options = evolino_options
        super().__init__()

    # ----------------------------------------------------------------------------------------------------- fit

    def _fit(self, y: pd.Series, X: pd.DataFrame | None = None, fh: ForecastingHorizon | None = None):
        self._y_seen = y.copy()
        self._X_seen = None if X is None else X.copy()
        self._refit()
        return self

    def _refit(self) -> None:
        """Fit evolino's forecaster on all the data seen so far."""
        fraction = float(self.validation_fraction)
        if not 0 < fraction < 1:
            raise ValueError(f"validation_fraction must be between 0 and 1, got {self.validation_fraction!r}")
        y, X = self._y_seen, self._X_seen
        columns = {"y": y.to_numpy(dtype=np.float64)}
        inputs = []
        if X is not None:
            for k, name in enumerate(X.columns):
                columns[f"x_{k}"] = X[name].to_numpy(dtype=np.float64)
                inputs.append(f"x_{k}")
        dates = _dates(y.index)
        if dates is not None:
            columns = {"time": dates, **columns}
        table = Table.from_arrays(columns, source=str(y.name) if y.name is not None else "y",
                                  time="time" if dates is not None else None)
        task = data_task(table, kind="generate", target="y", inputs=inputs or None, split=(1.0 - fraction, fraction,
                                                                                          0.0))
        evolino = make_evolino(self.cells, self.population, self.generations, self.optimizer,
                               seed_from(self.random_state), self.evolino_options)
        self.forecaster_ = Forecaster(evolino, season=self.season).fit(task)

    def _update(self, y: pd.Series, X: pd.DataFrame | None = None, update_params: bool = True):
        self._y_seen = _joined(self._y_seen, y)
        if self._X_seen is not None and X is not None:
            self._X_seen = _joined(self._X_seen, X)
        if update_params:
            self._refit()
        return self

    # ------------------------------------------------------------------------------------------------ predict

    def _forecast(self, fh: ForecastingHorizon, X: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
        """(the forecast (H,) of the steps 1..H after the cutoff, H the horizon's last; positions of fh in it)."""
        steps_ahead = np.asarray(fh.to_relative(self.cutoff).to_numpy(), dtype=int)
        if (steps_ahead < 1).any():
            raise NotImplementedError("EvolinoForecaster forecasts after the cutoff only (no in-sample fh)")
        steps = int(steps_ahead.max())
        model = self.forecaster_.model_
        history = self._y_seen.to_numpy(dtype=np.float64)[:, None]
        history_inputs = future_inputs = None
        if self._X_seen is not None:
            history_inputs = self._X_seen.to_numpy(dtype=np.float64)
            future_inputs = self._future_inputs(X, steps)
        forecast = model.forecast(history, steps, history_inputs, future_inputs)[:, 0]
        return forecast, steps_ahead - 1

    def _future_inputs(self, X: pd.DataFrame | None, steps: int) -> np.ndarray:
        """The exogenous values (steps, k) of the steps 1..steps after the cutoff."""
        if X is None:
            raise ValueError("EvolinoForecaster was fitted with X: predict needs X for every step up to the "
                             "horizon's last")
        index = ForecastingHorizon(np.arange(1, steps + 1), is_relative=True).to_absolute_index(self.cutoff)
        future = X.reindex(index)[list(self._X_seen.columns)].to_numpy(dtype=np.float64)
        if not np.isfinite(future).all():
            raise ValueError(f"X lacks the exogenous values of some of the {steps} steps after the cutoff "
                             "(a closed-loop forecast needs every step up to the horizon's last)")
        return future

    def _predict(self, fh: ForecastingHorizon, X: pd.DataFrame | None = None) -> pd.Series:
        forecast, positions = self._forecast(fh, X)
        return pd.Series(forecast[positions], index=fh.to_absolute_index(self.cutoff), name=self._y_seen.name)

    def _predict_interval(self, fh: ForecastingHorizon, X: pd.DataFrame | None, coverage: list[float]) -> pd.DataFrame:
        forecast, positions = self._forecast(fh, X)
        model = self.forecaster_.model_
        columns = pd.MultiIndex.from_product([self._get_varnames(), coverage, ["lower", "upper"]])
        values = []
        for level in coverage:
            lower, upper = model.interval(forecast[:, None], level=level)
            values += [lower[positions, 0], upper[positions, 0]]
        return pd.DataFrame(np.stack(values, axis=1), index=fh.to_absolute_index(self.cutoff), columns=columns)

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict]:
        """Tiny budgets for sktime's estimator checks (``check_estimator``): the defaults, and no season with a
        larger validation part."""
        return [dict(TEST_PARAMS), {**TEST_PARAMS, "validation_fraction": 0.3, "season": 0, "random_state": 1}]


def _joined(old, new):
    """``old`` with the rows of ``new`` (new values win where the index repeats), in time order."""
    joined = pd.concat([old, new])
    return joined[~joined.index.duplicated(keep="last")].sort_index()
