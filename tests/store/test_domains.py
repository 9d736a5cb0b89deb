"""Routing domains on one database: each namespace's queues, agents, rules, tokens and interactions are
its own (the same ids in two domains are two rows), every query of those tables sees one domain only,
and rows from before domains belong to the default namespace. Customers are shared."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import asyncpg

from context_store import agents, customers, interactions, messages, queues, rules, tokens
from context_store.db import migration_files
from context_store.records import AgentRecord, QueueDayCounts, QueueRecord, RuleRecord, TokenRecord
from tests.store.conftest import new_customer, new_interaction

EU, US = "eu", "us"


async def test_the_same_queue_agent_and_rule_ids_are_separate_rows_per_domain(pool: asyncpg.Pool) -> None:
    eu_support = QueueRecord("support", "EU support", {"de": 1}, ["chat"], 0, 20.0, 30.0, 20.0, [])
    us_support = QueueRecord("support", "US support", {}, ["voice"], 5, 10.0, 5.0, 60.0, [])
    await queues.upsert(pool, EU, eu_support)
    await queues.upsert(pool, US, us_support)
    await queues.upsert(pool, US, QueueRecord("sales", None, {}, ["email"], 0, 20.0, 30.0, 20.0, []))
    assert await queues.list_all(pool, EU) == [eu_support]
    assert [q.id for q in await queues.list_all(pool, US)] == ["sales", "support"]
    assert (await queues.list_all(pool, US))[1] == us_support, "a change in one domain leaves the other's"
    assert await queues.list_all(pool, "apac") == []

    await agents.upsert(pool, EU, AgentRecord("alice", "Alice EU", {"de": 3}, {"chat": 2}, True, None))
    await agents.upsert(pool, US, AgentRecord("alice", "Alice US", {}, {"voice": 1}, True, "sip:alice@us"))
    assert [a.name for a in await agents.list_all(pool, EU)] == ["Alice EU"]
    assert [a.name for a in await agents.list_all(pool, US)] == ["Alice US"]

    await rules.replace(pool, EU, [({"lang": "de"}, "support")])
    await rules.replace(pool, US, [({"channel": "voice"}, "support"), ({}, "sales")])
    await rules.replace(pool, EU, [({"lang": "fr"}, "support")])  # replaces the EU list only
    assert await rules.list_all(pool, EU) == [RuleRecord(0, {"lang": "fr"}, "support")]
    assert await rules.list_all(pool, US) == [
        RuleRecord(0, {"channel": "voice"}, "support"),
        RuleRecord(1, {}, "sales"),
    ]


async def test_tokens_are_found_listed_and_revoked_in_their_domain_only(pool: asyncpg.Pool) -> None:
    eu = await tokens.insert(pool, EU, "h-eu", "supervisor", None, "eu wallboard")
    us = await tokens.insert(pool, US, "h-us", "agent", "alice", None)
    assert await tokens.get(pool, EU, "h-eu") == TokenRecord(eu.id, "supervisor", None, None)
    assert await tokens.get(pool, US, "h-eu") is None
    assert await tokens.get(pool, EU, "h-us") is None
    assert [t.id for t in await tokens.all_tokens(pool, EU)] == [eu.id]
    assert [t.id for t in await tokens.all_tokens(pool, US)] == [us.id]
    assert await tokens.revoke(pool, EU, us.id) is None, "another domain's token is not found"
    assert await tokens.get(pool, US, "h-us") is not None
    assert set(await tokens.revoked_among(pool, EU, [eu.id, us.id])) == {us.id}
    assert await tokens.revoked_among(pool, US, [us.id]) == []

    # one secret named in both domains' files: a row each; each file revokes only its own leftovers
    shared_eu = await tokens.upsert_from_file(pool, EU, "h-shared", "admin", None, "ops")
    shared_us = await tokens.upsert_from_file(pool, US, "h-shared", "admin", None, "ops")
    gone_us = await tokens.upsert_from_file(pool, US, "h-gone", "adapter", None, None)
    assert shared_eu.id != shared_us.id
    assert [t.id for t in await tokens.revoke_file_tokens_except(pool, EU, [])] == [shared_eu.id]
    assert await tokens.get(pool, EU, "h-shared") is None
    assert await tokens.get(pool, US, "h-shared") is not None, "the other domain's file token stays"
    assert [t.id for t in await tokens.revoke_file_tokens_except(pool, US, ["h-shared"])] == [gone_us.id]


async def test_interactions_are_seen_and_changed_in_their_domain_only(pool: asyncpg.Pool) -> None:
    cid = await new_customer(pool)  # one customer, shared: a contact in each region
    eu = await new_interaction(pool, cid, namespace=EU, channel="chat", external_id="CA1")
    # the same provider id in another domain is another interaction, not a duplicate
    us = await new_interaction(pool, cid, namespace=US, channel="chat", external_id="CA1")
    assert eu.id != us.id

    assert await interactions.get(pool, EU, eu.id) == eu
    assert await interactions.get(pool, US, eu.id) is None
    assert await interactions.get_detail(pool, US, eu.id) is None
    assert await interactions.id_by_external(pool, EU, "chat", "CA1") == eu.id
    assert await interactions.id_by_external(pool, US, "chat", "CA1") == us.id
    assert await interactions.open_for(pool, EU, cid, "chat", None) == eu.id
    assert await interactions.open_for(pool, US, cid, "chat", None) == us.id
    assert await interactions.live_in_conversation(pool, US, eu.conversation_id) is None
    assert [o.id for o in await interactions.open_all(pool, EU)] == [eu.id]
    assert await interactions.statuses(pool, US, [eu.id, us.id]) == {us.id: "queued"}
    assert await interactions.customer_ids(pool, US, [eu.id]) == set()

    # writes through the wrong domain change nothing
    assert not await interactions.assign(pool, US, eu.id, "alice")
    assert await interactions.close(pool, US, eu.id, "completed") is None
    assert await interactions.customer_ended(pool, US, eu.id, "hung_up") is None
    assert not await interactions.wrapup(pool, US, eu.id, "sold", None, None)
    await interactions.set_subject(pool, US, eu.id, "not yours")
    assert await interactions.get(pool, EU, eu.id) == eu

    # agent ids repeat across domains: the EU alice serves this customer, the US alice does not
    assert await interactions.assign(pool, EU, eu.id, "alice")
    assert await interactions.agent_serves_customer(pool, EU, "alice", cid)
    assert not await interactions.agent_serves_customer(pool, US, "alice", cid)
    assert (
        await messages.insert_held(pool, namespace=US, interaction_id=eu.id, agent_id="alice", body="x")
        is None
    )
    held = await messages.insert_held(pool, namespace=EU, interaction_id=eu.id, agent_id="alice", body="hi")
    assert held is not None
    await messages.set_status(pool, held.id, "pending", None)
    assert await messages.pending_ids(pool, EU) == [held.id]
    assert await messages.pending_ids(pool, US) == [], "each domain delivers its own replies"

    # the customer and the context record are shared: the record lists both regions' interactions
    raw = await customers.context_json(pool, cid)
    assert raw is not None
    assert {i["id"] for i in json.loads(raw)["interactions"]} == {str(eu.id), str(us.id)}


async def test_day_counts_use_the_domains_own_queue(pool: asyncpg.Pool) -> None:
    # the same queue id with different service levels: each domain's counts use its own
    await queues.upsert(pool, EU, QueueRecord("support", None, {}, ["chat"], 0, 20.0, 30.0, 20.0, []))
    await queues.upsert(pool, US, QueueRecord("support", None, {}, ["chat"], 0, 20.0, 30.0, 7200.0, []))
    cid = await new_customer(pool)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    for ns in (EU, US):
        slow = await new_interaction(pool, cid, namespace=ns, queue_id="support", venq_ms=now_ms - 3_600_000)
        await interactions.assign(pool, ns, slow.id, "alice")
    await new_interaction(pool, cid, namespace=US, queue_id="support")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert await interactions.day_counts(pool, EU, today) == [QueueDayCounts("support", 1, 0, 0)]
    assert await interactions.day_counts(pool, US, today) == [QueueDayCounts("support", 1, 1, 0)]


async def test_rows_from_before_domains_belong_to_the_default_namespace(pool: asyncpg.Pool) -> None:
    """The migration on a database that has rows: they are the default domain's, and the keys that now
    include the namespace accept the same ids in another domain."""
    conn = await pool.acquire()
    schema = "m_" + uuid.uuid4().hex[:8]
    try:
        await conn.execute(f"CREATE SCHEMA {schema}; SET search_path TO {schema}")
        before = [(v, sql) for v, _, sql in migration_files() if v < 7]
        (domains,) = [sql for v, name, sql in migration_files() if v == 7 and "routing_domains" in name]
        for _, sql in before:
            await conn.execute(sql)
        cid, iid = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "INSERT INTO queues (id, channels) VALUES ('support', '{chat}');"
            "INSERT INTO agents (id, name) VALUES ('alice', 'Alice');"
            """INSERT INTO routing_rules (position, "when", queue_id) VALUES (0, '{}', 'support');"""
            "INSERT INTO api_tokens (token_hash, role) VALUES ('h', 'admin');"
        )
        await conn.execute("INSERT INTO customers (id) VALUES ($1)", cid)
        await conn.execute("INSERT INTO conversations (id, customer_id) VALUES ($1, $1)", cid)
        await conn.execute(
            "INSERT INTO interactions (id, customer_id, conversation_id, channel, external_id, queue_id,"
            " status, venq_ms) VALUES ($1, $2, $2, 'chat', 'x1', 'support', 'queued', 0)",
            iid,
            cid,
        )
        await conn.execute(domains)
        for table in ("queues", "agents", "routing_rules", "api_tokens", "interactions"):
            found = await conn.fetch(f"SELECT DISTINCT namespace FROM {table}")
            assert [r["namespace"] for r in found] == ["omniroute"], table
        await conn.execute(
            "INSERT INTO queues (namespace, id, channels) VALUES ('eu', 'support', '{chat}');"
            "INSERT INTO agents (namespace, id, name) VALUES ('eu', 'alice', 'Alice');"
            "INSERT INTO api_tokens (namespace, token_hash, role) VALUES ('eu', 'h', 'admin');"
        )
        await conn.execute(
            "INSERT INTO interactions (namespace, id, customer_id, conversation_id, channel, external_id,"
            " queue_id, status, venq_ms) VALUES ('eu', $1, $2, $2, 'chat', 'x1', 'support', 'queued', 0)",
            uuid.uuid4(),
            cid,
        )
        try:
            await conn.execute("INSERT INTO queues (id, channels) VALUES ('other', '{chat}')")
        except asyncpg.NotNullViolationError:
            pass
        else:
            raise AssertionError("a write that names no domain must fail, not land in the default one")
    finally:
        await conn.execute(f"RESET search_path; DROP SCHEMA {schema} CASCADE")
        await pool.release(conn)
