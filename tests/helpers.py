"""Test helpers: a server handle, an HTTP API client, and an agent desktop client over the real socket."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from router.app import Server
from router.backends import POOL
from router.config import Settings
from router.node import NODE, Node
from router.realtime.hub import HUB, Hub
from router.routing.directory import DIRECTORY, Directory
from router.routing.engine import ENGINE, Engine

DEFAULT_CONFIG = """
[routing]
reconnect_grace_seconds = 2
timer_interval_seconds = 0.05

[[queues]]
id = "general"
skills = { general = 1 }
channels = ["voice", "chat", "email", "social", "sms"]
offer_timeout_seconds = 5
wrapup_seconds = 0

[[queues]]
id = "voice_billing"
skills = { billing = 3, voice = 1 }
channels = ["voice"]
priority = 10
offer_timeout_seconds = 5
wrapup_seconds = 0

[[queues]]
id = "chat"
skills = { chat = 1 }
channels = ["chat", "social", "sms"]
offer_timeout_seconds = 5
wrapup_seconds = 0

[[queues]]
id = "tier2"
skills = { billing = 7 }
channels = ["chat", "social", "voice", "email"]
priority = 20
offer_timeout_seconds = 5
wrapup_seconds = 0

[[agents]]
id = "alice"
name = "Alice"
skills = { general = 5, billing = 5, voice = 5 }
capacity = { voice = 1, chat = 0, email = 0, social = 0, sms = 0 }

[[agents]]
id = "bob"
name = "Bob"
skills = { general = 2, billing = 9 }
capacity = { voice = 1, chat = 2, social = 2 }

[[agents]]
id = "carol"
name = "Carol"
skills = { general = 5, chat = 5 }
capacity = { voice = 0, chat = 3, social = 3, sms = 3 }

[[rules]]
when = { intent = "billing", channel = "voice" }
queue = "voice_billing"
"""


@dataclass
class Services:
    database_url: str
    redis_url: str
    data_dir: Path


class TestServer:
    __test__ = False

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server = Server(settings)
        self.url = ""
        self._tokens: dict[tuple[str, str | None], str] = {}
        self.session: aiohttp.ClientSession | None = None

    @property
    def admin_token(self) -> str:
        assert self.settings.admin_token
        return self.settings.admin_token

    # the running application's services, for tests that look behind the API
    @property
    def pool(self) -> asyncpg.Pool:
        return self.server[POOL]

    @property
    def engine(self) -> Engine:
        return self.server[ENGINE]

    @property
    def redis(self) -> Any:
        return self.engine.redis

    @property
    def hub(self) -> Hub:
        return self.server[HUB]

    @property
    def directory(self) -> Directory:
        return self.server[DIRECTORY]

    @property
    def node(self) -> Node:
        return self.server[NODE]

    async def start(self) -> str:
        self.url = await self.server.start()
        self.session = aiohttp.ClientSession()
        return self.url

    async def stop(self) -> None:
        if self.session is not None:
            await self.session.close()
        await self.server.stop()

    async def token(self, role: str, agent_id: str | None = None) -> str:
        key = (role, agent_id)
        if key not in self._tokens:
            status, body = await self.request(
                "POST", "/v1/tokens", {"role": role, "agent_id": agent_id}, token=self.admin_token
            )
            assert status == 201, body
            self._tokens[key] = body["token"]
        return self._tokens[key]

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        role: str | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        assert self.session is not None
        if token is None and role is not None:
            token = await self.token(role)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            headers["Content-Type"] = "application/json"
        async with self.session.request(method, self.url + path, data=data, headers=headers) as resp:
            text = await resp.text()
            self.last_content_type = resp.content_type
            try:
                return resp.status, json.loads(text) if text else None
            except ValueError:
                return resp.status, text

    async def ingest(self, **event: Any) -> dict[str, Any]:
        event.setdefault("external_id", uuid.uuid4().hex)
        status, body = await self.request("POST", "/v1/interactions", event, role="adapter")
        assert status in (200, 201), (status, body)
        return dict(body)

    async def agent(self, agent_id: str, *, available: bool = True) -> AgentClient:
        token = await self.token("agent", agent_id)
        client = AgentClient(self.url, agent_id, token)
        await client.connect()
        if available:
            await client.set_state("available")
        return client


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


class RouterProcess:
    """``python -m router serve`` in its own process, as an operator runs it."""

    def __init__(self, config_toml: str, services: Services, admin_token: str, workdir: Path) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = workdir / f"router-{self.port}.toml"
        self.config.write_text(config_toml)
        self.log = workdir / f"router-{self.port}.log"
        self.services, self.admin_token = services, admin_token
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        import os
        import sys
        import time

        env = {
            **os.environ,
            "DATABASE_URL": self.services.database_url,
            "REDIS_URL": self.services.redis_url,
            "OMNIROUTE_ADMIN_TOKEN": self.admin_token,
            "OMNIROUTE_LOG_LEVEL": "warning",
        }
        self._logfile = open(self.log, "ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "router",
            "serve",
            "--config",
            str(self.config),
            "--port",
            str(self.port),
            env=env,
            stdout=self._logfile,
            stderr=self._logfile,
        )
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as s:
            while time.monotonic() < deadline:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"router exited: {self.log.read_text()[-2000:]}")
                try:
                    async with s.get(self.url + "/healthz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"router did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no cleanup at all

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if hasattr(self, "_logfile"):
            self._logfile.close()
