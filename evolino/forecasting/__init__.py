"""Forecasting a series with Evolino: transforms, rolling-origin backtests, the final choice, ensembles and
prediction intervals (:class:`Forecaster`)."""

from evolino.forecasting.forecaster import Forecaster, ForecastResult
from evolino.forecasting.model import ForecastModel, is_forecast_model
from evolino.forecasting.series import Series
from evolino.forecasting.transforms import SeriesTransform

__all__ = ["Forecaster", "ForecastModel", "ForecastResult", "Series", "SeriesTransform", "is_forecast_model"]
