"""The customer's wait (``docs/waiting.md``): where an arrival goes when its queue is closed or full,
what ``GET /v1/queues/{id}`` says of a queue's hours, and a bot's changes to a waiting interaction
(``PATCH /v1/interactions/{id}``).

Timed overflow is the live index's own business (``timers.lua``, ``move.lua``); this module decides at
arrival, before anything is written, and answers for a waiting interaction that is changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import structlog

from context_store import interactions
from context_store.db import parse_uuid
from router.contracts import Channel, QueueConfig
from router.contracts.waiting import InteractionPatch, QueueHours
from router.errors import BadRequest, NotFound, NotWaiting, QueueFull
from router.routing.directory import Directory
from router.routing.engine import Engine
from router.routing.events import publish
from router.routing.hours import Hours

log = structlog.get_logger("router.service.waiting")


@dataclass(frozen=True)
class Arrival:
    """Where a new interaction goes: ``queue``; ``closed`` when it is recorded but not queued (the queue
    is closed and rejects); ``moved`` says why it is not the queue it was meant for."""

    queue: str
    closed: bool = False
    moved: dict[str, str] | None = None


def hours_now(cfg: QueueConfig, now: datetime | None = None) -> QueueHours:
    """A queue's hours as ``GET /v1/queues/{id}`` shows them (all null without hours)."""
    if cfg.hours is None:
        return QueueHours()
    now = now or datetime.now(UTC)
    hours = Hours(cfg.hours)
    is_open = hours.is_open(now)
    return QueueHours(
        open=is_open,
        opens_at=hours.next_opening(now) if is_open else hours.opens_at(now),
        closes_at=hours.closes_at(now),
    )


def opens_at(cfg: QueueConfig, now: datetime | None = None) -> datetime | None:
    """When a closed queue opens next (None when it is open, has no hours, or no opening is planned)."""
    if cfg.hours is None:
        return None
    now = now or datetime.now(UTC)
    hours = Hours(cfg.hours)
    return None if hours.is_open(now) else hours.opens_at(now)


def _target(directory: Directory, queue_id: str, channel: Channel, key: str) -> QueueConfig:
    target = directory.queues.get(queue_id)
    if target is None or channel not in target.channels:
        raise BadRequest(
            f"{key} {queue_id!r} does not take channel {channel.value}",
            errors=[{"loc": ["queue"], "msg": f"{key} {queue_id} cannot take it"}],
        )
    return target


async def arrival(engine: Engine, directory: Directory, queue_id: str, channel: Channel) -> Arrival:
    """Where an arrival meant for ``queue_id`` goes. Closed: ``reject`` records it as closed, ``overflow``
    sends it to ``closed_queue``, ``wait`` queues it there (held until the queue opens). Then, in the queue
    it goes to, ``max_waiting``: beyond it, to ``overflow_queue`` or refused (:class:`QueueFull`). The count
    is read at arrival: arrivals racing for the last place may pass it by the number in flight."""
    cfg = directory.queues[queue_id]
    moved: dict[str, str] | None = None
    if (
        cfg.hours is not None
        and cfg.closed_action != "wait"
        and not Hours(cfg.hours).is_open(datetime.now(UTC))
    ):
        if cfg.closed_action == "reject":
            return Arrival(queue_id, closed=True)
        assert cfg.closed_queue is not None
        _target(directory, cfg.closed_queue, channel, "closed_queue")
        moved = {"from": queue_id, "reason": "closed", "why": f"overflowed from {queue_id}: closed"}
        queue_id, cfg = cfg.closed_queue, directory.queues[cfg.closed_queue]
    if cfg.max_waiting is not None and await engine.waiting(queue_id) >= cfg.max_waiting:
        if cfg.overflow_queue is None:
            raise QueueFull(f"queue {queue_id} has {cfg.max_waiting} interactions waiting, its most")
        _target(directory, cfg.overflow_queue, channel, "overflow_queue")
        moved = {
            "from": moved["from"] if moved else queue_id,
            "reason": "full",
            "why": f"overflowed from {queue_id}: {cfg.max_waiting} waiting",
        }
        queue_id = cfg.overflow_queue
    return Arrival(queue_id, moved=moved)


async def announce_arrival(engine: Engine, interaction_id: str, arrived: Arrival) -> None:
    """An arrival that went to another queue than its own: an ``overflowed`` event (the routing decision
    log and webhooks read it)."""
    if arrived.moved is None:
        return
    await publish(
        engine, "overflowed", {"interaction_id": interaction_id, "queue": arrived.queue, **arrived.moved}
    )


class Waiting:
    """A bot's changes to a waiting interaction."""

    def __init__(self, pool: asyncpg.Pool, engine: Engine, directory: Directory) -> None:
        self.pool = pool
        self.engine = engine
        self.directory = directory

    async def patch(self, interaction_id: str, change: InteractionPatch) -> None:
        """Merge attributes into a waiting interaction and move it to ``change.queue`` at its place.

        The record is changed in a transaction that holds the row; the live move runs inside it, so a
        move the live index refuses (the interaction is being offered) changes nothing, and a record that
        cannot commit after a move is set right from the ``overflowed`` event the move emitted."""
        iid = parse_uuid(interaction_id)
        it = await interactions.get(self.pool, self.engine.namespace, iid) if iid else None
        if it is None:
            raise NotFound(f"interaction {interaction_id} not found")
        assert iid is not None
        if change.queue is not None:
            _target(self.directory, change.queue, Channel[it.channel], "queue")
        async with self.pool.acquire() as conn, conn.transaction():
            if not await interactions.patch_waiting(
                conn, self.engine.namespace, iid, change.attributes, change.queue
            ):
                raise NotWaiting(f"interaction {interaction_id} is {it.status}, not waiting")
            if change.queue is not None and change.queue != it.queue:
                status, _ = await self.engine.move(str(iid), change.queue)
                if status not in ("moved", "same"):
                    raise NotWaiting(
                        f"interaction {interaction_id} is {status or 'not live'} now, not waiting; retry"
                    )
        log.info(
            "interaction.patched",
            interaction_id=interaction_id,
            queue=change.queue,
            attributes=sorted(change.attributes),
        )
