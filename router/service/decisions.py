"""The routing decision log: every routing event of the live index (an offer and its ``why``, a miss, a
reject and its cooldown, a step change, a preference window ending, a transfer) recorded in PostgreSQL,
where ``GET /v1/interactions/{id}/routing`` reads it. A warm transfer the target did not take is closed
in the record here too (its copy has left the live index, and only the stream says so).

The events are read through one Redis consumer group per routing domain, so each is recorded by one
process whatever the number of processes; an event whose process died before acknowledging it is claimed
by another after ``CLAIM_IDLE_MS``, and a second recording of one event is ignored (the record is unique
on the event id). After a flush of Redis the group is created again on the new stream.

The agents' changes of presence (``agent_state`` events) are recorded here too, in the same batches, so
each is written once per domain (not once by every process reading the stream). A batch is gathered for
up to ``LINGER_S`` after its first event, and recorded in one statement."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import redis.exceptions
import structlog
from aiohttp import web

from context_store import interactions, presence, routing
from router.backends import UNAVAILABLE
from router.node import Node
from router.routing.engine import Engine
from router.service.presence import change_of

log = structlog.get_logger("router.service.decisions")

GROUP = "decisions"
BLOCK_MS = 250
CLAIM_IDLE_MS = 30_000
BATCH = 500
LINGER_S = 0.1
"""How long a read that found fewer than ``BATCH`` events waits before reading what arrived meanwhile.
The decision log and the presence history are read by reports and replays, never by routing, so a
tenth of a second of delay costs nothing; at tens of arrivals per second a read otherwise finds one
event, and the log would be one INSERT per event instead of one per batch."""

# what a stream event means in the log; offer_revoked is read by its reason
_KINDS = {
    "offer": "offered",
    "assigned": "assigned",
    "step_changed": "step_changed",
    "preference_expired": "preference_expired",
    "transferred": "transferred",
    "transfer_failed": "transfer_failed",
    "overflowed": "overflowed",
}
_REVOKED = {"timeout": "missed", "rejected": "rejected", "disconnected": "revoked"}
_NOT_DETAIL = ("interaction_id", "agent_id")


def decision_of(kind: str, data: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]] | None:
    """The log entry of one stream event (kind, agent, detail), or None if it is no routing decision."""
    if kind == "offer_revoked":
        logged = _REVOKED.get(str(data.get("reason")))
    else:
        logged = _KINDS.get(kind)
    if logged is None:
        return None
    detail = {k: v for k, v in data.items() if k not in _NOT_DETAIL}
    if kind == "offer" and detail.get("why", {}).get("passed_over") == {}:
        detail["why"]["passed_over"] = []  # Lua's cjson writes an empty list as {}
    agent = data.get("agent_id")
    return logged, str(agent) if agent else None, detail


def _at(event_id: str) -> datetime:
    return datetime.fromtimestamp(int(event_id.split("-", 1)[0]) / 1000, UTC)


class DecisionLog:
    """Records the routing events of this domain's stream (see the module's docstring)."""

    def __init__(self, pool: asyncpg.Pool, engine: Engine, node: Node, domain: str) -> None:
        self.pool = pool
        self.engine = engine
        self.node = node
        self.domain = domain

    async def _ensure_group(self) -> None:
        try:
            await self.engine.redis.xgroup_create(self.engine.keys.events, GROUP, id="0", mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def record(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        """Record a batch (its decisions and its changes of presence in one statement), then acknowledge
        it (an entry that cannot be read is acknowledged and logged)."""
        found_all: list[tuple[str, uuid.UUID, str, str | None, dict[str, Any], datetime]] = []
        changes: list[presence.StateRow] = []
        # what the record follows after the batch, in the stream's order: a warm transfer not taken (None),
        # a move between queues (from, to)
        follow: list[tuple[uuid.UUID, tuple[str, str] | None]] = []
        for event_id, fields in entries:
            try:
                data = json.loads(fields.get("data", "{}"))
            except ValueError:
                log.error("decisions.unreadable", event_id=event_id)
                continue
            kind = fields.get("type", "")
            if kind == "agent_state":
                change = change_of(str(event_id), data)
                if change is not None:
                    changes.append(change)
                continue
            found = decision_of(kind, data)
            if found is None:
                continue
            try:
                iid = uuid.UUID(str(data.get("interaction_id")))
            except ValueError:
                continue
            logged, agent, detail = found
            found_all.append((str(event_id), iid, logged, agent, detail, _at(str(event_id))))
            if logged == "transfer_failed" and data.get("warm_of"):
                follow.append((iid, None))
            elif logged == "overflowed" and data.get("queue") and data.get("from"):
                follow.append((iid, (str(data["from"]), str(data["queue"]))))
        await routing.record_events(self.pool, self.domain, found_all, changes)
        for iid, moved in follow:
            if moved is None:
                # a warm transfer the target did not take: its copy left the live index, the record follows
                await interactions.close(self.pool, self.domain, iid, "ended", "warm transfer not taken")
            else:
                # the live index moved it between queues (timed overflow, a bot's move): the record follows
                await interactions.move_queue(self.pool, self.domain, iid, *moved)
        if entries:
            await self.engine.redis.xack(self.engine.keys.events, GROUP, *[str(i) for i, _ in entries])

    async def _read(self, count: int, block: int | None) -> list[tuple[str, dict[str, str]]] | None:
        """New entries for this consumer (``block`` ms at most, None: answer at once), or None when Redis
        was flushed (while this read was blocked, or before it): the group is created on the new stream."""
        try:
            batch: list[tuple[str, list[tuple[str, dict[str, str]]]]] = await self.engine.redis.xreadgroup(  # type: ignore[assignment]
                GROUP, self.node.id, {self.engine.keys.events: ">"}, count=count, block=block
            )
        except redis.exceptions.ResponseError as exc:
            if "NOGROUP" not in str(exc) and "UNBLOCKED" not in str(exc):
                raise
            await self._ensure_group()
            return None
        return [(str(i), f) for _stream, entries in batch or [] for i, f in entries]

    async def step(self) -> None:
        entries = await self._read(BATCH, BLOCK_MS)
        if entries is None:
            return
        if entries and len(entries) < BATCH:
            # gather: what arrives within the linger joins this batch (see LINGER_S)
            await asyncio.sleep(LINGER_S)
            more = await self._read(BATCH - len(entries), None)
            entries += more or []
        if entries:
            await self.record(entries)
            return
        claimed: list[Any] = await self.engine.redis.xautoclaim(
            self.engine.keys.events, GROUP, self.node.id, CLAIM_IDLE_MS, "0-0", count=BATCH
        )
        await self.record([(str(i), f) for i, f in claimed[1] if f])

    async def run(self, stop: asyncio.Event) -> None:
        """Record until ``stop`` is set. A blocking read does not give way to cancellation, so the loop
        reads in short blocks and checks the flag between them; a failed round is logged and retried
        (PostgreSQL or Redis away: the entries stay pending and are recorded once they are back)."""
        task = asyncio.current_task()
        while not stop.is_set():
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except RETRIED as exc:
                log.warning("decisions.round_failed", error=type(exc).__name__)
                await asyncio.sleep(0.5)
            except Exception:  # the log must outlive one bad round (it is retried from the pending entries)
                log.exception("decisions.round_failed")
                await asyncio.sleep(1)
            if task is not None and task.cancelling():
                # a cancellation that a round swallowed still stops the loop: redis-py's asyncio client can
                # return normally (or fail as a connection error) from a command whose task was cancelled
                # during it, and the loop would go on until `stop`, which a cancelled owner never sets
                raise asyncio.CancelledError


RETRIED: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    *UNAVAILABLE,
)

DECISIONS = web.AppKey("decisions", DecisionLog)
