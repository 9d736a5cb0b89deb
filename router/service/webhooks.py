"""Webhooks: the engine's events, posted to other systems, durably and in order per interaction.

Two loops run in every router process:

- the **fan-out** copies events from the Redis stream into the PostgreSQL outbox
  (``webhook_deliveries``), one row per subscribed webhook. It holds the stream's cursor row locked
  (``FOR UPDATE SKIP LOCKED``) while it reads a batch, inserts the rows and moves the cursor in the same
  transaction: one process at a time fans out, and an event is queued once whatever process stops when.
- the **sender** claims due deliveries with a lease (``FOR UPDATE SKIP LOCKED`` again, so several
  processes share the work without sending one twice) and posts them, signed. Only the oldest pending
  delivery of each interaction (or agent) of a webhook can be claimed, so a receiver that was down gets
  an interaction's events in stream order once it is back. A failed attempt is retried with exponential
  backoff and jitter until the delivery's retry window (a day by default) is over.

Deliveries are at least once: a receiver deduplicates on the event ``id``."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
import redis.exceptions
import structlog
from aiohttp import web
from yarl import URL

from context_store import webhooks as store
from context_store.records import DeliveryClaim
from context_store.webhooks import NewDelivery
from router.backends import UNAVAILABLE
from router.config import WebhooksSection
from router.contracts.webhooks import WEBHOOK_TYPES, matches, parse_event_id
from router.routing.engine import Engine
from router.routing.events import last_event_id
from router.service.addresses import GuardedResolver, UnsafeAddress, address_literal, check_url

log = structlog.get_logger("router.service.webhooks")

FANOUT_BLOCK_MS = 250
FANOUT_BATCH = 500
FANOUT_PAUSE = 0.1
FANOUT_IDLE_PAUSE = 1.0
"""With no webhook subscribed the fan-out only moves the cursor past the events: once a second, not ten
times (a webhook created through this process cuts the pause short)."""
USER_AGENT = "omniroute-webhooks/1"
PRUNE_SECONDS = 300
# a backend restarting or refusing a statement: the round is tried again
BACKEND_ERRORS: tuple[type[BaseException], ...] = (
    *UNAVAILABLE,
    asyncpg.PostgresError,
    redis.exceptions.RedisError,
)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256, keyed with the secret, of ``<timestamp>.<body>``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff(attempts: int, base: float, cap: float) -> float:
    """The delay before the next attempt after ``attempts`` failed ones: doubling from ``base`` up to
    ``cap``, half of it random (so receivers coming back are not hit by every sender at once)."""
    delay = min(cap, base * 2.0 ** min(attempts - 1, 30))
    return delay / 2 + random.uniform(0, delay / 2)


def order_key(data: dict[str, Any]) -> str:
    """What a webhook's events are ordered by: the interaction, else the agent, else the customer (consent,
    merges), else nothing."""
    if data.get("interaction_id"):
        return f"interaction:{data['interaction_id']}"
    if data.get("agent_id"):
        return f"agent:{data['agent_id']}"
    if data.get("customer_id"):
        return f"customer:{data['customer_id']}"
    return ""


def event_body(event_id: str, webhook_type: str, data: dict[str, Any]) -> str:
    """The delivery's body: compact JSON, ASCII only (any character the event holds is escaped, never
    dropped), the same bytes at every attempt and replay."""
    ms, _ = parse_event_id(event_id)
    at = datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"id": event_id, "type": webhook_type, "at": at, "data": data}, separators=(",", ":"))


class Webhooks:
    def __init__(self, pool: asyncpg.Pool, engine: Engine, settings: WebhooksSection) -> None:
        self.pool = pool
        self.engine = engine
        self.settings = settings
        self._wake = asyncio.Event()
        self._seen: str | None = None  # the stream cursor as this process last saw it
        self._none_subscribed = False  # what the last batch found
        self._subscribed = asyncio.Event()

    @property
    def stream(self) -> str:
        return self.engine.keys.events

    async def check_url(self, url: str) -> None:
        await check_url(url, self.settings.allow_private)

    # ------------------------------------------------------------ fan-out

    async def fanout_once(self, block_ms: int = FANOUT_BLOCK_MS) -> int | None:
        """Copy the next batch of events into the outbox; the number of events passed, or None when
        another process holds the cursor.

        It first waits on the stream, holding no PostgreSQL connection, until there is something after
        the cursor as last seen here; only then does it take the cursor's lock. It notes the stream's
        last event before it reads the subscriptions, so every event up to that one happened before the
        read: a webhook created later is not owed them. With no webhook the cursor moves to that event
        and nothing is read (an idle domain's batch parses no events); otherwise the events up to it are
        read and queued."""
        if self._seen is not None:
            await self.engine.redis.xread({self.stream: self._seen}, block=block_ms, count=1)
        queued: list[NewDelivery] = []
        async with self.pool.acquire() as conn, conn.transaction():
            last = await store.lock_cursor(conn, self.stream)
            if last is None:
                self._seen = None  # another process moved it: look again once it lets go
                return None
            self._seen = last
            tail = await last_event_id(self.engine)
            if parse_event_id(tail) <= parse_event_id(last):
                return 0
            subscriptions = await store.subscriptions(conn, self.engine.namespace)
            self._none_subscribed = not subscriptions
            rows: list[tuple[str, dict[str, str]]] = (
                await self.engine.redis.xrange(self.stream, min=f"({last}", max=tail, count=FANOUT_BATCH)  # type: ignore[assignment]
                if subscriptions
                else []
            )
            entries = [(str(event_id), fields) for event_id, fields in rows]
            if not entries:  # no webhook, or the events were trimmed away meanwhile: nobody is owed them
                await store.set_cursor(conn, self.stream, tail)
                self._seen = tail
                return 0
            for event_id, fields in entries:
                webhook_type = WEBHOOK_TYPES.get(fields.get("type", ""))
                targets = [s.id for s in subscriptions if webhook_type and matches(s.events, webhook_type)]
                if webhook_type is None or not targets:
                    continue
                try:
                    data = json.loads(fields.get("data", "{}"))
                except ValueError:
                    log.error("webhook.event_unreadable", event_id=str(event_id), type=fields.get("type"))
                    continue
                eid = event_id
                body, key, (ms, seq) = (
                    event_body(eid, webhook_type, data),
                    order_key(data),
                    parse_event_id(eid),
                )
                queued += [NewDelivery(t, eid, ms, seq, webhook_type, key, body) for t in targets]
            await store.enqueue(conn, queued, self.settings.retry_for_seconds)
            await store.set_cursor(conn, self.stream, entries[-1][0])
        self._seen = entries[-1][0]
        if queued:
            self._wake.set()
        return len(entries)

    async def _fanout_loop(self) -> None:
        await store.init_cursor(self.pool, self.stream, await last_event_id(self.engine))
        while True:
            try:
                done = await self.fanout_once()
            except BACKEND_ERRORS as exc:
                log.warning("webhook.fanout_failed", error=type(exc).__name__)
                await asyncio.sleep(1)
                continue
            except Exception:  # the loop must outlive any one bad round; it is logged with its trace
                log.exception("webhook.fanout_crashed")
                await asyncio.sleep(1)
                continue
            if done is None:  # another process fans out; take over if it stops
                await asyncio.sleep(self.settings.poll_seconds)
            elif done < FANOUT_BATCH:
                # caught up: gather the next events for a moment, so a busy stream costs a few
                # transactions a second rather than one per event
                await self._pause()

    async def _pause(self) -> None:
        if not self._none_subscribed:
            await asyncio.sleep(FANOUT_PAUSE)
            return
        try:
            await asyncio.wait_for(self._subscribed.wait(), FANOUT_IDLE_PAUSE)
        except TimeoutError:
            pass
        self._subscribed.clear()

    def subscribed(self) -> None:
        """A webhook was created here: the fan-out's next batch comes at its usual pace."""
        self._none_subscribed = False
        self._subscribed.set()

    # ------------------------------------------------------------ sending

    async def _send_loop(self) -> None:
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(self.settings.allow_private), limit=self.settings.concurrency
        )
        lease = 2 * self.settings.timeout_seconds + 5  # an attempt never outlives its lease
        in_flight: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession(connector=connector) as session:
            try:
                while True:
                    free = self.settings.concurrency - len(in_flight)
                    claims = []
                    if free > 0:
                        try:
                            claims = await store.claim(self.pool, free, lease)
                        except BACKEND_ERRORS as exc:
                            log.warning("webhook.claim_failed", error=type(exc).__name__)
                            await asyncio.sleep(1)
                    for claim in claims:
                        task = asyncio.create_task(self._deliver(session, claim))
                        in_flight.add(task)
                        task.add_done_callback(self._finished(in_flight))
                    if not claims:
                        try:
                            await asyncio.wait_for(self._wake.wait(), self.settings.poll_seconds)
                        except TimeoutError:
                            pass
                        self._wake.clear()
            finally:
                for task in in_flight:
                    task.cancel()

    def _finished(self, in_flight: set[asyncio.Task[None]]) -> Any:
        def done(task: asyncio.Task[None]) -> None:
            in_flight.discard(task)
            self._wake.set()  # the next event of that interaction may go now

        return done

    async def _deliver(self, session: aiohttp.ClientSession, claim: DeliveryClaim) -> None:
        body = claim.body.encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Omniroute-Event": claim.type,
            "X-Omniroute-Event-Id": claim.event_id,
            "X-Omniroute-Webhook-Id": str(claim.webhook_id),
            "X-Omniroute-Timestamp": timestamp,
            "X-Omniroute-Signature": signature(claim.secret, timestamp, body),
        }
        status: int | None = None
        error: str
        try:
            await _check_literal(claim.url, self.settings.allow_private)
            async with session.post(
                claim.url,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout_seconds),
            ) as resp:
                status = resp.status
                await resp.content.readany()  # a little of the answer, never all of a huge one
            error = "" if 200 <= status < 300 else f"HTTP {status}"
        except UnsafeAddress as exc:
            error = f"refused: {exc}"
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        try:
            if not error:
                assert status is not None
                await store.done(self.pool, claim.seq, claim.generation, status)
                log.info("webhook.delivered", webhook_id=str(claim.webhook_id), event_id=claim.event_id)
                return
            delay = backoff(claim.attempts, self.settings.retry_base_seconds, self.settings.retry_max_seconds)
            outcome = await store.retry(self.pool, claim.seq, claim.generation, delay, status, error)
        except BACKEND_ERRORS as exc:  # the lease runs out and the delivery is tried again
            log.warning("webhook.record_failed", event_id=claim.event_id, error=type(exc).__name__)
            return
        log.info(
            "webhook.failed" if outcome == "failed" else "webhook.retry",
            webhook_id=str(claim.webhook_id),
            event_id=claim.event_id,
            attempts=claim.attempts,
            error=error,
            retry_in=round(delay, 3),
        )

    async def _prune_loop(self) -> None:
        """Forget deliveries that are over once they are older than ``keep_days`` (any process may: the
        statement is idempotent), a batch at a time so no lock is held long."""
        while True:
            await asyncio.sleep(PRUNE_SECONDS)
            try:
                while await store.prune(self.pool, self.settings.keep_days * 86400) > 0:
                    await asyncio.sleep(0)
            except BACKEND_ERRORS as exc:
                log.warning("webhook.prune_failed", error=type(exc).__name__)

    async def run(self) -> None:
        await asyncio.gather(self._fanout_loop(), self._send_loop(), self._prune_loop())


async def _check_literal(url: str, allow_private: bool) -> None:
    """An address literal never reaches the resolver, so it is checked here (a name is checked by the
    resolver the delivery connects through)."""
    if address_literal(URL(url).raw_host or "") is not None:
        await check_url(url, allow_private)


WEBHOOKS = web.AppKey("webhooks", Webhooks)
