"""The supervisor socket as the wallboard drives it, for the tests: a new supervisor token's socket,
frames read in order by predicate, requests answered by their ``ack`` or ``error``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from tests.support.servers import TestServer


class SupervisorSocket:
    """The supervisor socket as the wallboard drives it: frames read in order, by predicate.
    ``token_id`` names the supervisor token it was opened with (the audit's actor)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, token_id: str) -> None:
        self.ws = ws
        self.token_id = token_id
        self._ref = 0

    async def next(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 10) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            while True:
                msg = await self.ws.receive()
                assert msg.type == aiohttp.WSMsgType.TEXT, msg
                frame = json.loads(msg.data)
                if pred(frame):
                    return dict(frame)

        return await asyncio.wait_for(find(), timeout)

    async def call(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Send a frame (with a fresh ``ref`` unless it has one); its ``ack`` or ``error``."""
        if "ref" not in frame:
            self._ref += 1
            frame = {**frame, "ref": f"s{self._ref}"}
        await self.ws.send_json(frame)
        return await self.next(lambda f: f["type"] in ("ack", "error") and f.get("ref") == frame["ref"])


@asynccontextmanager
async def supervisor(server: TestServer) -> AsyncIterator[SupervisorSocket]:
    """A new supervisor token's socket, past its snapshot."""
    status, made = await server.request(
        "POST", "/v1/tokens", {"role": "supervisor", "name": "Sam"}, token=server.admin_token
    )
    assert status == 201, made
    async with aiohttp.ClientSession() as s:
        ws = await s.ws_connect(
            server.url.replace("http", "ws") + f"/v1/supervisor/socket?token={made['token']}"
        )
        sup = SupervisorSocket(ws, made["id"])
        await sup.next(lambda f: f["type"] == "snapshot")
        try:
            yield sup
        finally:
            await ws.close()
