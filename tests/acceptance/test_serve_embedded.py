"""`omniroute serve` on a machine without servers: embedded PostgreSQL and Redis under the data
directory, the demo configuration with its tokens printed, and everything stopped on exit."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import psutil
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
async def test_serve_without_urls_runs_embedded_servers_and_stops_them(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "OMNIROUTE_ADMIN_TOKEN")
    }
    env["OMNIROUTE_DATA_DIR"] = str(tmp_path / "data")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "router",
        "--log-level",
        "warning",
        "serve",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    banner = ""
    try:
        async with asyncio.timeout(120):
            while "agent:carol" not in banner:
                line = await proc.stdout.readline()
                assert line, f"serve exited early: {banner}"
                banner += line.decode()
        assert f"http://127.0.0.1:{port}" in banner
        admin = re.search(r"admin\s+(\S+)", banner)
        adapter = re.search(r"adapter\s+(\S+)", banner)
        assert admin and adapter
        children = psutil.Process(proc.pid).children(recursive=True)
        names = " ".join(c.name() for c in children)
        assert "valkey-server" in names or "redis-server" in names
        assert (tmp_path / "data" / "postgres" / "PG_VERSION").exists()
        async with aiohttp.ClientSession() as s:
            async with s.get(f"http://127.0.0.1:{port}/healthz") as r:
                assert r.status == 200
            body = {
                "channel": "voice",
                "external_id": "CA-demo",
                "from": {"kind": "phone", "value": "+15550100"},
                "attributes": {"intent": "billing"},
            }
            async with s.post(
                f"http://127.0.0.1:{port}/v1/interactions",
                json=body,
                headers={"Authorization": f"Bearer {adapter.group(1)}"},
            ) as r:
                assert r.status == 201
                assert (await r.json())["queue"] == "billing"
        pg_pid = int((tmp_path / "data" / "postgres" / "postmaster.pid").read_text().split()[0])
        redis_pids = [c.pid for c in children if c.name() in ("valkey-server", "redis-server")]
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 60)
    assert proc.returncode == 0
    for pid in [pg_pid, *redis_pids]:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, pid
