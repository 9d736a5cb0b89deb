"""Webhooks against a real server and a real HTTP receiver on loopback: signed deliveries that verify
with the documented check, retries while the receiver is down and then every event in order per
interaction, replay from an event id, and the addresses a webhook may not point at."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from router.service.addresses import GuardedResolver, UnsafeAddress
from tests.conftest import MakeServer
from tests.support.configs import DEFAULT
from tests.support.ports import free_port
from tests.support.servers import RouterProcess, TestServer

pytestmark = pytest.mark.integration

SECRET = "whsec_test_0123456789abcdef"
# short retries (and a short lease, 2 x timeout + 5 s, so a killed process's claims are taken over
# soon), loopback allowed. The timeout is 3 s, not 1: a receiver's answer slower than the timeout is
# retried, which a loaded machine must not turn into a second attempt the tests count.
CONFIG = DEFAULT.with_webhooks(
    allow_private=True, retry_base_seconds=0.2, retry_max_seconds=0.6, poll_seconds=0.05, timeout_seconds=3
)
VISITOR = "chat_visitor"


def verify(secret: str, headers: Any, body: bytes, tolerance: int = 300) -> bool:
    """The receiver's check, as docs/webhooks.md gives it."""
    timestamp = headers["X-Omniroute-Timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = (
        "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )
    return hmac.compare_digest(expected, headers["X-Omniroute-Signature"])


class Receiver:
    """An HTTP server on a fixed loopback port that records every delivery; it can be stopped (the
    port refuses connections) and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks/omniroute"
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.runner: web.AppRunner | None = None
        self.changed = asyncio.Event()

    async def _handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        self.changed.set()
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks/omniroute", self._handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(b) for _, b in self.received]

    async def wait(
        self, done: Callable[[list[dict[str, Any]]], bool], timeout: float = 30
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while not done(self.events()):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"still waiting; received {[e['type'] for e in self.events()]}"
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.5))
            except TimeoutError:
                pass
        return self.events()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.1)


async def subscribe(server: TestServer, url: str, events: list[str]) -> dict[str, Any]:
    status, hook = await server.request(
        "POST", "/v1/webhooks", {"url": url, "events": events, "secret": SECRET}, token=server.admin_token
    )
    assert status == 201, hook
    return dict(hook)


async def deliveries(server: TestServer, hook_id: str, query: str = "") -> list[dict[str, Any]]:
    status, found = await server.request(
        "GET", f"/v1/webhooks/{hook_id}/deliveries{query}", token=server.admin_token
    )
    assert status == 200, found
    return list(found)


async def chat(server: TestServer, visitor: str, text: str = "hello") -> dict[str, Any]:
    return await server.ingest(
        channel="chat", queue="chat", content=text, **{"from": {"kind": VISITOR, "value": visitor}}
    )


def stream_order(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq)


async def test_deliveries_are_signed_filtered_and_verify(make_server: MakeServer) -> None:
    server = await make_server(CONFIG)
    receiver = Receiver()
    await receiver.start()
    try:
        hook = await subscribe(server, receiver.url, ["interaction.*", "offer.*"])
        assert hook["secret"] == SECRET
        # the secret is shown once: never listed again
        _, listed = await server.request("GET", "/v1/webhooks", token=server.admin_token)
        assert [h["id"] for h in listed] == [hook["id"]] and all("secret" not in h for h in listed)

        carol = await server.agent("carol")  # agent.state events: not subscribed, never sent
        it = await chat(server, "v-signed", "héllo ☃ \U0001f600")
        await carol.accept_next()
        wanted = {"interaction.queued", "offer.made", "interaction.assigned"}
        got = await receiver.wait(lambda evs: wanted <= {e["type"] for e in evs})
        await carol.close()

        for headers, raw in receiver.received:
            assert verify(SECRET, headers, raw), headers
            assert not verify("another-secret-0123456789", headers, raw)
            assert not verify(SECRET, headers, raw + b" ")  # a changed body fails
            event = json.loads(raw)
            assert set(event) == {"id", "type", "at", "data"}
            assert headers["X-Omniroute-Event-Id"] == event["id"]
            assert headers["X-Omniroute-Event"] == event["type"]
            assert headers["Content-Type"] == "application/json"
        assert {e["type"].split(".")[0] for e in got} <= {"interaction", "offer"}
        queued = next(e for e in got if e["type"] == "interaction.queued")
        assert queued["data"]["interaction_id"] == it["id"] and queued["data"]["queue"] == "chat"
        assert queued["at"].endswith("Z")
        offer = next(e for e in got if e["type"] == "offer.made")
        assert offer["data"]["agent_id"] == "carol"

        # the outbox says the same: every delivery made on its first attempt
        async def marked() -> bool:  # the receiver answered; the outbox row is marked just after
            rows = await deliveries(server, hook["id"])
            return all(r["status"] == "delivered" for r in rows)

        await eventually(marked)
        rows = await deliveries(server, hook["id"])
        assert {r["event_id"] for r in rows} == {e["id"] for e in receiver.events()}
        assert all(r["status"] == "delivered" and r["attempts"] == 1 for r in rows), rows
    finally:
        await receiver.stop()


async def test_a_receiver_that_was_down_gets_everything_in_order_then_replay(make_server: MakeServer) -> None:
    server = await make_server(CONFIG)
    receiver = Receiver()  # not started: connections to its port are refused
    hook = await subscribe(server, receiver.url, ["interaction.*", "message.*"])
    try:
        # two customers: a chat each, then three more lines from the first
        first = await chat(server, "v-down-1", "one")
        second = await chat(server, "v-down-2", "two")
        for text in ("line 1", "line 2 \u0000 nul dropped", "line 3 ✓"):
            status, msg = await server.request(
                "POST", f"/v1/interactions/{first['id']}/messages", {"body": text}, role="adapter"
            )
            assert status in (200, 201), msg

        async def retried() -> bool:
            rows = await deliveries(server, hook["id"])
            heads = [r for r in rows if r["attempts"] >= 2]
            return len(rows) >= 5 and len(heads) >= 2

        await eventually(retried)
        rows = await deliveries(server, hook["id"])
        assert all(r["status"] == "pending" for r in rows), rows
        assert all(r["last_error"] for r in rows if r["attempts"]), rows
        # only the oldest event of each interaction is tried: the later ones wait behind it
        assert sum(1 for r in rows if r["attempts"] == 0) >= 3, rows

        await receiver.start()

        async def all_delivered() -> bool:
            rows = await deliveries(server, hook["id"])
            return bool(rows) and all(r["status"] == "delivered" for r in rows)

        await eventually(all_delivered)
        got = receiver.events()
        for headers, raw in receiver.received:
            assert verify(SECRET, headers, raw)
        per_interaction: dict[str, list[str]] = {}
        for e in got:
            per_interaction.setdefault(e["data"]["interaction_id"], []).append(e["id"])
        assert set(per_interaction) == {first["id"], second["id"]}
        for ids in per_interaction.values():
            assert ids == sorted(ids, key=stream_order), "an interaction's events arrived out of order"
        # queued (with the first line), then the three lines that followed; the other chat: queued
        assert len(per_interaction[first["id"]]) == 4 and len(per_interaction[second["id"]]) == 1
        texts = [e["data"]["message"]["body"] for e in got if e["type"] == "message.created"]
        assert "line 3 ✓" in texts and "line 2  nul dropped" in texts

        # replay from the second event: exactly what followed is sent again, in order, nothing else
        ids = sorted({e["id"] for e in got}, key=stream_order)
        after = ids[1]
        receiver.received.clear()
        status, answer = await server.request(
            "POST", f"/v1/webhooks/{hook['id']}/replay", {"after": after}, token=server.admin_token
        )
        assert status == 200 and answer == {"replayed": len(ids) - 2}, answer
        again = await receiver.wait(lambda evs: len(evs) >= len(ids) - 2)
        await asyncio.sleep(0.5)  # nothing more comes
        assert len(receiver.received) == len(ids) - 2
        assert sorted((e["id"] for e in again), key=stream_order) == ids[2:]
        replayed: dict[str, list[str]] = {}
        for e in again:
            replayed.setdefault(e["data"]["interaction_id"], []).append(e["id"])
        for seq in replayed.values():
            assert seq == sorted(seq, key=stream_order)
        # the same bodies as the first time (only the timestamp and signature are new)
        first_bodies = {e["id"]: e for e in got}
        assert all(first_bodies[e["id"]] == e for e in again)
        assert await deliveries(server, hook["id"], f"?after={after}&status=pending") == []
    finally:
        await receiver.stop()


async def test_deleted_webhooks_and_bad_requests(make_server: MakeServer) -> None:
    server = await make_server(CONFIG)
    hook = await subscribe(server, "http://127.0.0.1:9/none", ["*"])
    admin = server.admin_token
    for body in (
        {"url": "ftp://example.com/x", "events": ["*"]},
        {"url": "http://127.0.0.1/x", "events": ["no-dots"]},
        {"url": "http://127.0.0.1/x", "events": []},
        {"url": "http://127.0.0.1/x", "events": ["*"], "secret": "short"},
        {"url": "http://name.that.does.not.resolve.invalid/x", "events": ["*"]},
    ):
        status, problem = await server.request("POST", "/v1/webhooks", body, token=admin)
        assert status == 422, (body, problem)
    status, _ = await server.request("POST", f"/v1/webhooks/{hook['id']}/replay", {"after": "x"}, token=admin)
    assert status == 422
    status, _ = await server.request("GET", f"/v1/webhooks/{hook['id']}/deliveries?status=odd", token=admin)
    assert status == 422
    status, _ = await server.request("GET", "/v1/webhooks", role="supervisor")
    assert status == 403
    status, _ = await server.request("DELETE", f"/v1/webhooks/{hook['id']}", token=admin)
    assert status == 204
    for method, path in (
        ("DELETE", f"/v1/webhooks/{hook['id']}"),
        ("GET", f"/v1/webhooks/{hook['id']}/deliveries"),
    ):
        status, _ = await server.request(method, path, token=admin)
        assert status == 404
    _, listed = await server.request("GET", "/v1/webhooks", token=admin)
    assert listed == []


PRIVATE = (
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://[::1]/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://172.16.5.4/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://100.64.0.1/hook",
    "http://[fd00::1]/hook",
)


async def test_private_addresses_are_refused_without_the_flag(make_server: MakeServer) -> None:
    server = await make_server()  # [webhooks] allow_private is false by default
    for url in PRIVATE:
        status, problem = await server.request(
            "POST", "/v1/webhooks", {"url": url, "events": ["*"]}, token=server.admin_token
        )
        assert status == 422, (url, problem)
        assert problem["errors"][0]["loc"] == ["url"]
    _, listed = await server.request("GET", "/v1/webhooks", token=server.admin_token)
    assert listed == []  # nothing was stored
    # a public address is accepted; without a secret one is made and shown once
    status, hook = await server.request(
        "POST",
        "/v1/webhooks",
        {"url": "http://93.184.215.14/hook", "events": ["survey.*"]},
        token=server.admin_token,
    )
    assert status == 201, hook
    assert hook["secret"].startswith("whsec_") and len(hook["secret"]) > 30


async def test_the_delivery_resolver_refuses_private_addresses_at_connect_time() -> None:
    """A name checked at registration is checked again by the resolver each delivery connects through
    (what a DNS rebinding would change)."""
    with pytest.raises(UnsafeAddress):
        await GuardedResolver(allow_private=False).resolve("localhost", 80)
    allowed = await GuardedResolver(allow_private=True).resolve("localhost", 80)
    assert allowed and all(r["host"] in ("127.0.0.1", "::1") for r in allowed)


@pytest.mark.slow
async def test_a_killed_process_loses_nothing_and_two_processes_send_each_event_once(
    processes: Callable[..., Awaitable[RouterProcess]],
) -> None:
    receiver = Receiver()  # down until the end: everything waits in the outbox
    p1, p2 = await processes(CONFIG), await processes(CONFIG)
    async with aiohttp.ClientSession() as http:

        async def call(proc: RouterProcess, path: str, body: Any, token: str) -> Any:
            async with http.post(
                proc.url + path, json=body, headers={"Authorization": f"Bearer {token}"}
            ) as r:
                assert r.status in (200, 201), await r.text()
                return await r.json()

        admin = p1.admin_token
        hook = await call(p1, "/v1/webhooks", {"url": receiver.url, "events": ["interaction.queued"]}, admin)
        adapter = (await call(p1, "/v1/tokens", {"role": "adapter"}, admin))["token"]
        made = []
        for n in range(20):
            body = {
                "channel": "chat",
                "external_id": f"kill-{n}",
                "queue": "chat",
                "from": {"kind": VISITOR, "value": f"v-kill-{n}"},
            }
            made.append((await call(p1 if n % 2 else p2, "/v1/interactions", body, adapter))["id"])
        await asyncio.sleep(0.5)  # both processes are retrying against the closed port
        p1.kill()  # SIGKILL: its cursor lock, its leases and its connections die with it
        for n in range(20, 30):
            body = {
                "channel": "chat",
                "external_id": f"kill-{n}",
                "queue": "chat",
                "from": {"kind": VISITOR, "value": f"v-kill-{n}"},
            }
            made.append((await call(p2, "/v1/interactions", body, adapter))["id"])
        await receiver.start()
        try:
            got = await receiver.wait(lambda evs: len({e["data"]["interaction_id"] for e in evs}) >= 30, 60)
            await asyncio.sleep(1)
            ids = [e["id"] for e in receiver.events()]
            assert len(ids) == len(set(ids)) == 30, "an event was lost or sent twice"
            assert {e["data"]["interaction_id"] for e in got} == set(made)
            for h, b in receiver.received:
                assert verify(hook["secret"], h, b)
        finally:
            await receiver.stop()


async def test_a_webhook_belongs_to_its_routing_domain(make_server: MakeServer) -> None:
    """Two domains on one database and one Redis: each admin sees only its own webhooks, and each webhook
    gets only its own domain's events."""
    eu, us = await make_server(CONFIG, domain="eu"), await make_server(CONFIG, domain="us")
    eu_rx, us_rx = Receiver(), Receiver()
    await eu_rx.start()
    await us_rx.start()
    try:
        eu_hook = await subscribe(eu, eu_rx.url, ["interaction.queued"])
        us_hook = await subscribe(us, us_rx.url, ["interaction.queued"])
        _, listed = await eu.request("GET", "/v1/webhooks", token=eu.admin_token)
        assert [h["id"] for h in listed] == [eu_hook["id"]]
        for method, path in (
            ("DELETE", f"/v1/webhooks/{us_hook['id']}"),
            ("GET", f"/v1/webhooks/{us_hook['id']}/deliveries"),
        ):
            status, _ = await eu.request(method, path, token=eu.admin_token)
            assert status == 404, (method, path)
        in_eu = await chat(eu, "v-eu")
        in_us = await chat(us, "v-us")
        await eu_rx.wait(lambda evs: len(evs) >= 1)
        await us_rx.wait(lambda evs: len(evs) >= 1)
        await asyncio.sleep(0.5)
        assert [e["data"]["interaction_id"] for e in eu_rx.events()] == [in_eu["id"]]
        assert [e["data"]["interaction_id"] for e in us_rx.events()] == [in_us["id"]]
    finally:
        await eu_rx.stop()
        await us_rx.stop()


async def test_with_no_webhook_the_fanout_moves_its_cursor_once_a_second_and_a_new_one_wakes_it(
    make_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A domain with no webhook still moves the stream's cursor, in one transaction a second at most
    (not ten); creating a webhook here takes the fan-out back to its pace at once, and the first event
    after the creation is delivered."""
    from context_store import webhooks as store

    rounds: list[float] = []
    lock_cursor = store.lock_cursor

    async def counting_lock_cursor(conn: Any, stream: str) -> Any:
        rounds.append(time.monotonic())
        return await lock_cursor(conn, stream)

    monkeypatch.setattr(store, "lock_cursor", counting_lock_cursor)
    server = await make_server(CONFIG)
    await chat(server, "v-idle-0")
    await eventually(lambda: _true_after(rounds, 1))  # the fan-out found the domain unsubscribed
    rounds.clear()
    started = time.monotonic()
    for n in range(1, 26):  # events for 2.5 s at least
        await chat(server, f"v-idle-{n}")
        await asyncio.sleep(0.1)
    elapsed = time.monotonic() - started
    # at the busy pace (0.1 s) this would be about 25; a slow machine only makes it fewer
    assert len(rounds) <= elapsed / 1.0 + 2, (len(rounds), elapsed)

    receiver = Receiver()
    await receiver.start()
    try:
        await subscribe(server, receiver.url, ["interaction.queued"])
        it = await chat(server, "v-after")
        got = await receiver.wait(lambda evs: any(e["data"]["interaction_id"] == it["id"] for e in evs))
        assert all(e["type"] == "interaction.queued" for e in got)
    finally:
        await receiver.stop()


async def _true_after(rounds: list[float], n: int) -> bool:
    return len(rounds) >= n
