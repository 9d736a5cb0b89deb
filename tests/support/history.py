"""A synthetic history of one queue with a weekly pattern: Poisson arrivals per local half hour whose
rate follows the weekday and the hour (busy weekday late mornings and early afternoons, quiet nights,
a slow weekend), written into PostgreSQL through ``context_store.synthetic``."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from context_store import synthetic
from context_store.synthetic import SyntheticContact

WEEKDAY = (1.0, 1.1, 1.05, 1.0, 0.9, 0.45, 0.3)  # Monday .. Sunday


def rate(day: date, slot: int) -> float:
    """Mean arrivals in half hour ``slot`` (0-47) of local ``day``."""
    hour = slot / 2
    intraday = 14 * math.exp(-(((hour - 11) / 3.0) ** 2)) + 8 * math.exp(-(((hour - 16) / 2.5) ** 2))
    return 0.3 + intraday * WEEKDAY[day.weekday()]


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method: fine for the small rates of a half hour
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


@dataclass
class History:
    contacts: list[SyntheticContact]
    first_day: date
    end_day: date

    @property
    def aht(self) -> float:
        handled = [c.handle for c in self.contacts if c.handle is not None]
        return sum(handled) / len(handled)


def weekly_history(
    tz: str, *, weeks: int, end_day: date, seed: int = 7, abandon_share: float = 0.0
) -> History:
    """``weeks`` whole weeks of contacts ending at ``end_day``'s local midnight (exclusive). Each is
    answered after 0-40 s and handled for 240-360 s, or (a share ``abandon_share``) abandons after 0-60 s."""
    zone = ZoneInfo(tz)
    rng = random.Random(seed)
    first = end_day - timedelta(days=7 * weeks)
    contacts = []
    for d in range(7 * weeks):
        day = first + timedelta(days=d)
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
        for slot in range(48):
            for _ in range(_poisson(rng, rate(day, slot))):
                at = midnight + timedelta(seconds=slot * 1800 + rng.uniform(0, 1799))
                ext = f"fc-{day.isoformat()}-{slot}-{len(contacts)}"
                if rng.random() < abandon_share:
                    contacts.append(SyntheticContact(ext, at, rng.uniform(0, 60), None))
                else:
                    contacts.append(SyntheticContact(ext, at, rng.uniform(0, 40), rng.uniform(240, 360)))
    return History(contacts, first, end_day)


async def load(pool: asyncpg.Pool, namespace: str, queue: str, history: History) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await synthetic.load_queue_contacts(conn, namespace, queue, "voice", history.contacts)
