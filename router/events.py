"""The event stream: every change to the live index (from the Lua scripts) and to the record (from
Python) is appended to one Redis stream. Each router process reads it and forwards what concerns
its own sockets: offers to the agents connected here, statistics to supervisors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import redis.exceptions
import structlog

from router.state import Runtime

log = structlog.get_logger("router.events")

STREAM_MAXLEN = 100_000

Handler = Callable[[str, str, dict[str, Any]], Awaitable[None]]


async def publish(rt: Runtime, kind: str, data: dict[str, Any]) -> str:
    event_id = await rt.redis.xadd(
        rt.engine.keys.events,
        {"type": kind, "data": json.dumps(data, default=str)},
        maxlen=STREAM_MAXLEN,
        approximate=True,
    )
    return str(event_id)


async def last_event_id(rt: Runtime) -> str:
    info = await rt.redis.xrevrange(rt.engine.keys.events, count=1)
    return str(info[0][0]) if info else "0-0"


async def read_after(rt: Runtime, after: str, count: int = 1000) -> list[tuple[str, str, dict[str, Any]]]:
    """Events after an id (for supervisors resuming)."""
    rows: list[tuple[str, dict[str, str]]] = await rt.redis.xrange(  # type: ignore[assignment]
        rt.engine.keys.events, min=f"({after}", count=count
    )
    return [(str(i), f["type"], json.loads(f["data"])) for i, f in rows]


BLOCK_MS = 250


async def pump(rt: Runtime, handler: Handler, stop: asyncio.Event) -> None:
    """Read the stream from its current end and hand every event to ``handler`` until ``stop`` is set.

    A blocking XREAD does not give way to task cancellation, so the loop reads in short blocks and
    checks the flag between them: shutdown takes at most one block."""
    last = await last_event_id(rt)
    while not stop.is_set():
        try:
            batch: list[tuple[str, list[tuple[str, dict[str, str]]]]] = await rt.redis.xread(  # type: ignore[assignment]
                {rt.engine.keys.events: last}, block=BLOCK_MS, count=500
            )
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            log.warning("events.read_failed", error=type(exc).__name__)

            await asyncio.sleep(0.5)
            continue
        for _stream, entries in batch:
            for event_id, fields in entries:
                last = str(event_id)
                try:
                    data = json.loads(fields.get("data", "{}"))
                    await handler(last, fields.get("type", ""), data)
                except Exception:  # one bad event must not stop the pump; it is logged with its id
                    log.exception("events.handler_failed", event_id=last, type=fields.get("type"))
        if not batch:
            # the stream may have been flushed with Redis: start again from its (new) end
            if not await rt.redis.exists(rt.engine.keys.events):
                last = "0-0"
