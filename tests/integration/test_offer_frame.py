"""The offer frame on the hot path (context JSON spliced as PostgreSQL built it) is the same document
as the typed :class:`agent_desktop.frames.Offer`."""

from __future__ import annotations

import json

from agent_desktop import frames
from tests.support.servers import TestServer


async def test_fast_offer_text_is_the_typed_offer(server: TestServer) -> None:
    first = await server.ingest(
        channel="voice",
        queue="general",
        attributes={"intent": "billing", "vip": True},
        **{"from": {"kind": "phone", "value": "+15550111"}},
    )
    alice = await server.agent("alice")
    await alice.accept_next()
    await alice.call({"type": "add_note", "interaction_id": first["id"], "body": "ünïcode note ✓"})
    await alice.call({"type": "complete", "interaction_id": first["id"], "summary": "done"})
    second = await server.ingest(
        channel="chat",
        queue="chat",
        content="<b>hi</b>",
        **{"from": {"kind": "whatsapp", "value": "15550111"}},
    )
    hub = server.hub
    assert hub is not None
    text = await hub.offer_text("o-test", second["id"], 1_800_000_000_000)
    typed = await hub.offer_frame("o-test", second["id"], 1_800_000_000_000)
    assert text is not None and typed is not None
    assert frames.Offer.model_validate_json(text) == typed
    raw = json.loads(text)
    assert raw["type"] == "offer" and raw["interaction"]["id"] == second["id"]
    assert [i["id"] for i in raw["context"]["interactions"]] == [second["id"], first["id"]]
    await alice.close()
