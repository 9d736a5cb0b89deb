"""Routing domains: two servers on two namespaces over one PostgreSQL database and one Redis. Neither sees
the other's queues, agents, tokens or interactions over the API; the same queue id in both routes
independently; each reconciler rebuilds and repairs its own domain only. The customer is shared: an
offer in one region shows the customer's contact in the other."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from router.service.reconciler import RECONCILER
from tests.conftest import MakeServer
from tests.support.configs import routing
from tests.support.servers import TestServer

# Both regions have a queue `support` and an agent `alice`; each has a queue and an agent of its own.
# The repair loop runs only at start, so the reconciler rounds of the test are the ones it calls.
BASE = routing(reconcile_interval_seconds=3600).queue(
    "support", skills={"chat": 1}, channels=["chat"], offer_timeout_seconds=10, wrapup_seconds=0
)
EU = (
    BASE.queue("billing_eu", skills={"billing": 1}, channels=["chat"])
    .agent("alice", name="Alice EU", skills={"chat": 5}, capacity={"chat": 2})
    .agent("ana", name="Ana", skills={"chat": 5, "billing": 5}, capacity={"chat": 1})
)
US = (
    BASE.queue("sales", skills={"sales": 1}, channels=["chat"])
    .agent("alice", name="Alice US", skills={"chat": 5}, capacity={"chat": 2})
    .agent("bob", name="Bob", skills={"sales": 5}, capacity={"chat": 1})
)


async def _started(make_server: MakeServer) -> tuple[TestServer, TestServer]:
    eu = await make_server(EU, domain="eu")
    us = await make_server(US, domain="us")
    for server in (eu, us):  # the repair round at start is over before the test makes its gaps
        reconciler = server.server[RECONCILER]
        for _ in range(500):
            if reconciler.repair_rounds:
                break
            await asyncio.sleep(0.01)
        assert reconciler.repair_rounds == 1
    assert eu.engine.namespace != us.engine.namespace
    return eu, us


def _chat(visitor: str, external_id: str) -> dict[str, Any]:
    return {
        "channel": "chat",
        "queue": "support",
        "content": "hello",
        "external_id": external_id,
        "from": {"kind": "chat_visitor", "value": visitor},
    }


async def test_neither_domain_sees_the_others_directory_or_tokens(make_server: MakeServer) -> None:
    eu, us = await _started(make_server)

    status, queues = await eu.request("GET", "/v1/queues", role="supervisor")
    assert status == 200 and [q["id"] for q in queues] == ["billing_eu", "support"]
    status, queues = await us.request("GET", "/v1/queues", role="supervisor")
    assert status == 200 and [q["id"] for q in queues] == ["sales", "support"]
    assert (await us.request("GET", "/v1/queues/billing_eu", role="supervisor"))[0] == 404
    assert (await eu.request("GET", "/v1/queues/sales", role="supervisor"))[0] == 404

    status, agents = await eu.request("GET", "/v1/agents", role="supervisor")
    assert status == 200 and [(a["id"], a["name"]) for a in agents] == [("alice", "Alice EU"), ("ana", "Ana")]
    status, agents = await us.request("GET", "/v1/agents", role="supervisor")
    assert status == 200 and [(a["id"], a["name"]) for a in agents] == [("alice", "Alice US"), ("bob", "Bob")]
    assert (await us.request("GET", "/v1/agents/ana", role="supervisor"))[0] == 404
    assert (await eu.request("GET", "/v1/agents/bob", role="supervisor"))[0] == 404

    # a change to one region's `support` leaves the other's as it was, on every process of both
    changed = {"name": "Support EU", "skills": {"chat": 1}, "channels": ["chat"], "priority": 7}
    status, _ = await eu.request("PUT", "/v1/queues/support", changed, token=eu.admin_token)
    assert status == 200
    status, us_support = await us.request("GET", "/v1/queues/support", role="supervisor")
    assert status == 200 and (us_support["name"], us_support["priority"]) == (None, 0)
    await us.directory.reload()
    assert us.directory.queues["support"].priority == 0
    status, _ = await us.request(
        "PUT", "/v1/rules", {"rules": [{"when": {}, "queue": "sales"}]}, token=us.admin_token
    )
    assert status == 200
    assert (await eu.request("GET", "/v1/rules", role="supervisor"))[1] == []

    # a token belongs to the domain that created it: unknown elsewhere, not listed, not revocable
    status, made = await eu.request(
        "POST", "/v1/tokens", {"role": "supervisor", "name": "eu wallboard"}, token=eu.admin_token
    )
    assert status == 201
    assert (await eu.request("GET", "/v1/queues", token=made["token"]))[0] == 200
    assert (await us.request("GET", "/v1/queues", token=made["token"]))[0] == 401
    status, listed = await us.request("GET", "/v1/tokens", token=us.admin_token)
    assert status == 200 and made["id"] not in {t["id"] for t in listed}
    status, listed = await eu.request("GET", "/v1/tokens", token=eu.admin_token)
    assert status == 200 and made["id"] in {t["id"] for t in listed}
    assert (await us.request("DELETE", f"/v1/tokens/{made['id']}", token=us.admin_token))[0] == 404
    assert (await eu.request("GET", "/v1/queues", token=made["token"]))[0] == 200, "still valid at home"
    # an agent token of one region's alice is not the other region's alice
    eu_alice = await eu.token("agent", "alice")
    assert (await us.request("GET", "/v1/agents/alice", token=eu_alice))[0] == 401


async def test_the_same_queue_in_two_domains_routes_independently(make_server: MakeServer) -> None:
    eu, us = await _started(make_server)
    # one customer (one company, two regions) writes to both, with the same provider id in each
    in_eu = await eu.ingest(**_chat("visitor-7", "chat-1"))
    # a provider message id names one message in the deployment: the EU one is not the US one's to show
    status, body = await us.request("POST", "/v1/interactions", _chat("visitor-7", "chat-1"), role="adapter")
    assert status == 409 and in_eu["id"] not in str(body), body
    in_us = await us.ingest(**_chat("visitor-7", "chat-1"), message_external_id="us-msg-1")
    assert in_eu["id"] != in_us["id"], "the same provider id in another domain is another interaction"
    assert in_eu["customer_id"] == in_us["customer_id"], "customers are shared by the domains"
    assert (await eu.ingest(**_chat("visitor-7", "chat-1")))["id"] == in_eu["id"], "idempotent per domain"

    for server, mine, theirs in ((eu, in_eu, in_us), (us, in_us, in_eu)):
        status, body = await server.request("GET", f"/v1/interactions/{theirs['id']}", role="supervisor")
        assert status == 404, body
        status, body = await server.request("GET", f"/v1/interactions/{mine['id']}", role="supervisor")
        assert status == 200 and body["queue"] == "support" and body["position"] == 1
        status, body = await server.request(
            "GET", "/v1/interactions?channel=chat&external_id=chat-1", role="adapter"
        )
        assert status == 200 and body["id"] == mine["id"]
        theirs_path = f"/v1/interactions/{theirs['id']}"
        assert (await server.request("POST", theirs_path + "/end", {}, role="adapter"))[0] == 404
        message = {"direction": "inbound", "body": "are you there?"}
        assert (await server.request("POST", theirs_path + "/messages", message, role="adapter"))[0] == 404
        status, support = await server.request("GET", "/v1/queues/support", role="supervisor")
        assert status == 200 and support["stats"]["waiting"] == 1

    # the EU alice takes the EU chat; the US one still waits for the US alice
    eu_alice = await eu.agent("alice")
    try:
        offer, _ = await eu_alice.accept_next()
        assert offer["interaction"]["id"] == in_eu["id"]
        # the record is the customer's, across regions: the offer shows the US contact too
        assert {i["id"] for i in offer["context"]["interactions"]} == {in_eu["id"], in_us["id"]}
        assert await us.engine.position("support", in_us["id"]) == 1
        assert (await us.engine.interaction_live(in_us["id"])).get("st") == "waiting"
        # the EU alice's token reads the EU work, not the US one of the same customer
        token = await eu.token("agent", "alice")
        assert (await eu.request("GET", f"/v1/interactions/{in_eu['id']}", token=token))[0] == 200
        assert (await eu.request("GET", f"/v1/interactions/{in_us['id']}", token=token))[0] == 404

        us_alice = await us.agent("alice")
        try:
            offer, _ = await us_alice.accept_next()
            assert offer["interaction"]["id"] == in_us["id"]
            # serving the customer in the US does not open the EU server's records to the US alice
            us_token = await us.token("agent", "alice")
            assert (await us.request("GET", f"/v1/interactions/{in_eu['id']}", token=us_token))[0] == 404
        finally:
            await us_alice.close()
    finally:
        await eu_alice.close()
    status, us_row = await us.request("GET", f"/v1/interactions/{in_us['id']}", role="supervisor")
    assert status == 200 and us_row["status"] == "assigned"


async def _lose(server: TestServer, iid: str, queue: str) -> None:
    """As if the process died between the commit and the enqueue, long enough ago to be repaired."""
    await server.redis.zrem(server.engine.keys.queue(queue), iid)
    await server.redis.zrem(server.engine.keys.queue_age(queue), iid)
    await server.redis.delete(server.engine.keys.interaction(iid))
    for sql in (
        "UPDATE interactions SET created_at = created_at - interval '60 seconds' WHERE id = $1",
        "UPDATE interaction_history SET at = at - interval '60 seconds' WHERE interaction_id = $1",
    ):
        await server.pool.execute(sql, uuid.UUID(iid))


async def test_each_reconciler_repairs_and_rebuilds_only_its_own_domain(make_server: MakeServer) -> None:
    eu, us = await _started(make_server)
    in_eu = await eu.ingest(**_chat("visitor-1", "e-1"))
    in_us = await us.ingest(**_chat("visitor-2", "u-1"))
    await _lose(eu, in_eu["id"], "support")

    # the US reconciler finds nothing to repair: the gap is in the other domain
    assert await us.server[RECONCILER].repair() == 0
    assert await us.engine.interaction_live(in_eu["id"]) == {}
    assert await us.engine.position("support", in_eu["id"]) is None
    assert await eu.engine.position("support", in_eu["id"]) is None, "the EU gap is left for the EU server"
    # the EU reconciler repairs it, in the EU index only
    assert await eu.server[RECONCILER].repair() == 1
    assert await eu.engine.position("support", in_eu["id"]) == 1
    assert await us.engine.position("support", in_eu["id"]) is None
    assert await us.engine.position("support", in_us["id"]) == 1

    # a gap in the US: the EU reconciler leaves it alone, the US one repairs it
    await _lose(us, in_us["id"], "support")
    assert await eu.server[RECONCILER].repair() == 0
    assert await us.engine.position("support", in_us["id"]) is None
    assert await us.server[RECONCILER].repair() == 1
    assert await us.engine.position("support", in_us["id"]) == 1

    # a rebuild of the EU index (as after a flush of its keys) takes the EU's open work only
    await eu.redis.delete(eu.engine.keys.built)
    await eu.redis.delete(eu.engine.keys.queue("support"), eu.engine.keys.queue_age("support"))
    await eu.redis.delete(eu.engine.keys.interaction(in_eu["id"]))
    assert await eu.server[RECONCILER].rebuild()
    assert await eu.engine.position("support", in_eu["id"]) == 1
    assert await eu.engine.interaction_live(in_us["id"]) == {}
    assert await eu.engine.position("support", in_us["id"]) is None
    assert await us.engine.position("support", in_us["id"]) == 1


@pytest.mark.parametrize("path", ["/v1/queues", "/v1/agents", "/v1/tokens"])
async def test_a_domain_with_nothing_configured_lists_nothing_of_the_other(
    make_server: MakeServer, path: str
) -> None:
    """A new region on a database another region already uses starts empty."""
    eu = await make_server(EU, domain="eu")
    await eu.token("supervisor")
    assert (await eu.request("GET", path, token=eu.admin_token))[1] != []
    bare = await make_server(routing(), domain="new")
    status, body = await bare.request("GET", path, token=bare.admin_token)
    assert status == 200 and body == [], body


async def test_a_domain_starting_leaves_the_other_domains_file_tokens_alone(make_server: MakeServer) -> None:
    """Each start revokes the file tokens its own file no longer names: another domain's file tokens are
    that file's business, even when both files name the same secret."""
    shared, eu_only = "file-token-shared-0123456789", "file-token-eu-only-0123456789"
    tokens = "".join(
        f'\n[[tokens]]\ntoken = "{secret}"\nrole = "supervisor"\n' for secret in (shared, eu_only)
    )
    eu = await make_server(str(EU) + tokens, domain="eu")
    us = await make_server(str(US) + f'\n[[tokens]]\ntoken = "{shared}"\nrole = "supervisor"\n', domain="us")
    bare = await make_server(routing(), domain="new")  # names no token at all
    assert (await eu.request("GET", "/v1/queues", token=eu_only))[0] == 200
    assert (await eu.request("GET", "/v1/queues", token=shared))[0] == 200
    assert (await us.request("GET", "/v1/queues", token=shared))[0] == 200
    assert (await us.request("GET", "/v1/queues", token=eu_only))[0] == 401
    assert (await bare.request("GET", "/v1/queues", token=shared))[0] == 401
    status, listed = await us.request("GET", "/v1/tokens", token=us.admin_token)
    assert status == 200 and [(t["source"], t["state"]) for t in listed] == [("file", "active")]


async def test_concurrent_repeats_of_one_call_in_two_domains_make_one_interaction_each(
    make_server: MakeServer,
) -> None:
    """Idempotency holds per domain under racing retries: the same provider call id sent many times at
    once to both regions opens exactly one interaction in each."""
    eu, us = await _started(make_server)
    call = {
        "channel": "voice",
        "external_id": "CA-race",
        "queue": "support",
        "from": {"kind": "phone", "value": "+14155550123"},
    }
    voice_support = {"name": "Support", "skills": {"chat": 1}, "channels": ["chat", "voice"]}
    for server in (eu, us):
        assert (await server.request("PUT", "/v1/queues/support", voice_support, token=server.admin_token))[
            0
        ] == 200
    results = await asyncio.gather(
        *(s.request("POST", "/v1/interactions", call, role="adapter") for _ in range(12) for s in (eu, us))
    )
    by_domain: dict[int, list[tuple[int, Any]]] = {0: [], 1: []}
    for k, answer in enumerate(results):
        by_domain[k % 2].append(answer)
    ids = []
    for answers in by_domain.values():
        assert sorted(status for status, _ in answers) == [200] * 11 + [201], answers
        assert len({body["id"] for _, body in answers}) == 1
        ids.append(answers[0][1]["id"])
    assert ids[0] != ids[1]
    count = await eu.pool.fetchval("SELECT count(*) FROM interactions WHERE external_id = 'CA-race'")
    assert count == 2
