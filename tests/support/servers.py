"""The servers the tests run against: the backing services (PostgreSQL, Redis), omniroute servers in
this process (:class:`TestServer`, with an HTTP client for the API) and as an operator runs them
(:class:`RouterProcess`)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
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
from router.service.work import WORK, Work
from tests.support.agents import AgentClient
from tests.support.ports import free_port


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
    def work(self) -> Work:
        return self.server[WORK]

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


class RouterProcess:
    """``python -m router serve`` in its own process, as an operator runs it."""

    def __init__(self, config_toml: str, services: Services, admin_token: str, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = workdir / f"router-{self.port}.toml"
        self.config.write_text(config_toml)
        self.log = workdir / f"router-{self.port}.log"
        self.services, self.admin_token = services, admin_token
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
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
        # a probe that hangs (a port answered before the app is up) is dropped and tried again
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as s:
            while time.monotonic() < deadline:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"router exited: {self.log.read_text()[-2000:]}")
                try:
                    async with s.get(self.url + "/healthz") as r:
                        if r.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
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


async def interaction(server: TestServer, interaction_id: str) -> dict[str, Any]:
    """The interaction as a supervisor reads it from the API."""
    status, body = await server.request("GET", f"/v1/interactions/{interaction_id}", role="supervisor")
    assert status == 200, body
    return dict(body)
