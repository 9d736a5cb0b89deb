"""An agent desktop over the real websocket, as the tests drive it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp


class AgentClient:
    """An agent desktop over the real websocket: frames arrive in an inbox, read by type."""

    def __init__(self, url: str, agent_id: str, token: str) -> None:
        self.url, self.agent_id, self.token = url, agent_id, token
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.frames: list[dict[str, Any]] = []
        self._new = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self.hello: dict[str, Any] = {}
        self._ref = 0

    async def connect(self) -> dict[str, Any]:
        self.session = aiohttp.ClientSession()
        ws_url = self.url.replace("http", "ws") + f"/v1/agents/{self.agent_id}/socket?token={self.token}"
        self.ws = await self.session.ws_connect(ws_url, heartbeat=10)
        self._reader = asyncio.create_task(self._read())
        self.hello = await self.next("hello")
        return self.hello

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.frames.append(json.loads(msg.data))
                self._new.set()
        self._new.set()

    async def next(self, type_: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        """The first unread frame of this type (and matching fields); it is consumed."""

        async def find() -> dict[str, Any]:
            while True:
                for i, f in enumerate(self.frames):
                    if f.get("type") == type_ and all(f.get(k) == v for k, v in match.items()):
                        return self.frames.pop(i)
                if (
                    self.ws is not None
                    and self.ws.closed
                    and self._reader is not None
                    and self._reader.done()
                ):
                    raise ConnectionError(f"socket closed while waiting for {type_}")
                self._new.clear()
                await self._new.wait()

        return await asyncio.wait_for(find(), timeout)

    def pending(self, type_: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == type_]

    async def send_raw(self, text: str) -> None:
        assert self.ws is not None
        await self.ws.send_str(text)

    async def call(self, frame: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Send a frame with a fresh ref; return its ack, or its error frame."""
        self._ref += 1
        ref = f"r{self._ref}"
        await self.send_raw(json.dumps({**frame, "ref": ref}))

        async def answer() -> dict[str, Any]:
            while True:
                for i, f in enumerate(self.frames):
                    if f.get("type") in ("ack", "error") and f.get("ref") == ref:
                        return self.frames.pop(i)
                self._new.clear()
                await self._new.wait()

        return await asyncio.wait_for(answer(), timeout)

    async def set_state(self, state: str) -> dict[str, Any]:
        ack = await self.call({"type": "set_state", "state": state})
        assert ack["type"] == "ack", ack
        return ack

    async def accept_next(self, timeout: float = 10.0) -> tuple[dict[str, Any], dict[str, Any]]:
        offer = await self.next("offer", timeout)
        ack = await self.call({"type": "accept", "offer_id": offer["offer_id"]})
        assert ack["type"] == "ack", ack
        assigned = await self._assigned(offer)
        return offer, assigned

    async def _assigned(self, offer: dict[str, Any]) -> dict[str, Any]:
        iid = offer["interaction"]["id"]

        async def find() -> dict[str, Any]:
            while True:
                for i, f in enumerate(self.frames):
                    if f.get("type") == "assigned" and f["interaction"]["id"] == iid:
                        return self.frames.pop(i)
                self._new.clear()
                await self._new.wait()

        return await asyncio.wait_for(find(), 10)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        if self.session is not None:
            await self.session.close()
