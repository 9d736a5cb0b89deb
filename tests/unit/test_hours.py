"""Business hours: open or closed at an instant, the next opening and closing, in the queue's own time
zone, with holidays and across daylight-saving changes (router/routing/hours.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from router.config import ConfigError, parse_config
from router.contracts import QueueConfig
from router.contracts.waiting import BusinessHours
from router.routing.hours import Hours

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def hours(zone: str, weekly: dict[str, list[list[str]]], holidays: list[str] | None = None) -> Hours:
    return Hours(
        BusinessHours.model_validate({"timezone": zone, "weekly": weekly, "holidays": holidays or []})
    )


def office(zone: str, **extra: list[list[str]]) -> Hours:
    return hours(zone, {**{d: [["09:00", "18:00"]] for d in WEEKDAYS}, **extra}, ["2026-12-25"])


def at(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[misc]


def test_open_and_closed_in_the_queues_own_time_zone() -> None:
    seoul = office("Asia/Seoul")
    # 09:30 in Seoul is 00:30 UTC: open, although it is night in UTC
    assert seoul.is_open(datetime(2026, 11, 27, 0, 30, tzinfo=UTC))  # a Friday
    # 18:00 Seoul: the window has ended (end excluded)
    assert not seoul.is_open(at(SEOUL, 2026, 11, 27, 18, 0))
    assert seoul.is_open(at(SEOUL, 2026, 11, 27, 17, 59))
    # Friday evening: next opening is Monday 09:00 Seoul, closing Monday 18:00
    friday_night = at(SEOUL, 2026, 11, 27, 20, 0)
    assert seoul.opens_at(friday_night) == at(SEOUL, 2026, 11, 30, 9, 0)
    assert seoul.closes_at(friday_night) == at(SEOUL, 2026, 11, 30, 18, 0)
    # open now: opens_at is now, closes_at the end of today's window, next_opening tomorrow's
    morning = at(SEOUL, 2026, 11, 26, 10, 0)
    assert seoul.opens_at(morning) == morning
    assert seoul.closes_at(morning) == at(SEOUL, 2026, 11, 26, 18, 0)
    assert seoul.next_opening(morning) == at(SEOUL, 2026, 11, 27, 9, 0)
    assert seoul.opens_at(morning).tzinfo == UTC  # type: ignore[union-attr]


def test_a_holiday_is_closed_all_day() -> None:
    seoul = office("Asia/Seoul")
    christmas = at(SEOUL, 2026, 12, 25, 11, 0)  # a Friday
    assert not seoul.is_open(christmas)
    assert seoul.opens_at(christmas) == at(SEOUL, 2026, 12, 28, 9, 0)
    assert seoul.is_open(at(SEOUL, 2026, 12, 24, 11, 0))


def test_windows_that_touch_across_midnight_are_one_period() -> None:
    night = hours("Europe/Berlin", {"mon": [["22:00", "24:00"]], "tue": [["00:00", "06:00"]]})
    monday_late = at(BERLIN, 2026, 11, 23, 23, 0)
    assert night.is_open(monday_late)
    assert night.closes_at(monday_late) == at(BERLIN, 2026, 11, 24, 6, 0)
    assert night.is_open(at(BERLIN, 2026, 11, 24, 0, 0))


def test_spring_forward_keeps_wall_clock_windows() -> None:
    ny = office("America/New_York")
    # 2027-03-15 is after the March 14 change: 09:00 EDT is 13:00 UTC (it was 14:00 UTC the week before)
    assert ny.opens_at(at(NEW_YORK, 2027, 3, 15, 7, 0)) == datetime(2027, 3, 15, 13, 0, tzinfo=UTC)
    assert ny.opens_at(at(NEW_YORK, 2027, 3, 12, 7, 0)) == datetime(2027, 3, 12, 14, 0, tzinfo=UTC)
    # a boundary in the gap (02:30 does not exist on 2027-03-14): the window starts at the jump, 03:00 EDT
    gap = hours("America/New_York", {"sun": [["02:30", "05:00"]]})
    sunday = at(NEW_YORK, 2027, 3, 14, 0, 0)
    assert gap.opens_at(sunday) == datetime(2027, 3, 14, 7, 0, tzinfo=UTC)  # 03:00 EDT
    assert gap.closes_at(sunday) == datetime(2027, 3, 14, 9, 0, tzinfo=UTC)  # 05:00 EDT
    assert not gap.is_open(datetime(2027, 3, 14, 6, 59, tzinfo=UTC))  # 01:59 EST
    assert gap.is_open(datetime(2027, 3, 14, 7, 0, tzinfo=UTC))


def test_fall_back_reads_a_repeated_time_as_its_first_occurrence() -> None:
    # Berlin falls back on 2026-10-25: 03:00 CEST becomes 02:00 CET, 02:30 happens twice
    night = hours("Europe/Berlin", {"sun": [["00:00", "02:30"]]})
    sunday = at(BERLIN, 2026, 10, 25, 0, 0)
    start, end = night.opens_at(sunday), night.closes_at(sunday)
    assert start == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # 00:00 CEST
    assert end == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30 (CEST)
    # a window over the whole repeated hour lasts one hour longer than its wall-clock length
    long_night = hours("Europe/Berlin", {"sun": [["00:00", "04:00"]]})
    s, e = long_night.opens_at(sunday), long_night.closes_at(sunday)
    assert s is not None and e is not None and e - s == timedelta(hours=5)
    # the office opens at 09:00 CET the day after: 08:00 UTC (07:00 UTC before the change)
    berlin = office("Europe/Berlin")
    assert berlin.opens_at(at(BERLIN, 2026, 10, 26, 6, 0)) == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    assert berlin.opens_at(at(BERLIN, 2026, 10, 23, 6, 0)) == datetime(2026, 10, 23, 7, 0, tzinfo=UTC)


def test_no_windows_never_opens_and_intervals_list_the_periods() -> None:
    shut = hours("UTC", {})
    now = datetime(2026, 11, 27, tzinfo=UTC)
    assert not shut.is_open(now) and shut.opens_at(now) is None and shut.closes_at(now) is None
    seoul = office("Asia/Seoul")
    periods = seoul.intervals(at(SEOUL, 2026, 11, 23, 0, 0), at(SEOUL, 2026, 11, 30, 0, 0))
    assert [a.astimezone(SEOUL).day for a, _ in periods] == [23, 24, 25, 26, 27]
    assert all(b - a == timedelta(hours=9) for a, b in periods)


def test_bad_hours_are_refused() -> None:
    with pytest.raises(ValidationError, match="IANA"):
        BusinessHours.model_validate({"timezone": "Mars/Olympus"})
    with pytest.raises(ValidationError, match="end after it starts"):
        BusinessHours.model_validate({"timezone": "UTC", "weekly": {"mon": [["18:00", "09:00"]]}})
    with pytest.raises(ValidationError, match="HH:MM"):
        BusinessHours.model_validate({"timezone": "UTC", "weekly": {"mon": [["9", "18:00"]]}})
    with pytest.raises(ValidationError, match="closed_queue"):
        QueueConfig.model_validate({"closed_action": "overflow"})
    with pytest.raises(ValidationError, match="increasing"):
        QueueConfig.model_validate(
            {"overflow": [{"after_seconds": 60, "queue": "a"}, {"after_seconds": 30, "queue": "b"}]}
        )


def test_a_configuration_naming_an_unknown_target_queue_is_refused() -> None:
    text = """
[[queues]]
id = "front"
overflow = [{ after_seconds = 60, queue = "nowhere" }]
closed_action = "overflow"
closed_queue = "front"
"""
    with pytest.raises(ConfigError, match="unknown queue 'nowhere'"):
        parse_config(text)
    ok = parse_config(text.replace("nowhere", "front"))
    assert ok.queues[0].overflow[0].after_seconds == 60
