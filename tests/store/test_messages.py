"""Messages: stored once per provider id, delivery statuses that only move forward, redelivery after
a restart, e-mail threading; notes."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from context_store import conversations, interactions, messages, notes
from context_store.records import Interaction, Message, MessageRef, MessageStatus, Note, ThreadRef
from tests.store.conftest import NS, new_customer, new_interaction


async def _chat(pool: asyncpg.Pool) -> Interaction:
    return await new_interaction(pool, await new_customer(pool), channel="chat")


async def _reply(pool: asyncpg.Pool, it: Interaction, body: str = "hi", **extra: str) -> Message:
    m = await messages.insert(
        pool,
        interaction_id=it.id,
        conversation_id=it.conversation_id,
        channel=it.channel,
        direction="outbound",
        body=body,
        agent_id="a1",
        status="pending",
        **extra,
    )
    assert m is not None
    return m


async def test_a_provider_id_is_stored_once_per_channel(pool: asyncpg.Pool) -> None:
    it = await _chat(pool)
    kw = {"interaction_id": it.id, "conversation_id": it.conversation_id, "direction": "inbound"}
    first = await messages.insert(
        pool, channel="chat", body="hello", external_id="m1", attachments=[{"url": "https://x/1"}], **kw
    )
    assert isinstance(first, Message)
    assert (first.interaction_id, first.direction, first.body, first.external_id, first.attachments) == (
        it.id,
        "inbound",
        "hello",
        "m1",
        [{"url": "https://x/1"}],
    )
    assert await messages.insert(pool, channel="chat", body="hello again", external_id="m1", **kw) is None
    assert (
        await messages.insert(pool, channel="sms", body="other channel", external_id="m1", **kw) is not None
    )
    no_id = [await messages.insert(pool, channel="chat", body="x", **kw) for _ in range(2)]
    assert all(m is not None for m in no_id), "messages without a provider id are never duplicates"
    assert await messages.get_by_external(pool, "chat", "m1") == first
    assert await messages.get(pool, first.id) == first
    found = await interactions.arrival_lookup(pool, NS, "chat", "-", "m1", [])
    assert found.message == MessageRef(first.id, it.id)
    assert (await interactions.arrival_lookup(pool, NS, "chat", "-", "nope", [])).message is None
    assert await messages.get(pool, uuid.uuid4()) is None


async def test_delivery_status_only_moves_forward(pool: asyncpg.Pool) -> None:
    it = await _chat(pool)
    m = await _reply(pool, it)
    assert await messages.pending_ids(pool, NS) == [m.id]
    assert await messages.set_status(pool, m.id, "retrying", "HTTP 502") == MessageStatus(
        m.id, it.id, "retrying", "a1"
    )
    assert await messages.pending_ids(pool, NS) == [m.id], "a retrying message is still to deliver"
    assert await messages.set_status(pool, m.id, "sent", None, "SM42") is not None
    assert await messages.pending_ids(pool, NS) == []
    assert await messages.set_status(pool, m.id, "queued", "late", None) is None, "never back to in flight"
    assert (await messages.get(pool, m.id)).external_id == "SM42"

    assert await messages.set_status_by_external(pool, "SM42", "delivered", None) == [
        MessageStatus(m.id, it.id, "delivered", "a1")
    ]
    assert await messages.set_status_by_external(pool, "SM42", "sent", None) == [], "no step back"
    assert await messages.set_status_by_external(pool, "SM42", "read", None) != []
    assert await messages.set_status_by_external(pool, "SM42", "failed", "bounced") != []
    assert await messages.set_status(pool, m.id, "read", None) is None, "failed is final"
    assert (await messages.get(pool, m.id)).status == "failed"
    assert await messages.set_status(pool, uuid.uuid4(), "sent", None) is None
    attempts = await pool.fetchval("SELECT attempts FROM messages WHERE id = $1", m.id)
    assert attempts == 1, "a retry counts an attempt; a receipt does not"


async def test_a_receipt_that_overtakes_the_provider_id_waits_and_is_applied(pool: asyncpg.Pool) -> None:
    it = await _chat(pool)
    m = await _reply(pool, it)
    await messages.set_status(pool, m.id, "queued", "handed to twilio_sms")
    # the provider's "delivered" callback arrives before the adapter reports the id it got back
    assert await messages.set_status_by_external(pool, "SM-EARLY", "delivered", None) == []
    assert await messages.set_status_by_external(pool, "SM-EARLY", "delivered", None) == [], "kept once"
    assert (await messages.get(pool, m.id)).status == "queued"
    # recording the id applies it: the answer carries the furthest status, and nothing waits any more
    changed = await messages.set_status(pool, m.id, "sent", None, "SM-EARLY")
    assert changed == MessageStatus(m.id, it.id, "delivered", "a1")
    assert (await messages.get(pool, m.id)).status == "delivered"
    assert await pool.fetchval("SELECT count(*) FROM early_receipts") == 0
    # a receipt for an id that is known but would move back is not kept
    assert await messages.set_status_by_external(pool, "SM-EARLY", "sent", None) == []
    assert await pool.fetchval("SELECT count(*) FROM early_receipts") == 0


async def test_a_receipt_racing_the_provider_id_is_never_lost(pool: asyncpg.Pool) -> None:
    for n in range(20):
        it = await _chat(pool)
        m = await _reply(pool, it)
        sid = f"SM-RACE-{n}"
        await asyncio.gather(
            messages.set_status(pool, m.id, "sent", None, sid),
            messages.set_status_by_external(pool, sid, "delivered", None),
        )
        assert (await messages.get(pool, m.id)).status == "delivered", f"receipt lost in round {n}"
    assert await pool.fetchval("SELECT count(*) FROM early_receipts") == 0


async def test_thread_refs_and_threading_by_provider_ids(pool: asyncpg.Pool) -> None:
    it = await _chat(pool)
    await messages.insert(
        pool,
        interaction_id=it.id,
        conversation_id=it.conversation_id,
        channel="email",
        direction="inbound",
        body="question",
        external_id="<q@mail>",
    )
    await _reply(pool, it, "answer", external_id="<a@mail>")
    await _reply(pool, it, "draft")
    assert await conversations.thread_refs(pool, it.conversation_id) == [
        ThreadRef("<q@mail>", "inbound"),
        ThreadRef("<a@mail>", "outbound"),
    ]
    assert await conversations.by_message_refs(pool, ["<zzz@mail>", "<a@mail>"]) == it.conversation_id
    assert await conversations.by_message_refs(pool, ["<zzz@mail>"]) is None
    assert await conversations.thread_refs(pool, uuid.uuid4()) == []


async def test_note_on_an_interaction_or_on_the_customer_alone(pool: asyncpg.Pool) -> None:
    it = await _chat(pool)
    note = await notes.insert(pool, it.customer_id, it.id, "a1", "wants a callback")
    assert isinstance(note, Note)
    assert (note.interaction_id, note.agent_id, note.body) == (it.id, "a1", "wants a callback")
    loose = await notes.insert(pool, it.customer_id, None, None, "VIP")
    assert loose.interaction_id is None and loose.agent_id is None
