"""Start-up as operators expect: the server waits for its backends (bounded), and a port in use or a
backend that never answers is one clear line, not a traceback."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import aiohttp

from router.embedded import redis_binary
from tests.support.configs import DEFAULT
from tests.support.ports import free_port
from tests.support.servers import Services


def _config(tmp_path: Path, wait_seconds: float, namespace: str | None = None) -> Path:
    """``namespace``: the test's own (the fixture's, removed afterwards) when the router reaches the
    shared Redis and builds its index there."""
    path = tmp_path / "omniroute.toml"
    namespace = namespace or "t" + uuid.uuid4().hex[:10]
    path.write_text(
        str(DEFAULT.with_server(backend_wait_seconds=wait_seconds).with_routing(namespace=namespace))
    )
    return path


def _env(services: Services, redis_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": redis_url,
        "OMNIROUTE_ADMIN_TOKEN": "admin-" + uuid.uuid4().hex,
        "OMNIROUTE_DATA_DIR": str(tmp_path / "data"),
    }


async def test_serve_waits_for_a_backend_that_comes_up_late(services: Services, tmp_path: Path) -> None:
    redis_port, port = free_port(), free_port()
    # warnings only: the pipe is read at the end, and must not fill up with access logs before then
    env = {**_env(services, f"redis://127.0.0.1:{redis_port}/0", tmp_path), "OMNIROUTE_LOG_LEVEL": "warning"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "router", "serve", "--config", str(_config(tmp_path, 60)), "--port", str(port),
        env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    redis = None
    seen: list[bytes] = []
    try:
        # Redis starts only once the router has said it is waiting for it (it logs each retry)
        async def waiting() -> None:
            while b"backend.waiting" not in (line := await proc.stdout.readline()):  # type: ignore[union-attr]
                assert line, "serve exited instead of waiting for Redis: " + b"".join(seen).decode()[-2000:]
                seen.append(line)

        await asyncio.wait_for(waiting(), 60)
        await asyncio.sleep(0.5)  # and a retry or two more
        assert proc.returncode is None, "serve gave up instead of waiting for Redis"
        redis = await asyncio.create_subprocess_exec(
            *(redis_binary(), "--port", str(redis_port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no"),
            stdout=asyncio.subprocess.DEVNULL,
        )
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("serve did not come up once Redis answered")
    finally:
        if proc.returncode is None:
            proc.terminate()
        out, _ = await proc.communicate()
        if redis is not None:
            redis.terminate()
            await redis.wait()
    assert b"Traceback" not in b"".join(seen) + out


async def test_a_backend_that_never_answers_is_one_line(services: Services, tmp_path: Path) -> None:
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "router", "serve", "--config", str(_config(tmp_path, 1)), "--port", "0"],
        env=_env(services, f"redis://user:s3cret@127.0.0.1:{free_port()}/0", tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("omniroute: Redis at 127.0.0.1:") and "did not answer within 1 s" in last
    assert "Traceback" not in done.stderr
    assert "s3cret" not in done.stderr + done.stdout


async def test_a_port_in_use_is_one_line(services: Services, namespace: str, tmp_path: Path) -> None:
    # the router builds its live index in the shared Redis before it binds the port: under the test's
    # namespace, whose keys the fixture removes (19 keys were left behind on every run)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "router",
                "serve",
                "--config",
                str(_config(tmp_path, 5, namespace)),
                "--port",
                str(port),
            ],
            env=_env(services, services.redis_url, tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1] == (
        f"omniroute: port {port} on 127.0.0.1 is already in use; choose another with --port"
    )
    assert "Traceback" not in done.stderr
