"""The customer's journey: timestamped events across every channel (what a bot or IVR collected, a
completed interaction, a transfer…)."""

from __future__ import annotations

import uuid
from datetime import datetime

from context_store.db import Conn, as_uuid, q
from context_store.records import JourneyEvent, JSONObject, from_row


async def add_event(
    conn: Conn,
    customer_id: uuid.UUID | str,
    type_: str,
    data: JSONObject,
    *,
    interaction_id: uuid.UUID | str | None = None,
    at: datetime | None = None,
) -> JourneyEvent:
    """Record an event (``at`` defaults to now)."""
    row = await conn.fetchrow(
        q("journey_event_insert"),
        uuid.uuid4(),
        as_uuid(customer_id),
        None if interaction_id is None else as_uuid(interaction_id),
        type_,
        data,
        at,
    )
    return from_row(JourneyEvent, row)
