"""What an agent does with work: accept or reject offers, write to the customer, take notes, complete,
transfer or escalate, end wrap-up. Live-state decisions are Lua scripts; the record follows in
PostgreSQL, and the reconciler repairs the record if a process dies between the two."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from context_store import customers as cstore
from context_store import interactions as istore
from context_store.db import q
from router.contracts import Channel, InteractionStatus, MessageIn
from router.errors import BadRequest, Conflict, Forbidden, NotFound, OfferGone
from router.metrics import Metrics
from router.routing.directory import Directory
from router.routing.engine import Engine
from router.routing.stats import Statistics
from router.service.ingest import Ingest

log = structlog.get_logger("router.service.work")


class Work:
    """What an agent does with the work it is offered and holds."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        engine: Engine,
        directory: Directory,
        stats: Statistics,
        metrics: Metrics,
        ingest: Ingest,
    ) -> None:
        self.pool = pool
        self.engine = engine
        self.directory = directory
        self.stats = stats
        self.metrics = metrics
        self.ingest = ingest

    async def _held(self, agent_id: str, interaction_id: str) -> dict[str, Any]:
        """The interaction, if this agent holds it (assigned or in wrap-up)."""
        iid = cstore.parse_uuid(interaction_id)
        row = await istore.get_interaction(self.pool, iid, full=False) if iid else None
        if row is None:
            raise NotFound(f"interaction {interaction_id} not found")
        if row["agent_id"] != agent_id or row["status"] not in (
            InteractionStatus.assigned,
            InteractionStatus.wrapup,
        ):
            raise Forbidden(f"interaction {interaction_id} is not held by you")
        return row

    async def accept(self, agent_id: str, offer_id: str) -> str:
        started = time.perf_counter()
        interaction_id = await self.engine.accept(agent_id, offer_id)
        assigned = await self.pool.fetchval(q("interaction_assign"), uuid.UUID(interaction_id), agent_id)
        if assigned is None:  # the customer left between the offer and the accept
            await self.engine.release(agent_id, interaction_id, "customer_left")
            raise OfferGone("the customer left before the offer was accepted")
        await istore.add_history(self.pool, interaction_id, "assigned", agent_id, offer_id=offer_id)
        self.metrics.inc("offers_accepted_total")
        self.metrics.observe("accept", time.perf_counter() - started)
        log.info("offer.accepted", agent_id=agent_id, interaction_id=interaction_id, offer_id=offer_id)
        return interaction_id

    async def reject(self, agent_id: str, offer_id: str, reason: str | None) -> str:
        interaction_id = await self.engine.reject(agent_id, offer_id)
        await istore.add_history(
            self.pool, interaction_id, "offer_rejected", agent_id, offer_id=offer_id, reason=reason
        )
        self.metrics.inc("offers_rejected_total")
        log.info("offer.rejected", agent_id=agent_id, interaction_id=interaction_id, offer_id=offer_id)
        return interaction_id

    async def complete(
        self, agent_id: str, interaction_id: str, disposition: str | None, summary: str | None
    ) -> float | None:
        """Finish the work; returns the wrap-up end (unix seconds) or None when there is no wrap-up."""
        row = await self._held(agent_id, interaction_id)
        if row["status"] == InteractionStatus.wrapup:
            raise Conflict("already completed; in wrap-up")
        queue = self.directory.queues.get(row["queue"])
        wrap_ms = int((queue.wrapup_seconds if queue else 0) * 1000)
        until_ms = await self.engine.complete(agent_id, interaction_id, wrap_ms)
        iid = row["id"]
        if until_ms:
            await self.pool.execute(q("interaction_wrapup"), iid, disposition, summary, _ts(until_ms / 1000))
            await istore.add_history(self.pool, iid, "wrapup", agent_id, disposition=disposition)
        else:
            await self.pool.execute(q("interaction_wrapup"), iid, disposition, summary, None)
            await self.pool.execute(q("interaction_close"), iid, "completed", None)
            await istore.add_history(self.pool, iid, "completed", agent_id, disposition=disposition)
        if row["assigned_at"] is not None:
            await self.stats.record_handle_time(row["queue"], time.time() - row["assigned_at"].timestamp())
        await cstore.add_journey_event(
            self.pool,
            row["customer_id"],
            "interaction.completed",
            {"channel": row["channel"], "agent_id": agent_id, "disposition": disposition},
            interaction_id=iid,
        )
        self.metrics.inc("interactions_completed_total", channel=row["channel"])
        return until_ms / 1000 if until_ms else None

    async def end_wrapup(self, agent_id: str, interaction_id: str) -> None:
        row = await self._held(agent_id, interaction_id)
        if row["status"] != InteractionStatus.wrapup:
            raise Conflict("not in wrap-up: complete it first")
        await self.engine.release(agent_id, interaction_id, "wrapup_ended")
        await self.close_after_wrapup(interaction_id, agent_id)

    async def close_after_wrapup(self, interaction_id: str, agent_id: str | None) -> None:
        closed = await self.pool.fetchval(
            q("interaction_close"), uuid.UUID(interaction_id), "completed", None
        )
        if closed is not None:
            await istore.add_history(self.pool, interaction_id, "completed", agent_id)

    async def add_note(self, agent_id: str, interaction_id: str, body: str) -> dict[str, Any]:
        row = await self._held(agent_id, interaction_id)
        note = await istore.insert_note(self.pool, row["customer_id"], row["id"], agent_id, body)
        return note

    async def send_message(
        self, agent_id: str, interaction_id: str, body: str, subject: str | None = None
    ) -> dict[str, Any]:
        row = await self._held(agent_id, interaction_id)
        if row["channel"] == Channel.voice:
            raise BadRequest("a voice interaction has no text channel; escalate to one to write")
        if subject:
            await self.pool.execute(q("interaction_set_subject"), row["id"], subject)
        message, _ = await self.ingest.add_message(
            str(row["id"]), MessageIn(direction="outbound", body=body, agent_id=agent_id)
        )
        return message

    async def transfer(
        self, agent_id: str, interaction_id: str, queue_id: str, channel: Channel | None, note: str | None
    ) -> str:
        """Move the work to another queue (and optionally another channel) in the same conversation. The new
        interaction keeps the original virtual enqueue time, so it does not lose its place; the context
        travels because it belongs to the customer and the conversation."""
        row = await self._held(agent_id, interaction_id)
        if row["status"] != InteractionStatus.assigned:
            raise Conflict("only assigned work can be transferred")
        target = self.directory.queues.get(queue_id)
        if target is None:
            raise BadRequest(
                f"unknown queue {queue_id!r}", errors=[{"loc": ["queue"], "msg": "unknown queue"}]
            )
        new_channel = channel.value if channel else row["channel"]
        if new_channel not in [c.value for c in target.channels]:
            raise BadRequest(
                f"queue {queue_id!r} does not take channel {new_channel}",
                errors=[{"loc": ["channel"], "msg": "not taken by the target queue"}],
            )
        from_kind, from_value = row["from_kind"], row["from_value"]
        if new_channel != row["channel"]:
            from_kind, from_value = await _address_on(self.pool, row, new_channel)
        new_id = uuid.uuid4()
        attributes = dict(row["attributes"])
        attributes.update({"transferred_from_agent": agent_id, "transferred_from_queue": row["queue"]})
        async with self.pool.acquire() as conn, conn.transaction():
            if note:
                await istore.insert_note(conn, row["customer_id"], row["id"], agent_id, note)
            await conn.execute(
                q("interaction_insert"),
                new_id,
                row["customer_id"],
                row["conversation_id"],
                row["id"],
                new_channel,
                f"transfer:{new_id}",
                from_kind,
                from_value,
                queue_id,
                row["priority"],
                attributes,
                row["subject"],
                row["venq_ms"],
            )
            await istore.add_history(conn, new_id, "queued", queue=queue_id, transferred_from=str(row["id"]))
            await conn.execute(q("interaction_close"), row["id"], "transferred", f"transferred to {queue_id}")
            await istore.add_history(
                conn, row["id"], "transferred", agent_id, to_queue=queue_id, to_interaction=str(new_id)
            )
            await cstore.add_journey_event(
                conn,
                row["customer_id"],
                "interaction.transferred",
                {
                    "from_queue": row["queue"],
                    "to_queue": queue_id,
                    "channel": new_channel,
                    "agent_id": agent_id,
                },
                interaction_id=row["id"],
            )
        await self.engine.release(agent_id, interaction_id, "transferred")
        new_row = await istore.get_interaction(self.pool, new_id, full=False)
        assert new_row is not None
        # a transfer hands the work to someone else; an escalation onto another channel may well stay with
        # the agent who made it
        await self.ingest.enqueue_row(new_row, exclude=agent_id if new_channel == row["channel"] else None)
        self.metrics.inc("interactions_transferred_total")
        log.info(
            "interaction.transferred",
            agent_id=agent_id,
            interaction_id=interaction_id,
            to_queue=queue_id,
            new_interaction_id=str(new_id),
        )
        return str(new_id)


async def _address_on(pool: asyncpg.Pool, row: dict[str, Any], channel: str) -> tuple[str, str]:
    """The customer's address on another channel, for an escalation: the reply must go to their e-mail
    address, not to the phone number the chat came from. Refused when the customer has none."""
    if channel == "social" and row["from_kind"] in ("whatsapp", "messenger"):
        return row["from_kind"], row["from_value"]
    identities = {
        r["kind"]: r["value"] for r in await pool.fetch(q("identities_of_customer"), row["customer_id"])
    }
    for kind in Channel[channel].spec.reply_identities:
        if kind in identities:
            value = identities[kind]
            if channel == "social" and kind == "phone":
                return "whatsapp", value.lstrip("+")
            return kind, value
    raise BadRequest(
        f"the customer has no {channel} address to escalate to",
        errors=[{"loc": ["channel"], "msg": f"no {channel} identity for this customer"}],
    )


def _ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


WORK = web.AppKey("work", Work)
