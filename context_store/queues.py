"""Skill queues of the routing directory, one set per routing domain (namespace)."""

from __future__ import annotations

from context_store.db import Conn, q
from context_store.records import QueueRecord


async def upsert(conn: Conn, namespace: str, queue: QueueRecord) -> None:
    """Create the domain's queue or replace its configuration."""
    await conn.execute(
        q("queue_upsert"),
        queue.id,
        queue.name,
        queue.skills,
        list(queue.channels),
        queue.priority,
        float(queue.offer_timeout_seconds),
        float(queue.wrapup_seconds),
        float(queue.service_level_seconds),
        queue.strategy,
        queue.steps,
        float(queue.reject_cooldown_seconds),
        float(queue.last_agent_seconds),
        namespace,
        queue.survey,
        list(queue.dispositions),
        queue.callback,
        queue.wait_rules,
    )


async def list_all(conn: Conn, namespace: str) -> list[QueueRecord]:
    """The domain's queues."""
    return [QueueRecord(**r) for r in await conn.fetch(q("queues_all"), namespace)]
