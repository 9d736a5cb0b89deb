"""Through the running server: mail in over SMTP, the agent's reply out through the relay with
threading headers, and the customer's answer threaded back into the same conversation."""

from __future__ import annotations

import asyncio
import smtplib
from email import message_from_bytes, policy

from tests.conftest import MakeServer
from tests.support.configs import with_adapters
from tests.support.ports import free_port
from tests.support.providers import delivery_report, fixture_bytes
from tests.support.recorders import SmtpRelay
from tests.support.servers import interaction

FIRST = (
    b"From: Ann Lee <Ann@Customer.example>\r\n"
    b"To: support@shop.example\r\n"
    b"Subject: Order 1234 has not arrived\r\n"
    b"Message-ID: <first-1234@customer.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Hello, my order 1234 has not arrived yet.\r\n"
)


def smtp_send(port: int, raw: bytes) -> None:
    wire = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail("ann@customer.example", ["support@shop.example"], wire)


async def test_email_reply_threads_into_its_conversation(make_server: MakeServer, relay: SmtpRelay) -> None:
    port = free_port()
    server = await make_server(
        with_adapters(
            email={
                "smtp_port": port,
                "relay_port": relay.port,
                "from_address": "support@shop.example",
                "from_name": "Shop Support",
            }
        )
    )
    carol = await server.agent("carol")

    await asyncio.to_thread(smtp_send, port, FIRST)
    offer, _ = await carol.accept_next()
    first = offer["interaction"]
    assert first["channel"] == "email" and first["subject"] == "Order 1234 has not arrived"
    assert offer["context"]["customer"]["email"] == "ann@customer.example"
    assert offer["context"]["customer"]["name"] == "Ann Lee"

    ack = await carol.call({"type": "send_message", "interaction_id": first["id"], "body": "It ships today."})
    assert ack["type"] == "ack", ack
    sent = await carol.next("message_status", status="sent")
    [(mail_from, rcpt, raw)] = relay.received
    assert (mail_from, rcpt) == ("support@shop.example", ["ann@customer.example"])
    reply = message_from_bytes(raw, policy=policy.default)
    assert reply["Subject"] == "Re: Order 1234 has not arrived"
    assert reply["In-Reply-To"] == "<first-1234@customer.example>"
    assert reply["References"] == "<first-1234@customer.example>"
    assert reply.get_content().strip() == "It ships today."
    stored = (await interaction(server, first["id"]))["messages"]
    assert [m["external_id"] for m in stored if m["id"] == sent["message_id"]] == [reply["Message-ID"]]

    ack = await carol.call({"type": "complete", "interaction_id": first["id"], "disposition": "answered"})
    assert ack["type"] == "ack", ack

    # The customer answers the agent's mail (a Thunderbird reply, as recorded, re-addressed).
    answer = fixture_bytes("email/reply_in_reply_to_references.eml").decode()
    answer = answer.replace("From: Testing <xxxxxxxx@xxx.org>", "From: Ann Lee <ann@customer.example>")
    answer = answer.replace("<473FFE27.20003@xxx.org>", "<answer-1234@customer.example>")
    answer = answer.replace(
        "References: <473FF3B8.9020707@xxx.org> <348F04F142D69C21-291E56D292BC@xxxx.net>",
        f"References: <first-1234@customer.example> {reply['Message-ID']}",
    )
    answer = answer.replace(
        "In-Reply-To: <348F04F142D69C21-291E56D292BC@xxxx.net>", f"In-Reply-To: {reply['Message-ID']}"
    )
    assert reply["Message-ID"] in answer
    await asyncio.to_thread(smtp_send, port, answer.encode())
    again, _ = await carol.accept_next()
    threaded = again["interaction"]
    assert threaded["id"] != first["id"]
    assert threaded["conversation_id"] == first["conversation_id"]
    assert threaded["customer_id"] == first["customer_id"]
    earlier = {i["id"]: i for i in again["context"]["interactions"]}[first["id"]]
    assert [m["body"] for m in earlier["messages"]][-1] == "It ships today."

    # A resend of the same answer (the sender's retry) adds nothing.
    await asyncio.to_thread(smtp_send, port, answer.encode())
    assert len((await interaction(server, threaded["id"]))["messages"]) == 1
    await carol.close()


async def test_a_bounced_reply_is_shown_failed_to_the_agent(
    make_server: MakeServer, relay: SmtpRelay
) -> None:
    port = free_port()
    server = await make_server(
        with_adapters(
            email={"smtp_port": port, "relay_port": relay.port, "from_address": "support@shop.example"}
        )
    )
    carol = await server.agent("carol")
    await asyncio.to_thread(smtp_send, port, FIRST)
    offer, _ = await carol.accept_next()
    ack = await carol.call(
        {"type": "send_message", "interaction_id": offer["interaction"]["id"], "body": "Hi"}
    )
    assert ack["type"] == "ack", ack
    sent = await carol.next("message_status", status="sent")
    reply_id = message_from_bytes(relay.received[0][2], policy=policy.default)["Message-ID"]

    await asyncio.to_thread(smtp_send, port, delivery_report(reply_id))
    failed = await carol.next("message_status", status="failed")
    assert failed["message_id"] == sent["message_id"]
    assert "User unknown" in (failed.get("detail") or "")
    status, body = await server.request("GET", "/v1/queues/general", role="supervisor")
    assert status == 200 and body["stats"]["waiting"] == 0  # the bounce opened no interaction
    await carol.close()
