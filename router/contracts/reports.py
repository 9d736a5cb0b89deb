"""Wire models of reports: the KPI rows (the survey models are in ``wire``, beside the queue's).

Each KPI's definition is written once, as the description of its field here (it reaches the OpenAPI
document), and again in prose in ``docs/reports.md``."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_timezone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone (``America/Los_Angeles``, ``UTC``), as PostgreSQL and
    ``zoneinfo`` both know them."""
    return name in _zones()


class ReportInterval(StrEnum):
    m15 = "15m"
    m30 = "30m"
    h1 = "1h"
    d1 = "1d"

    @property
    def seconds(self) -> int:
        return {"15m": 900, "30m": 1800, "1h": 3600, "1d": 86400}[self.value]


class ReportGroup(StrEnum):
    queue = "queue"
    channel = "channel"
    agent = "agent"
    none = "none"


class KpiRow(BaseModel):
    """The KPIs of one interval and key. Contacts count in the interval in which they arrived in their
    queue; a rate or an average with nothing to measure is null."""

    interval_start: datetime = Field(description="the interval's start, in the report's time zone")
    interval_end: datetime
    key: str = Field(description="the queue, channel or agent id (`all` when `group_by=none`)")
    offered: int = Field(description="contacts that arrived in the queue (transfers in included)")
    answered: int = Field(description="offered contacts an agent accepted")
    abandoned: int = Field(
        description="offered contacts whose customer left while waiting; a callback is never an abandon"
    )
    answered_in_sl: int = Field(
        description="answered within the queue's `service_level_seconds` of arriving in the queue"
    )
    service_level: float | None = Field(description="answered_in_sl / (answered + abandoned)")
    asa_seconds: float | None = Field(description="average speed of answer: mean arrival→acceptance")
    aht_seconds: float | None = Field(
        description="average handle time: talk plus wrap-up, mean acceptance→end of wrap-up of the"
        " contacts handled to their end (completed, transferred or ended)"
    )
    abandonment_rate: float | None = Field(description="abandoned / offered")
    transfer_rate: float | None = Field(description="transferred / answered")
    fcr_rate: float | None = Field(
        description="first contact resolution: share of resolved (completed) contacts followed by no other"
        " contact from the same customer, on any channel, within `[reports] fcr_window_hours` of the"
        " resolved contact's end (transfers and escalations of a contact are not other contacts)"
    )
    ttr_seconds: float | None = Field(
        description="time to resolution: mean, over resolved contacts, of the time from the customer's"
        " original arrival (kept through transfers and escalations) to the resolved contact's end"
    )
    occupancy: float | None = Field(
        description="per agent: handling time over handling time plus available idle time, in the"
        " interval: the seconds the agent held work (acceptance to the end of wrap-up, work held at once"
        " counted once) over those plus the seconds its presence history shows it available holding no"
        " work; null unless `group_by=agent`, or when the agent was neither handling nor available"
    )
    csat: float | None = Field(description="share of CSAT answers that are 4 or 5")
    nps: float | None = Field(description="percent of NPS answers 9-10 minus percent 0-6 (-100 to 100)")
    ces: float | None = Field(description="mean CES answer (1 very easy to 7 very difficult)")
    surveys: int = Field(description="survey answers about these contacts")


class KpiReport(BaseModel):
    start: datetime = Field(alias="from")
    to: datetime
    tz: str
    interval: ReportInterval
    group_by: ReportGroup
    rows: list[KpiRow]

    model_config = {"populate_by_name": True}
