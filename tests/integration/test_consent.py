"""The consent ledger: changes over HTTP appended with who made them, STOP and START by SMS and WhatsApp
changing consent by themselves (confirmed to the customer through the channel's adapter, never routed to
an agent), and the webhook that tells other systems."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import MakeServer
from tests.integration.test_webhooks import CONFIG as WEBHOOK_CONFIG
from tests.integration.test_webhooks import SECRET, Receiver, subscribe, verify
from tests.support.servers import TestServer

pytestmark = pytest.mark.integration


class Adapter:
    """An adapter in its own process, as the router sees it: its outbound endpoint on loopback."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        async def outbound(request: web.Request) -> web.Response:
            self.received.append(await request.json())
            return web.json_response({"status": "sent"}, status=202)

        app = web.Application()
        app.router.add_post("/out", outbound)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/out"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def wait(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, self.received
            await asyncio.sleep(0.05)
        return self.received


async def test_changes_are_appended_with_who_and_when(server: TestServer) -> None:
    chat = await server.ingest(
        channel="chat", queue="chat", content="hi", **{"from": {"kind": "chat_visitor", "value": "c-1"}}
    )
    cid = chat["customer_id"]
    supervisor = await server.token("supervisor")
    status, ledger = await server.request("GET", f"/v1/customers/{cid}/consent", token=supervisor)
    assert status == 200 and ledger["current"] == [] and ledger["history"] == []
    assert ledger["require_opt_in"] == ["marketing"]
    given = {"status": "opted_in", "purpose": "marketing", "source": "web form", "evidence": {"form": "f-9"}}
    status, ledger = await server.request("PUT", f"/v1/customers/{cid}/consent/sms", given, token=supervisor)
    assert status == 200, ledger
    withdrawn = {"status": "opted_out", "purpose": "marketing", "source": "call centre"}
    status, ledger = await server.request(
        "PUT", f"/v1/customers/{cid}/consent/sms", withdrawn, role="adapter"
    )
    assert status == 200, ledger
    email = {"status": "opted_in", "purpose": "notifications", "source": "app"}
    status, ledger = await server.request(
        "PUT", f"/v1/customers/{cid}/consent/email", email, token=supervisor
    )
    assert status == 200
    assert [(e["channel"], e["purpose"], e["status"]) for e in ledger["history"]] == [
        ("sms", "marketing", "opted_in"),
        ("sms", "marketing", "opted_out"),
        ("email", "notifications", "opted_in"),
    ]
    assert ledger["history"][0]["evidence"] == {"form": "f-9"}
    assert ledger["history"][0]["actor"].startswith("supervisor:")
    assert ledger["history"][1]["actor"].startswith("adapter:")
    assert ledger["history"][0]["at"] <= ledger["history"][1]["at"]
    assert {(e["channel"], e["purpose"], e["status"]) for e in ledger["current"]} == {
        ("sms", "marketing", "opted_out"),
        ("email", "notifications", "opted_in"),
    }
    # refused, and nothing is recorded
    for path, body, want in (
        (f"/v1/customers/{cid}/consent/fax", given, 422),
        (f"/v1/customers/{cid}/consent/sms", {**given, "status": "maybe"}, 422),
        (f"/v1/customers/{cid}/consent/sms", {**given, "purpose": "Bad Purpose"}, 422),
        (f"/v1/customers/{cid}/consent/sms", {**given, "source": "a\u0000b"}, 422),
        ("/v1/customers/00000000-0000-0000-0000-000000000000/consent/sms", given, 404),
    ):
        status, _ = await server.request("PUT", path, body, token=supervisor)
        assert status == want, (path, body, status)
    agent = await server.token("agent", "carol")
    status, _ = await server.request("PUT", f"/v1/customers/{cid}/consent/sms", given, token=agent)
    assert status == 403
    _, after = await server.request("GET", f"/v1/customers/{cid}/consent", token=supervisor)
    assert len(after["history"]) == 3
    # the customer's export holds the ledger too
    status, export = await server.request("GET", f"/v1/customers/{cid}/export", role="admin")
    assert status == 200
    assert [(e["channel"], e["status"], e["evidence"]) for e in export["consent"]] == [
        ("sms", "opted_in", {"form": "f-9"}),
        ("sms", "opted_out", None),
        ("email", "opted_in", None),
    ]


async def test_stop_and_start_by_sms_and_whatsapp_change_consent_and_are_not_routed(
    make_server: MakeServer,
) -> None:
    adapter = Adapter()
    await adapter.start()
    receiver = Receiver()
    await receiver.start()
    try:
        config = (
            WEBHOOK_CONFIG.adapter(
                "sms_out", channel="sms", outbound_url=adapter.url, outbound_token="t" * 20
            )
            .adapter("wa_out", channel="social", outbound_url=adapter.url, outbound_token="t" * 20)
            .with_routing(default_queue="chat")
        )
        server = await make_server(str(config) + '\n[outbound]\nstop_words = ["수신거부"]\n')
        hook = await subscribe(server, receiver.url, ["consent.*", "interaction.*"])
        carol = await server.agent("carol")  # available for sms: a routed keyword would be offered to her

        sms = {"kind": "phone", "value": "+15550199"}
        stop = await server.ingest(channel="sms", content="  Stop ", **{"from": sms})
        assert stop["status"] == "ended" and stop["position"] is None
        again = await server.ingest(channel="sms", content="  Stop ", external_id="dup-1", **{"from": sms})
        repeat = await server.ingest(channel="sms", content="  Stop ", external_id="dup-1", **{"from": sms})
        assert repeat["id"] == again["id"] and repeat["created"] is False
        cid = stop["customer_id"]
        _, ledger = await server.request("GET", f"/v1/customers/{cid}/consent", role="supervisor")
        assert {(e["channel"], e["purpose"], e["status"]) for e in ledger["current"]} == {
            ("sms", "notifications", "opted_out"),
            ("sms", "marketing", "opted_out"),
        }
        assert len(ledger["history"]) == 4  # two keywords, two purposes each; the retry added nothing
        assert ledger["history"][0]["actor"] == "customer" and ledger["history"][0]["source"] == "keyword:sms"
        assert ledger["history"][0]["evidence"]["keyword"] == "Stop"

        # the confirmation goes back to the sender through the channel's adapter, once per keyword
        sent = await adapter.wait(2)
        assert sent[0]["to"] == sms and sent[0]["channel"] == "sms" and "unsubscribed" in sent[0]["body"]

        # WhatsApp, a word of the configuration, then START: the customer is back in
        wa = {"kind": "whatsapp", "value": "+15550188"}
        await server.ingest(channel="social", content="수신거부", **{"from": wa})
        start = await server.ingest(channel="social", content="START", **{"from": wa})
        _, ledger = await server.request(
            "GET", f"/v1/customers/{start['customer_id']}/consent", role="supervisor"
        )
        assert {e["status"] for e in ledger["current"]} == {"opted_in"}
        assert {e["channel"] for e in ledger["history"]} == {"whatsapp"}
        replies = await adapter.wait(4)
        assert "subscribed again" in replies[3]["body"] and replies[3]["to"] == wa

        # an ordinary message is routed as before
        normal = await server.ingest(channel="sms", content="please stop the late fees", **{"from": sms})
        assert normal["status"] == "queued"
        offer = await carol.next("offer")
        assert offer["interaction"]["id"] == normal["id"], "only the ordinary message reaches an agent"
        assert carol.pending("offer") == []

        # the keyword is in the customer's journey: an interaction that ended at once, with both messages
        _, it = await server.request("GET", f"/v1/interactions/{stop['id']}", role="supervisor")
        assert it["status"] == "ended" and it["end_reason"] == "consent_keyword"
        assert [m["direction"] for m in it["messages"]] == ["inbound", "outbound"]

        got = await receiver.wait(lambda evs: sum(e["type"] == "consent.changed" for e in evs) >= 8)
        assert all(verify(SECRET, h, b) for h, b in receiver.received)
        changed = [e for e in got if e["type"] == "consent.changed"]
        assert {e["data"]["customer_id"] for e in changed} == {cid, start["customer_id"]}
        assert not [
            e for e in got if e["type"] == "interaction.queued" and e["data"]["interaction_id"] == stop["id"]
        ]
        await carol.close()
        assert hook["id"]
    finally:
        await adapter.stop()
        await receiver.stop()
