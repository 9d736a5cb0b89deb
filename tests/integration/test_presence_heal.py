"""A desktop that the live index wrongly lost (a dead-node sweep that judged too soon, a flush) is put
back by its own process's heartbeat, and routing to it resumes."""

from __future__ import annotations

import asyncio

from tests.support.servers import TestServer


async def test_a_live_desktop_marked_disconnected_is_reannounced(server: TestServer) -> None:
    carol = await server.agent("carol")
    rt = server
    live = await rt.engine.agent_live("carol")
    # what another process's sweep does when it believes this one died
    await rt.engine.presence("carol", "disconnect", live["session"], live["node"], "", rt.node.grace_ms)
    assert (await rt.engine.agent_live("carol"))["connected"] == "0"
    for _ in range(100):
        if (await rt.engine.agent_live("carol")).get("connected") == "1":
            break
        await asyncio.sleep(0.05)
    again = await rt.engine.agent_live("carol")
    assert again["connected"] == "1" and again["session"] == live["session"] and again["state"] == "available"
    it = await server.ingest(
        channel="chat", queue="chat", content="hi", **{"from": {"kind": "chat_visitor", "value": "h"}}
    )
    assert (await carol.next("offer"))["interaction"]["id"] == it["id"]
    await carol.close()
