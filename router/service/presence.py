"""Presence: which not-ready reasons an agent may give, the history of every agent's state in PostgreSQL,
and the time spent per state and reason.

Every change of presence in the live index is an ``agent_state`` event on the stream (the Lua scripts
emit it: the agent's own ``set_state``, a missed offer, a desktop that connects or drops). The decision
log (``router/service/decisions.py``) records each change once per routing domain, with the routing
decisions of the same batch of the stream, within about a tenth of a second: :func:`change_of` reads it.
The change's event id is unique in the table, so an event recorded again (after a retry, or claimed from
a process that died) is stored once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from context_store import presence
from router.config import PresenceSection
from router.contracts import AgentState, AgentStatesOut
from router.errors import BadRequest

log = structlog.get_logger("router.service.presence")

MAX_RANGE = timedelta(days=92)


def change_of(event_id: str, data: dict[str, Any]) -> presence.StateRow | None:
    """The row of the history an ``agent_state`` event is (agent, state, reason, at, event id), or None
    when the event cannot be one (logged: recorded in a batch, one bad row must not hold up the rest)."""
    try:
        state = AgentState(str(data["state"])).value
        at = datetime.fromtimestamp(int(data["at"]) / 1000, UTC)
        agent_id = str(data["agent_id"])
    except (KeyError, ValueError, TypeError, OverflowError, OSError):
        log.error("presence.unreadable_change", event_id=event_id)
        return None
    return agent_id, state, str(data.get("reason") or ""), at, event_id


class Presence:
    def __init__(self, pool: asyncpg.Pool, namespace: str, settings: PresenceSection) -> None:
        self.pool = pool
        self.namespace = namespace  # the routing domain: its agents and its event stream
        self.settings = settings

    def check(self, state: str, reason: str) -> None:
        """Refuse (before anything changes) a reason the agent may not give with this state."""
        if not reason:
            return
        if state != AgentState.away:
            raise BadRequest(
                f"a reason goes only with away, not with {state}",
                errors=[{"loc": ["reason"], "msg": "only with state away", "type": "value_error"}],
            )
        allowed = self.settings.allowed()
        if reason not in allowed:
            raise BadRequest(
                f"{reason!r} is not an away reason; one of: {', '.join(allowed)}",
                errors=[
                    {"loc": ["reason"], "msg": "not one of [presence] away_reasons", "type": "value_error"}
                ],
            )

    async def report(self, agent_id: str, start: datetime, end: datetime) -> AgentStatesOut:
        """Time per state and reason between ``start`` and ``end`` (counted up to now at most)."""
        if end <= start:
            raise BadRequest(
                "`to` must be after `from`", errors=[{"loc": ["query", "to"], "msg": "not after from"}]
            )
        if end - start > MAX_RANGE:
            raise BadRequest(
                "the range is at most 92 days", errors=[{"loc": ["query", "from"], "msg": "range too long"}]
            )
        counted_to = min(end, datetime.now(UTC))
        totals = (
            await presence.totals(self.pool, self.namespace, agent_id, start, counted_to)
            if counted_to > start
            else []
        )
        changes = await presence.changes(self.pool, self.namespace, agent_id, start, end)
        return AgentStatesOut.model_validate(
            {
                "agent_id": agent_id,
                "from": start,
                "to": end,
                "totals": [
                    {"state": t.state, "reason": t.reason, "seconds": round(t.seconds, 3)}
                    for t in totals
                    if t.seconds > 0
                ],
                "changes": [{"state": c.state, "reason": c.reason, "at": c.at} for c in changes],
            }
        )


PRESENCE = web.AppKey("presence", Presence)
