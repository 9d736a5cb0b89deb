"""Real servers on loopback that record what they are sent: :class:`Recorder` (an HTTP server that
answers from a script: a provider's API), :class:`RouterStub` (the router's API as the adapters see
it, for the adapter tests that run without a router) and :class:`SmtpRelay` (an SMTP relay)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.smtp import SMTP


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Callable[[web.Request, bytes], Awaitable[web.StreamResponse]]


@dataclass
class Recorder:
    """A real HTTP server on 127.0.0.1 that records requests and answers from ``routes``."""

    routes: dict[tuple[str, str], Responder] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    fail_with: int | None = None
    _runner: web.AppRunner | None = None
    url: str = ""

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            Recorded(request.method, request.path, dict(request.query), dict(request.headers), body)
        )
        if self.fail_with is not None:
            return web.json_response({"title": "scripted failure"}, status=self.fail_with)
        for (method, prefix), responder in self.routes.items():
            if request.method == method and request.path.startswith(prefix):
                return await responder(request, body)
        return web.json_response({"title": "no route"}, status=404)

    async def start(self) -> Recorder:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def made(self, method: str, prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]


def interaction_json(interaction_id: str, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    base: dict[str, Any] = {
        "id": interaction_id,
        "customer_id": "cus-1",
        "conversation_id": "conv-1",
        "channel": "voice",
        "external_id": "ext",
        "queue": "default",
        "status": "queued",
        "priority": 0,
        "attributes": {},
        "created_at": now,
        "enqueued_at": now,
    }
    base.update(overrides)
    return base


class RouterStub(Recorder):
    """The router's API as the adapters see it: ingest, read, end, receipts."""

    def __init__(self) -> None:
        super().__init__()
        self.interactions: dict[str, dict[str, Any]] = {}
        self.by_external: dict[str, str] = {}
        self.unknown_statuses = False
        self.routes = {
            ("POST", "/v1/interactions/"): self._end,
            ("POST", "/v1/interactions"): self._ingest,
            ("GET", "/v1/interactions/"): self._get,
            ("POST", "/v1/messages/status"): self._status,
        }

    async def _ingest(self, request: web.Request, body: bytes) -> web.Response:
        event = json.loads(body)
        known = self.by_external.get(event["external_id"])
        interaction_id = known or f"int-{uuid.uuid4().hex[:8]}"
        if known is None:
            self.by_external[event["external_id"]] = interaction_id
            self.interactions[interaction_id] = interaction_json(
                interaction_id,
                channel=event["channel"],
                external_id=event["external_id"],
                from_kind=event["from"]["kind"],
                from_value=event["from"]["value"],
                position=1,
                estimated_wait_seconds=30.0,
            )
        return web.json_response(
            {
                "id": interaction_id,
                "customer_id": "cus-1",
                "conversation_id": "conv-1",
                "status": "queued",
                "queue": "default",
                "position": 2,
                "estimated_wait_seconds": 95.0,
                "created": known is None,
            },
            status=201 if known is None else 200,
        )

    async def _get(self, request: web.Request, body: bytes) -> web.Response:
        found = self.interactions.get(request.path.rsplit("/", 1)[-1])
        if found is None:
            return web.json_response({"title": "not found", "status": 404}, status=404)
        return web.json_response(found)

    async def _end(self, request: web.Request, body: bytes) -> web.Response:
        interaction_id = request.path.split("/")[3]
        found = self.interactions.get(interaction_id)
        if found is None or not request.path.endswith("/end"):
            return web.json_response({"title": "not found", "status": 404}, status=404)
        found["status"] = "abandoned" if found["status"] == "queued" else "ended"
        found["end_reason"] = json.loads(body)["reason"]
        return web.json_response(found)

    async def _status(self, request: web.Request, body: bytes) -> web.Response:
        if self.unknown_statuses:
            return web.json_response({"title": "unknown message", "status": 404}, status=404)
        return web.Response(status=204)

    def ingested(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.made("POST", "/v1/interactions") if r.path == "/v1/interactions"]


async def serve_adapter(adapter: Any) -> TestClient[web.Request, web.Application]:
    """The adapter's routes mounted under ``/adapters`` on a real loopback server."""
    sub = web.Application()
    sub.add_routes(adapter.routes())
    app = web.Application()
    app.add_subapp("/adapters", sub)
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


class SmtpRelay:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that records what it is given.

    ``rcpt_reply`` / ``data_reply`` script refusals ("450 …", "550 …").
    """

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.rcpt_reply: str | None = None
        self.data_reply: str | None = None
        self._server: Any = None
        self.port = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    async def start(self) -> SmtpRelay:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self, hostname="relay.test", loop=loop), "127.0.0.1", 0
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()
