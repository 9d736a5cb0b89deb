"""Supervising live work over the real server: the wallboard's list of live interactions."""

from __future__ import annotations

import asyncio

from tests.support.servers import TestServer


async def test_supervisors_list_live_interactions_with_agent_customer_and_time_in_work(
    server: TestServer,
) -> None:
    carol = await server.agent("carol")
    held = await server.ingest(
        channel="chat",
        queue="chat",
        external_id="chat-dana-1",
        content="hi",
        customer={"name": "Dana"},
        **{"from": {"kind": "chat_visitor", "value": "dana"}},
    )
    await carol.accept_next()
    waiting = await server.ingest(
        channel="email",
        queue="general",
        content="hi",
        **{"from": {"kind": "email", "value": "e@example.com"}},
    )
    await asyncio.sleep(0.2)

    status, live = await server.request("GET", "/v1/interactions?status=assigned", role="supervisor")
    assert status == 200, live
    (row,) = live
    assert row["id"] == held["id"] and row["agent_id"] == "carol" and row["agent_name"] == "Carol"
    assert row["channel"] == "chat" and row["customer_id"] == held["customer_id"]
    assert row["from_value"] == "dana" and row["seconds_in_work"] >= 0.2
    status, queued = await server.request("GET", "/v1/interactions?status=queued", token=server.admin_token)
    assert status == 200 and [r["id"] for r in queued] == [waiting["id"]]
    assert queued[0]["agent_id"] is None and queued[0]["seconds_in_work"] is None

    # agents and adapters may not list; a status that is not a live one is refused
    for token in (await server.token("agent", "carol"), await server.token("adapter")):
        status, body = await server.request("GET", "/v1/interactions?status=assigned", token=token)
        assert status == 403 and server.last_content_type == "application/problem+json", body
    status, _ = await server.request("GET", "/v1/interactions?status=completed", role="supervisor")
    assert status == 422 and server.last_content_type == "application/problem+json"

    # the lookup by provider id still answers one interaction
    status, one = await server.request(
        "GET", "/v1/interactions?channel=chat&external_id=chat-dana-1", role="adapter"
    )
    assert status == 200 and one["id"] == held["id"]
    await carol.close()
