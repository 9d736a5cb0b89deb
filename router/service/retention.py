"""Retention: message bodies and attachments older than ``[retention] message_days`` are blanked.

Every router process runs the purge every ``purge_interval_seconds``; the purge is idempotent SQL that
skips rows another process is purging at the same moment, so any number of processes may run it. The
interactions, their times and the messages' existence stay, so reports are unchanged.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog

from context_store import privacy
from router.config import RetentionSection

log = structlog.get_logger("router.service.retention")


class Retention:
    def __init__(self, pool: asyncpg.Pool, settings: RetentionSection) -> None:
        self.pool = pool
        self.settings = settings

    @property
    def enabled(self) -> bool:
        return self.settings.message_days is not None

    async def purge_once(self, now: datetime | None = None) -> int:
        """Blank the messages older than the retention period; how many were blanked now."""
        if self.settings.message_days is None:
            return 0
        before = (now or datetime.now(UTC)) - timedelta(days=self.settings.message_days)
        purged = await privacy.purge_messages_before(self.pool, before)
        if purged:
            log.info("retention.purged", messages=purged, before=before.isoformat())
        return purged

    async def run(self) -> None:
        """Purge now, then every ``purge_interval_seconds``, until cancelled."""
        while True:
            try:
                await self.purge_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # PostgreSQL away: the next round purges what this one could not
                log.warning("retention.failed", error=type(exc).__name__)
            await asyncio.sleep(self.settings.purge_interval_seconds)
