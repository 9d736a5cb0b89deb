"""The Python client (router/sdk) against a real server: the admin and webhook calls, and a desktop
driven through AgentSocket from hello to completion."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from router.contracts import AgentConfig, IdentityJourneyEventIn, InboundEvent, QueueConfig, Role, RoutingRule
from router.contracts.campaigns import CampaignIn, PreferencesIn
from router.contracts.consent import ConsentIn
from router.sdk.agent import AgentSocket, FrameError
from router.sdk.client import RouterAPIError, RouterClient
from tests.conftest import MakeServer
from tests.integration.test_webhooks import CONFIG, SECRET, Receiver, verify

pytestmark = pytest.mark.integration


async def test_admin_and_webhook_calls(make_server: MakeServer) -> None:
    server = await make_server(CONFIG)
    receiver = Receiver()
    await receiver.start()
    try:
        async with RouterClient(server.url, server.admin_token) as admin:
            queue = await admin.put_queue("sdk", QueueConfig(skills={"sdk": 1}, channels=["chat"]))
            assert queue.id == "sdk"
            agent = await admin.put_agent("dora", AgentConfig(name="Dora", skills={"sdk": 5}))
            assert agent.id == "dora" and "dora" in {a.id for a in await admin.list_agents()}
            rules = await admin.put_rules(
                [RoutingRule.model_validate({"when": {"intent": "sdk"}, "queue": "sdk"})]
            )
            assert [r.queue for r in rules] == ["sdk"] == [r.queue for r in await admin.get_rules()]
            token = await admin.create_token(Role.agent, agent_id="dora", name="sdk desk")
            adapter = await admin.create_token(Role.adapter, name="sdk adapter")
            assert token.id in {t.id for t in await admin.list_tokens()}

            hook = await admin.create_webhook(receiver.url, ["interaction.*"], secret=SECRET)
            assert hook.secret == SECRET
            assert [w.id for w in await admin.list_webhooks()] == [hook.id]

            async with (
                AgentSocket(server.url, "dora", token.token) as desk,
                RouterClient(server.url, adapter.token) as ingest,
            ):
                assert desk.hello["agent_id"] == "dora"
                await desk.set_state("available")
                event = InboundEvent.model_validate(
                    {
                        "channel": "chat",
                        "external_id": uuid.uuid4().hex,
                        "from": {"kind": "chat_visitor", "value": "sdk-visitor"},
                        "content": "hi from the sdk",
                        "attributes": {"intent": "sdk"},
                    }
                )
                result = await ingest.ingest(event)
                assert result.queue == "sdk"
                change = ConsentIn(status="opted_in", purpose="notifications", source="sdk test")
                ledger = await ingest.put_consent(result.customer_id, "email", change)
                assert [(e.channel, e.status) for e in ledger.current] == [("email", "opted_in")]
                assert (await admin.get_consent(result.customer_id)).history[0].actor.startswith("adapter:")
                offer = await desk.next("offer")
                assert offer["interaction"]["id"] == result.id
                await desk.accept(offer["offer_id"])
                await desk.next("assigned")
                await desk.send_message(result.id, "hello from dora")
                await desk.complete(result.id, disposition="resolved")
                with pytest.raises(FrameError) as refused:
                    await desk.accept("no-such-offer")
                assert refused.value.code
                assert await desk.ping() == {}

            got = await receiver.wait(
                lambda evs: {"interaction.queued", "interaction.assigned"} <= {e["type"] for e in evs}
            )
            assert all(verify(SECRET, h, b) for h, b in receiver.received)
            for _ in range(100):  # the receiver answered; the outbox row is marked just after
                deliveries = await admin.webhook_deliveries(hook.id, status="delivered")
                if {d.event_id for d in deliveries} >= {e["id"] for e in got}:
                    break
                await asyncio.sleep(0.1)
            assert {d.event_id for d in deliveries} >= {e["id"] for e in got}
            first = min(got, key=lambda e: tuple(int(p) for p in e["id"].split("-")))
            assert await admin.replay_webhook(hook.id, first["id"]) >= 1
            await admin.delete_webhook(hook.id)
            with pytest.raises(RouterAPIError) as gone:
                await admin.delete_webhook(hook.id)
            assert gone.value.status == 404
            await admin.revoke_token(token.id)
    finally:
        await receiver.stop()


async def test_preferences_campaign_and_report_calls(make_server: MakeServer) -> None:
    server = await make_server()
    async with RouterClient(server.url, server.admin_token) as admin:
        adapter = await admin.create_token(Role.adapter, name="sdk adapter")
        async with RouterClient(server.url, adapter.token) as ingest:
            event = IdentityJourneyEventIn.model_validate(
                {"identity": {"kind": "phone", "value": "+821012345678"}, "type": "signed_up"}
            )
            customer_id = (await ingest.journey_event(event)).customer_id
        found = await admin.get_customer(customer_id)
        assert (found.timezone, found.timezone_source, found.phone) == (
            "Asia/Seoul",
            "phone",
            "+821012345678",
        )
        changed = await admin.set_preferences(
            customer_id, PreferencesIn(preferred_channel="sms", language="ko")
        )
        assert (changed.preferred_channel, changed.language, changed.timezone) == ("sms", "ko", "Asia/Seoul")
        with pytest.raises(RouterAPIError) as refused:
            await admin.request("PATCH", f"/v1/customers/{customer_id}", {"timezone": "Nowhere/Else"})
        assert refused.value.status == 422

        campaign = CampaignIn.model_validate(
            {
                "id": "sdk-campaign",
                "purpose": "notifications",
                "message": {"text": "Hello from the SDK"},
                "audience": {"customer_ids": [customer_id]},
                "start_at": "2099-01-01T00:00:00+00:00",
            }
        )
        made = await admin.create_campaign(campaign)
        assert (made.status, made.audience_size, made.counts["queued"]) == ("draft", 1, 1)
        assert (await admin.start_campaign("sdk-campaign")).status == "running"
        assert (await admin.pause_campaign("sdk-campaign")).status == "paused"
        assert (await admin.get_campaign("sdk-campaign")).start_at is not None
        recipients = await admin.campaign_recipients("sdk-campaign", status="queued")
        assert [r.customer_id for r in recipients.recipients] == [customer_id]
        assert (await admin.cancel_campaign("sdk-campaign")).status == "cancelled"
        with pytest.raises(RouterAPIError) as gone:
            await admin.start_campaign("sdk-campaign")
        assert gone.value.status == 409

        report = await admin.kpis("2026-01-01", "2026-01-02", interval="1d")
        assert report.rows == []
        quality = await admin.quality_report("2026-01-01", "2026-01-02")
        assert quality.rows == []
