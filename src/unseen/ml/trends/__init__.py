"""Seasonal demand forecasting on sparse sales: monthly demand from the shop's orders, forecasters that share one
contract (predict(h) returns the mean forecast for the next h months with prediction intervals), backtests, and
rankings of next month's sellers and of where stock money earns most."""

from ._backtest import (
    candidate_forecasters,
    choose_model,
    compare_models,
    mase,
    rolling_origin,
    seasonal_scale,
    smape,
    summarise_comparison,
)
from ._base import BaseForecaster, check_monthly_series
from ._croston import TSB, Croston
from ._data import demand_series, load_order_lines, monthly_demand
from ._linear import LinearSeasonalRegression
from ._ranking import (
    ADI_CUTOFF,
    CV2_CUTOFF,
    DEMAND_CLASSES,
    classify_demand,
    default_model,
    forecast_demand,
    invest_ranking,
    next_month_sellers,
)
from ._sarima import SARIMA
from ._seasonal_naive import SeasonalNaive

__all__ = [
    "candidate_forecasters",
    "ADI_CUTOFF",
    "CV2_CUTOFF",
    "DEMAND_CLASSES",
    "SARIMA",
    "TSB",
    "BaseForecaster",
    "Croston",
    "LinearSeasonalRegression",
    "SeasonalNaive",
    "check_monthly_series",
    "choose_model",
    "classify_demand",
    "compare_models",
    "default_model",
    "demand_series",
    "forecast_demand",
    "invest_ranking",
    "load_order_lines",
    "mase",
    "monthly_demand",
    "next_month_sellers",
    "rolling_origin",
    "seasonal_scale",
    "smape",
    "summarise_comparison",
]
