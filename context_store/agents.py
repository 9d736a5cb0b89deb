"""Agents of the routing directory: skills, capacity per channel, voice address; one set per routing
domain (namespace)."""

from __future__ import annotations

from context_store.db import Conn, q
from context_store.records import AgentRecord


async def upsert(conn: Conn, namespace: str, agent: AgentRecord) -> None:
    """Create the domain's agent or replace its configuration."""
    await conn.execute(
        q("agent_upsert"),
        agent.id,
        agent.name,
        agent.skills,
        agent.capacity,
        agent.voice_blocks_other_channels,
        agent.address,
        namespace,
        list(agent.groups),
    )


async def list_all(conn: Conn, namespace: str) -> list[AgentRecord]:
    """The domain's agents."""
    return [AgentRecord(**r) for r in await conn.fetch(q("agents_all"), namespace)]
