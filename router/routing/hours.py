"""Business hours: whether a queue is open at an instant, when it opens and closes next.

A queue's weekly windows are local wall-clock time in its time zone (``zoneinfo``), so "09:00" stays
09:00 across a daylight-saving change. Where the local clock jumps, a boundary is read as follows:

- a boundary inside the gap of a spring-forward (02:30 when 02:00 becomes 03:00) is moved forward by the
  gap: it falls at the first instant after the jump (03:00 local);
- a boundary inside the repeated hour of a fall-back (01:30 happens twice) is its first occurrence (the
  daylight-saving one); a window 00:00-03:00 on that night lasts four hours of real time.

Holidays are local dates on which the queue is closed all day. Windows of consecutive days that touch
(``22:00-24:00`` then ``00:00-06:00``) are one open period. Every function takes an aware instant and
answers aware instants in UTC; ``now`` is passed in, so tests choose the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from router.contracts.waiting import WEEKDAYS, BusinessHours, clock_seconds

SEARCH_DAYS = 400
"""How far ahead an opening or closing is looked for (beyond it: none, the answer is None)."""


def _local(day: date, seconds: int, zone: ZoneInfo) -> datetime:
    """The instant (UTC) of a local wall-clock time, gaps and folds read as the module says."""
    if seconds >= 24 * 3600:
        day, seconds = day + timedelta(days=1), seconds - 24 * 3600
    wall = datetime.combine(day, time(seconds // 3600, seconds // 60 % 60, seconds % 60), tzinfo=zone)
    instant = wall.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
        # in a gap: fold=0 reads it with the offset before the jump, which is the jump's own instant
        # plus the part of the gap already passed; the boundary is the jump itself
        jump = _jump_after(instant - timedelta(hours=3), zone)
        if jump is not None:
            return jump
    return instant


def _jump_after(start: datetime, zone: ZoneInfo) -> datetime | None:
    """The first change of UTC offset within six hours after ``start`` (minute precision)."""
    offset = start.astimezone(zone).utcoffset()
    step = start
    for _ in range(6 * 60):
        step += timedelta(minutes=1)
        if step.astimezone(zone).utcoffset() != offset:
            return step.replace(second=0, microsecond=0)
    return None


class Hours:
    """One queue's business hours (see the module's docstring)."""

    def __init__(self, config: BusinessHours) -> None:
        self.config = config
        self.zone = ZoneInfo(config.timezone)
        self.holidays = frozenset(config.holidays)
        self.weekly = {
            WEEKDAYS.index(day): [(clock_seconds(s), clock_seconds(e)) for s, e in windows]
            for day, windows in config.weekly.items()
        }

    def _day_windows(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.holidays:
            return []
        out = []
        for start, end in self.weekly.get(day.weekday(), []):
            a, b = _local(day, start, self.zone), _local(day, end, self.zone)
            if b > a:
                out.append((a, b))
        return out

    def _periods(self, first: date) -> Iterator[tuple[datetime, datetime]]:
        """Open periods from the local date ``first`` on, in order, touching windows joined."""
        current: tuple[datetime, datetime] | None = None
        for k in range(SEARCH_DAYS + 2):
            for a, b in sorted(self._day_windows(first + timedelta(days=k))):
                if current is not None and a <= current[1]:
                    current = (current[0], max(current[1], b))
                    continue
                if current is not None:
                    yield current
                current = (a, b)
        if current is not None:
            yield current

    def _from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open periods that end after ``at``, in order (a period that began the day before included)."""
        start = at.astimezone(self.zone).date() - timedelta(days=1)
        for a, b in self._periods(start):
            if b > at:
                yield a, b

    def period(self, at: datetime) -> tuple[datetime, datetime] | None:
        """The open period in force at ``at`` or, when closed, the next one (None: none planned)."""
        return next(self._from(at), None)

    def is_open(self, at: datetime) -> bool:
        p = self.period(at)
        return p is not None and p[0] <= at

    def opens_at(self, at: datetime) -> datetime | None:
        """The first instant at or after ``at`` when the queue is open (``at`` itself when open now);
        None when no opening is planned within ``SEARCH_DAYS``."""
        p = self.period(at)
        if p is None:
            return None
        return at.astimezone(UTC) if p[0] <= at else p[0]

    def closes_at(self, at: datetime) -> datetime | None:
        """The end of the open period in force at ``at`` or, when closed, of the next one."""
        p = self.period(at)
        return None if p is None else p[1]

    def next_opening(self, at: datetime) -> datetime | None:
        """The next moment the queue goes from closed to open, strictly after ``at``."""
        for a, _b in self._from(at):
            if a > at:
                return a
        return None

    def intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The open periods overlapping ``[start, end)``, in order (what the live index is given)."""
        out = []
        for a, b in self._from(start):
            if a >= end:
                break
            out.append((a, b))
        return out


def is_open(hours: BusinessHours | None, at: datetime) -> bool:
    """Open at ``at`` (a queue without hours always is)."""
    return hours is None or Hours(hours).is_open(at)


def opens_at(hours: BusinessHours | None, at: datetime) -> datetime | None:
    """The first instant at or after ``at`` the queue is open (``at`` when open or without hours)."""
    return at.astimezone(UTC) if hours is None else Hours(hours).opens_at(at)


def closes_at(hours: BusinessHours | None, at: datetime) -> datetime | None:
    """When the open period in force (or the next one) ends; None without hours."""
    return None if hours is None else Hours(hours).closes_at(at)
