"""Wire models of the forecast and staffing plan (``GET /v1/reports/forecast``; ``docs/reports.md``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class BacktestInterval(BaseModel):
    interval_start: datetime
    actual: int = Field(description="contacts that arrived in the interval")
    forecast: float = Field(description="the model's forecast, fitted on the weeks before the held-out week")
    seasonal_naive: float = Field(description="arrivals in the same interval one week earlier")


class Backtest(BaseModel):
    """The last whole week of the history, held out: the model fitted on the weeks before it forecasts
    it, and so does seasonal-naive (each interval as the week before)."""

    start: datetime
    end: datetime
    actual: int = Field(description="contacts that arrived in the held-out week")
    wape: float | None = Field(
        description="weighted absolute percentage error of the model: sum |actual - forecast| / sum actual"
        " (null: nothing arrived that week)"
    )
    seasonal_naive_wape: float | None = Field(description="the same for seasonal-naive")
    intervals: list[BacktestInterval]


class ForecastInterval(BaseModel):
    interval_start: datetime
    interval_end: datetime
    forecast: float = Field(description="contacts expected to arrive in the interval")
    traffic_erlangs: float | None = Field(description="offered load: arrivals per second x AHT")
    agents_needed: int | None = Field(
        description="the fewest agents handling contacts that meet the service-level target (Erlang C, or"
        " Erlang A with the measured patience); null without a measured AHT"
    )
    agents_scheduled: int | None = Field(description="agents_needed / (1 - shrinkage), rounded up")
    service_level: float | None = Field(description="the service level predicted with agents_needed")


class ForecastReport(BaseModel):
    queue: str
    tz: str
    interval_minutes: int
    horizon_days: int
    history_start: datetime = Field(description="the first local midnight of the history read")
    history_end: datetime = Field(description="the end of the history (exclusive): today's local midnight")
    history_weeks: int
    history_arrivals: int
    model: str = Field(description="the forecasting model and how it was fitted")
    aht_seconds: float | None = Field(description="measured average handle time (talk plus wrap-up)")
    patience_seconds: float | None = Field(
        description="estimated mean patience: all waiting time over the number of abandons (null: no"
        " abandons, patience is not limiting)"
    )
    mean_abandon_seconds: float | None = Field(description="mean time to abandon of the contacts who left")
    staffing_model: Literal["erlang_c", "erlang_a"]
    service_level_target: float
    service_level_seconds: float
    shrinkage: float
    backtest: Backtest
    intervals: list[ForecastInterval]
