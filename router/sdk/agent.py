"""An agent desktop's websocket, for a third-party desktop or a bot that works as an agent.

The protocol (every frame each side sends) is the AsyncAPI document at ``GET /v1/asyncapi.json``. Frames
are JSON objects with a ``type``; this helper hands them over as dicts, and each request frame it sends
carries a ``ref`` so that the ``ack`` or ``error`` answering it is found::

    async with AgentSocket(base_url, "alice", token) as desk:
        await desk.set_state("available")
        offer = await desk.next("offer")
        await desk.accept(offer["offer_id"])
        await desk.send_message(offer["interaction"]["id"], "Hello, how can I help?")
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import aiohttp


class FrameError(Exception):
    """The server answered a request frame with an ``error`` frame."""

    def __init__(self, frame: dict[str, Any]) -> None:
        super().__init__(f"{frame.get('code')}: {frame.get('detail')}")
        self.frame = frame
        self.code = str(frame.get("code"))


class AgentSocket:
    def __init__(
        self,
        base_url: str,
        agent_id: str,
        token: str,
        *,
        session: aiohttp.ClientSession | None = None,
        heartbeat: float = 10,
    ) -> None:
        self.url = base_url.rstrip("/").replace("http", "ws", 1) + f"/v1/agents/{agent_id}/socket"
        self.agent_id = agent_id
        self._token = token
        self._session = session
        self._own_session = session is None
        self._heartbeat = heartbeat
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._inbox: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._refs = itertools.count(1)
        self.hello: dict[str, Any] = {}

    async def __aenter__(self) -> AgentSocket:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> dict[str, Any]:
        """Open the socket (the token in the ``Authorization`` header) and return the ``hello`` frame:
        the agent's state and the work and offers it already holds."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(
            self.url, headers={"Authorization": f"Bearer {self._token}"}, heartbeat=self._heartbeat
        )
        self._reader = asyncio.create_task(self._read())
        self.hello = await self.next("hello")
        return self.hello

    async def _read(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self._inbox.append(json.loads(msg.data))
                self._changed.set()
        self._changed.set()

    @property
    def closed(self) -> bool:
        return self._ws is None or self._ws.closed

    @property
    def close_code(self) -> int | None:
        return self._ws.close_code if self._ws is not None else None

    async def next(self, type_: str | None = None, timeout: float = 30, **match: Any) -> dict[str, Any]:
        """The oldest unread frame of this type (any type when None) whose fields equal ``match``; it
        is consumed. ConnectionError when the socket closes first."""

        async def find() -> dict[str, Any]:
            while True:
                for i, frame in enumerate(self._inbox):
                    if (type_ is None or frame.get("type") == type_) and all(
                        frame.get(k) == v for k, v in match.items()
                    ):
                        return self._inbox.pop(i)
                if self._reader is not None and self._reader.done():
                    raise ConnectionError(f"the socket closed (code {self.close_code})")
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(find(), timeout)

    async def send(self, frame: dict[str, Any]) -> None:
        """Send a frame as it is."""
        assert self._ws is not None, "connect() first"
        await self._ws.send_str(json.dumps(frame))

    async def call(self, frame: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        """Send a request frame with a fresh ``ref`` and return the ``ack``'s ``result``; raise
        :class:`FrameError` when the answer is an ``error``."""
        ref = f"sdk-{next(self._refs)}"
        await self.send({**frame, "ref": ref})

        async def answer() -> dict[str, Any]:
            while True:
                for i, f in enumerate(self._inbox):
                    if f.get("ref") == ref and f.get("type") in ("ack", "error"):
                        return self._inbox.pop(i)
                if self._reader is not None and self._reader.done():
                    raise ConnectionError(f"the socket closed (code {self.close_code})")
                self._changed.clear()
                await self._changed.wait()

        reply = await asyncio.wait_for(answer(), timeout)
        if reply["type"] == "error":
            raise FrameError(reply)
        return dict(reply.get("result") or {})

    async def set_state(self, state: str) -> dict[str, Any]:
        return await self.call({"type": "set_state", "state": state})

    async def accept(self, offer_id: str) -> dict[str, Any]:
        return await self.call({"type": "accept", "offer_id": offer_id})

    async def reject(self, offer_id: str, reason: str | None = None) -> dict[str, Any]:
        return await self.call({"type": "reject", "offer_id": offer_id, "reason": reason})

    async def send_message(self, interaction_id: str, body: str, **fields: Any) -> dict[str, Any]:
        return await self.call(
            {"type": "send_message", "interaction_id": interaction_id, "body": body, **fields}
        )

    async def add_note(self, interaction_id: str, body: str) -> dict[str, Any]:
        return await self.call({"type": "add_note", "interaction_id": interaction_id, "body": body})

    async def complete(self, interaction_id: str, **fields: Any) -> dict[str, Any]:
        """Complete the work (``disposition``, ``summary``); wrap-up starts."""
        return await self.call({"type": "complete", "interaction_id": interaction_id, **fields})

    async def transfer(self, interaction_id: str, queue: str, **fields: Any) -> dict[str, Any]:
        return await self.call(
            {"type": "transfer", "interaction_id": interaction_id, "queue": queue, **fields}
        )

    async def end_wrapup(self, interaction_id: str) -> dict[str, Any]:
        return await self.call({"type": "end_wrapup", "interaction_id": interaction_id})

    async def ping(self) -> dict[str, Any]:
        return await self.call({"type": "ping"})

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.wait([self._reader], timeout=5)
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None
