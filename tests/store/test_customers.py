"""Customers: identity resolution (and its locking under a real race), profile, identities, journey
events and the context record."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest

from context_store import customers, journey, messages, notes
from context_store.errors import RecordNotFound
from context_store.records import Customer, Identity, JourneyEvent, PossibleMatch
from tests.store.conftest import new_customer, new_interaction


async def _resolve(pool: asyncpg.Pool, keys: list[tuple[str, str]], *, hold: float = 0.0) -> uuid.UUID:
    """Resolve in a transaction of its own connection, held open ``hold`` seconds after resolving (so a
    resolution that did not lock would let the others read before this one commits)."""
    async with pool.acquire() as conn, conn.transaction():
        cid = await customers.resolve_customer(conn, keys)
        if hold:
            await conn.execute("SELECT pg_sleep($1)", hold)
        return cid


async def test_resolution_creates_once_then_finds_and_fills_the_profile(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        cid = await customers.resolve_customer(conn, [("phone", "+15550101")], name=None, phone="+15550101")
    async with pool.acquire() as conn, conn.transaction():
        again = await customers.resolve_customer(
            conn, [("phone", "+15550101"), ("email", "ana@example.com")], name="Ana", email="ana@example.com"
        )
    assert again == cid
    customer = await customers.get(pool, cid)
    assert isinstance(customer, Customer)
    assert (customer.id, customer.name, customer.email, customer.phone) == (
        cid,
        "Ana",
        "ana@example.com",
        "+15550101",
    )
    async with pool.acquire() as conn, conn.transaction():
        await customers.resolve_customer(conn, [("phone", "+15550101")], name="Someone Else")
    assert (await customers.get(pool, cid)).name == "Ana", "a filled profile field is never overwritten"
    assert await customers.identities(pool, cid) == [
        Identity("phone", "+15550101"),
        Identity("email", "ana@example.com"),
    ]
    assert await customers.get(pool, uuid.uuid4()) is None
    assert await customers.identities(pool, uuid.uuid4()) == []


async def test_keys_of_two_customers_merge_nothing(pool: asyncpg.Pool) -> None:
    """A contact whose own address is one customer's and whose second key is another's goes to the first
    key's customer; the other is a possible match, keeps its key and is not touched."""
    first = await _resolve(pool, [("phone", "+15550102")])
    second = await _resolve(pool, [("email", "b@example.com")])
    assert first != second
    both = await _resolve(pool, [("email", "b@example.com"), ("phone", "+15550102"), ("chat_visitor", "v1")])
    assert both == second
    assert await customers.identities(pool, second) == [
        Identity("email", "b@example.com"),
        Identity("chat_visitor", "v1"),
    ]
    assert await customers.identities(pool, first) == [Identity("phone", "+15550102")]
    assert await customers.possible_matches(pool, second) == [PossibleMatch(first, None, ["phone"])]
    assert await customers.possible_matches(pool, first) == []


async def test_claimed_keys_never_link_nor_change_a_profile(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        known = await customers.resolve_customer(
            conn, [("phone", "+15550105")], name="Ana", phone="+15550105"
        )
    async with pool.acquire() as conn, conn.transaction():
        visitor = await customers.resolve_customer(
            conn,
            [("chat_visitor", "v9")],
            claimed=[("phone", "+15550105"), ("email", "ana@example.com")],
            claimed_profile=customers.Profile("Mallory", "ana@example.com", "+15550105"),
        )
    assert visitor != known
    stored = await customers.get(pool, known)
    assert stored is not None and (stored.name, stored.email) == ("Ana", None)
    assert await customers.identities(pool, known) == [Identity("phone", "+15550105")]
    assert await customers.identities(pool, visitor) == [Identity("chat_visitor", "v9")]
    created = await customers.get(pool, visitor)
    assert created is not None and (created.name, created.phone) == ("Mallory", "+15550105")
    assert await customers.possible_matches(pool, visitor) == [PossibleMatch(known, "Ana", ["phone"])]
    record = json.loads(await customers.context_json(pool, visitor) or "{}")
    assert record["possible_matches"] == [{"customer_id": str(known), "name": "Ana", "matched": ["phone"]}]


async def test_anonymous_contacts_are_customers_of_their_own(pool: asyncpg.Pool) -> None:
    ids = []
    for _ in range(2):
        async with pool.acquire() as conn, conn.transaction():
            ids.append(await customers.resolve_customer(conn, [], anonymous=True))
    assert ids[0] != ids[1]
    for cid in ids:
        stored = await customers.get(pool, cid)
        assert stored is not None and stored.anonymous
        assert await customers.identities(pool, cid) == []


async def test_a_verified_hint_links_and_brings_the_new_address(pool: asyncpg.Pool) -> None:
    caller = await _resolve(pool, [("phone", "+14155550123")])
    mail = await _resolve(pool, [("email", "jo@example.com"), ("phone", "+14155550123")])
    assert mail == caller
    assert Identity("email", "jo@example.com") in await customers.identities(pool, caller)


async def test_concurrent_first_contacts_from_one_new_address_create_one_customer(pool: asyncpg.Pool) -> None:
    """Eight transactions on eight connections resolve the same new number at once (and with the keys
    in different orders, which must not deadlock): one customer, whom every one of them gets."""
    keys = [("phone", "+15550103"), ("email", "race@example.com")]
    ids = await asyncio.gather(*(_resolve(pool, keys if n % 2 else keys[::-1], hold=0.05) for n in range(8)))
    assert len(set(ids)) == 1
    assert await pool.fetchval("SELECT count(*) FROM customers") == 1
    assert len(await customers.identities(pool, ids[0])) == 2


async def test_journey_event_is_typed_and_defaults_to_now(pool: asyncpg.Pool) -> None:
    cid = await new_customer(pool)
    it = await new_interaction(pool, cid)
    ev = await journey.add_event(pool, cid, "bot.collected", {"intent": "refund"}, interaction_id=it.id)
    assert isinstance(ev, JourneyEvent)
    assert (ev.type, ev.data, ev.interaction_id) == ("bot.collected", {"intent": "refund"}, it.id)
    assert ev.at.tzinfo is not None
    with pytest.raises(RecordNotFound):
        await journey.add_event(pool, uuid.uuid4(), "x", {})


async def test_context_record_holds_every_channel_newest_first(pool: asyncpg.Pool) -> None:
    cid = await new_customer(pool, "+15550104")
    call = await new_interaction(pool, cid, channel="voice")
    chat = await new_interaction(pool, cid, channel="chat")
    await messages.insert(
        pool,
        interaction_id=chat.id,
        conversation_id=chat.conversation_id,
        channel="chat",
        direction="inbound",
        body="hello",
    )
    await notes.insert(pool, cid, call.id, "a1", "called about a refund")
    raw = await customers.context_json(pool, cid)
    assert raw is not None
    record = json.loads(raw)
    assert record["customer"]["id"] == str(cid)
    assert [i["id"] for i in record["interactions"]] == [str(chat.id), str(call.id)]
    assert [m["body"] for m in record["interactions"][0]["messages"]] == ["hello"]
    assert [n["body"] for n in record["interactions"][1]["notes"]] == ["called about a refund"]
    assert [e["type"] for e in record["events"]] == ["interaction.created", "interaction.created"]
    assert record["identities"][0]["value"] == "+15550104"
    assert await customers.context_json(pool, uuid.uuid4()) is None

    offer = await customers.offer_context(pool, call.id)
    assert offer is not None and offer.interaction is not None
    assert json.loads(offer.record_text) == record
    assert json.loads(offer.interaction.text) == record["interactions"][1]
    assert (offer.interaction.queue, offer.interaction.channel) == ("support", "voice")
    assert await customers.offer_context(pool, uuid.uuid4()) is None


async def test_offer_context_of_an_interaction_older_than_the_window(pool: asyncpg.Pool) -> None:
    cid = await new_customer(pool)
    oldest = await new_interaction(pool, cid)
    for _ in range(customers.MAX_CONTEXT_INTERACTIONS):
        await new_interaction(pool, cid)
    offer = await customers.offer_context(pool, oldest.id)
    assert offer is not None and offer.interaction is None, "the caller takes the slow path"
    record = json.loads(offer.record_text)
    assert len(record["interactions"]) == customers.MAX_CONTEXT_INTERACTIONS
    assert str(oldest.id) not in {i["id"] for i in record["interactions"]}
