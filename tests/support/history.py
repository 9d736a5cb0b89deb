"""A synthetic history of one queue with a weekly pattern (``context_store.synthetic.weekly_contacts``),
written into PostgreSQL, with what the tests compute from it by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import asyncpg

from context_store import synthetic
from context_store.synthetic import SyntheticContact


@dataclass
class History:
    contacts: list[SyntheticContact]

    @property
    def aht(self) -> float:
        handled = [c.handle for c in self.contacts if c.handle is not None]
        return sum(handled) / len(handled)


def weekly_history(
    tz: str, *, weeks: int, end_day: date, seed: int = 7, abandon_share: float = 0.0
) -> History:
    """``weeks`` whole weeks of contacts ending at ``end_day``'s local midnight (exclusive)."""
    return History(
        synthetic.weekly_contacts(tz, weeks=weeks, end_day=end_day, seed=seed, abandon_share=abandon_share)
    )


async def load(pool: asyncpg.Pool, namespace: str, queue: str, history: History) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await synthetic.load_queue_contacts(conn, namespace, queue, "voice", history.contacts)
