"""The event stream: every change to the live index (from the Lua scripts) and to the record (from
Python) is appended to one Redis stream. Each router process reads it and forwards what concerns
its own sockets: offers to the agents connected here, statistics to supervisors."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from context_store.records import JourneyEvent, Message, MessageStatus, Note
from router.backends import UNAVAILABLE
from router.routing.engine import Engine
from router.routing.keys import Keys
from router.routing.pipe import pipe_for

log = structlog.get_logger("router.routing.events")

STREAM_MAXLEN = 100_000

Handler = Callable[[str, str, dict[str, Any]], Awaitable[None]]


async def publish(engine: Engine, kind: str, data: dict[str, Any]) -> str:
    event_id = await engine.redis.xadd(
        engine.keys.events,
        {"type": kind, "data": json.dumps(data, default=str)},
        maxlen=STREAM_MAXLEN,
        approximate=True,
    )
    return str(event_id)


async def publish_message_status(
    engine: Engine, message: Message | MessageStatus, status: str, detail: str | None
) -> None:
    """Tell the agent (wherever its desktop is) how its reply is doing."""
    await publish(
        engine,
        "message_status",
        {
            "interaction_id": str(message.interaction_id),
            "message_id": str(message.id),
            "status": status,
            "detail": detail,
            "agent_id": message.agent_id,
        },
    )


def jsonable(record: Message | Note | JourneyEvent) -> dict[str, Any]:
    """A stored record as JSON data: timestamps in ISO 8601, UUIDs as strings."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        v = getattr(record, f.name)
        out[f.name] = (
            v.isoformat() if hasattr(v, "isoformat") else (str(v) if isinstance(v, uuid.UUID) else v)
        )
    return out


TEXT_EVENTS = frozenset({"message", "message_status", "note", "whisper"})
"""Event kinds that carry what a person wrote (a message body, a provider's delivery detail, an agent's
note, a supervisor's whisper)."""


async def forget(engine: Engine, namespace: str, interaction_ids: set[str], page: int = 1000) -> int:
    """Delete from the stream of routing domain ``namespace`` (this one's or another's on the same Redis)
    the events of these interactions that carry a person's text (an erasure: a supervisor replaying the
    stream must not read an erased body). Other events, which carry ids only, stay. One pass over the
    bounded stream, each page's matches removed with one XDEL; returns how many."""
    if not interaction_ids:
        return 0
    stream = Keys.for_namespace(namespace).events
    removed, start = 0, "-"
    while True:
        rows: list[tuple[str, dict[str, str]]] = await engine.redis.xrange(  # type: ignore[assignment]
            stream, min=start, count=page
        )
        doomed = [
            str(event_id)
            for event_id, fields in rows
            if fields.get("type") in TEXT_EVENTS
            and json.loads(fields.get("data", "{}")).get("interaction_id") in interaction_ids
        ]
        if doomed:
            removed += int(await engine.redis.xdel(stream, *doomed))
        if len(rows) < page:
            return removed
        start = f"({rows[-1][0]}"


async def last_event_id(engine: Engine) -> str:
    info = await engine.redis.xrevrange(engine.keys.events, count=1)
    return str(info[0][0]) if info else "0-0"


async def read_after(engine: Engine, after: str, count: int = 1000) -> list[tuple[str, str, dict[str, Any]]]:
    """Events after an id (for supervisors resuming)."""
    rows: list[tuple[str, dict[str, str]]] = await engine.redis.xrange(  # type: ignore[assignment]
        engine.keys.events, min=f"({after}", count=count
    )
    return [(str(i), f["type"], json.loads(f["data"])) for i, f in rows]


BLOCK_MS = 250
BATCH = 500


class Dispatcher:
    """Hands events to the handler concurrently across agents, in stream order for each agent.

    An offer awaits PostgreSQL for the context record before its frame goes out; handled one after the
    other, every event would wait for every earlier one, and offers would queue behind each other's
    round trips. Each agent (and the group of events that name none) gets a queue of its own, drained by
    one task while it has events: an event whose handling never waits (most of them: a frame queued, a
    counter marked) is handled right after the one before it, in the same turn of the event loop. (A task
    per event, each waiting for the one before, advanced a busy key by one event per turn of the loop:
    under a burst of a thousand contacts the events read piled up faster than they were handled.)"""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self._queues: dict[str, collections.deque[tuple[str, str, dict[str, Any]]]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self.pending = 0
        """Events read and not yet handled: this process's backlog (load shedding reads it)."""

    def submit(self, event_id: str, kind: str, data: dict[str, Any]) -> None:
        self.pending += 1
        key = str(data.get("agent_id") or "")
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = collections.deque()
            self._workers[key] = asyncio.create_task(self._drain(key, queue))
        queue.append((event_id, kind, data))

    async def _drain(self, key: str, queue: collections.deque[tuple[str, str, dict[str, Any]]]) -> None:
        try:
            while queue:
                event_id, kind, data = queue[0]
                try:
                    await self.handler(event_id, kind, data)
                except Exception:  # one bad event must not stop the others; it is logged with its id
                    log.exception("events.handler_failed", event_id=event_id, type=kind)
                finally:
                    queue.popleft()
                    self.pending -= 1
        finally:
            # nothing awaits between the last check and here: an event submitted meanwhile found this
            # queue and was handled above; once it is gone, the next event starts a new one
            self.pending -= len(queue)  # cancelled (shutdown): what was left is not handled here
            del self._queues[key]
            del self._workers[key]

    async def drain(self) -> None:
        if self._workers:
            await asyncio.wait(list(self._workers.values()), timeout=5)


async def pump(
    engine: Engine, handler: Handler, stop: asyncio.Event, dispatcher: Dispatcher | None = None
) -> None:
    """Read the stream from its current end and dispatch every event until ``stop`` is set.

    A blocking XREAD does not give way to task cancellation, so the loop reads in short blocks and
    checks the flag between them: shutdown takes at most one block."""
    dispatcher = dispatcher or Dispatcher(handler)
    last = await last_event_id(engine)
    read = StreamReader(engine)
    try:
        while not stop.is_set():
            try:
                batch = await read(last)
            except UNAVAILABLE as exc:  # on a Redis Cluster also the slot's master failing over
                log.warning("events.read_failed", error=type(exc).__name__)
                await asyncio.sleep(0.5)
                continue
            for event_id, fields in batch:
                last = event_id
                try:
                    data = json.loads(fields.get("data", "{}"))
                except ValueError:
                    log.error("events.unreadable", event_id=last, type=fields.get("type"))
                    continue
                dispatcher.submit(last, fields.get("type", ""), data)
            if not batch:
                # the stream may have been flushed with Redis: start again from its (new) end
                try:
                    if not await engine.redis.exists(engine.keys.events):
                        last = "0-0"
                except UNAVAILABLE as exc:  # read again after the pause, as a failed read does
                    log.warning("events.read_failed", error=type(exc).__name__)
                    await asyncio.sleep(0.5)
    finally:
        await read.close()
    await dispatcher.drain()


class StreamReader:
    """The pump's blocking ``XREAD`` of the domain's stream: on a single server over a lean connection of
    its own (``pipe.py``; a blocking read would hold up any call sharing its connection), else (Redis
    Cluster, TLS) through redis-py."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._pipe = pipe_for(engine.redis, connections=1)

    async def __call__(self, after: str) -> list[tuple[str, dict[str, str]]]:
        stream = self.engine.keys.events
        if self._pipe is None:
            batch: list[tuple[str, list[tuple[str, dict[str, str]]]]] = await self.engine.redis.xread(  # type: ignore[assignment]
                {stream: after}, block=BLOCK_MS, count=BATCH
            )
            return [(str(i), f) for _, entries in batch for i, f in entries]
        reply = await self._pipe.execute("XREAD", "COUNT", BATCH, "BLOCK", BLOCK_MS, "STREAMS", stream, after)
        if not reply:
            return []
        out: list[tuple[str, dict[str, str]]] = []
        for _stream, entries in reply:
            for event_id, flat in entries:
                out.append(
                    (
                        _text(event_id),
                        {_text(k): _text(v) for k, v in zip(flat[::2], flat[1::2], strict=True)},
                    )
                )
        return out

    async def close(self) -> None:
        if self._pipe is not None:
            await self._pipe.close()


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
