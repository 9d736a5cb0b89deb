"""What the blending rules read from the record: a channel's service level today."""

from __future__ import annotations

from datetime import datetime

from context_store.db import Conn, q
from context_store.records import ChannelServiceCounts


async def channel_service(conn: Conn, namespace: str, channel: str, since: datetime) -> ChannelServiceCounts:
    """The counts behind the channel's service level for contacts that arrived since ``since``."""
    row = await conn.fetchrow(q("channel_service_level"), namespace, channel, since)
    assert row is not None  # an aggregate always answers one row
    return ChannelServiceCounts(**row)
