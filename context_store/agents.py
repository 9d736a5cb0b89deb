"""Agents of the routing directory: skills, capacity per channel, voice address."""

from __future__ import annotations

from context_store.db import Conn, q
from context_store.records import AgentRecord


async def upsert(conn: Conn, agent: AgentRecord) -> None:
    """Create the agent or replace its configuration."""
    await conn.execute(
        q("agent_upsert"),
        agent.id,
        agent.name,
        agent.skills,
        agent.capacity,
        agent.voice_blocks_other_channels,
        agent.address,
    )


async def list_all(conn: Conn) -> list[AgentRecord]:
    return [AgentRecord(**r) for r in await conn.fetch(q("agents_all"))]
