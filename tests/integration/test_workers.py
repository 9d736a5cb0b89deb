"""``omniroute serve --workers 2`` as an operator runs it: one port, two router processes that both serve
it, a worker killed with ``kill -9`` restarted by the parent while the other goes on answering, and a
SIGTERM that stops them all."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis

from router.routing.keys import Keys
from router.workers import worker_count
from tests.support.configs import DEFAULT
from tests.support.servers import Services


def _started(log: Path) -> list[int]:
    """Worker pids in the order the parent started them."""
    pids = []
    for line in log.read_text(errors="replace").splitlines():
        if '"worker.started"' in line:
            pids.append(int(json.loads(line)["pid"]))
    return pids


async def _until(what: str, check: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not (await check() if asyncio.iscoroutinefunction(check) else check()):  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def _serve(
    services: Services, redis_url: str, tmp_path: Path, namespace: str, stdout: int
) -> tuple[asyncio.subprocess.Process, Path]:
    """``omniroute serve --workers 2`` on a free port, its log (JSON lines) in a file."""
    config = tmp_path / "omniroute.toml"
    config.write_text(str(DEFAULT.with_routing(namespace=namespace)))
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": redis_url,
        "OMNIROUTE_ADMIN_TOKEN": "admin-" + uuid.uuid4().hex,
        "OMNIROUTE_DATA_DIR": str(tmp_path / "data"),
        "OMNIROUTE_LOG_LEVEL": "info",
    }
    with log.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "router", "serve", "--workers", "2", "--config", str(config), "--port", "0",
            env=env, stdout=stdout, stderr=err,
        )  # fmt: skip
    return proc, log


async def test_two_workers_share_one_port_and_a_killed_one_comes_back(
    services: Services, redis_url: str, tmp_path: Path, namespace: str
) -> None:
    proc, log = await _serve(services, redis_url, tmp_path, namespace, asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    r = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert line.startswith(b"omniroute is running at http://"), line
        url = line.decode().split()[-1]

        async def both_registered() -> bool:
            nodes = [k async for k in r.scan_iter(match=Keys.for_namespace(namespace).node("*"))]
            return len(nodes) == 2

        await _until("two workers registered in the live index", both_registered)
        first, second = _started(log)
        assert first != second and _alive(first) and _alive(second)
        assert '"worker.exited"' not in log.read_text(), "a worker died while starting beside the other"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/healthz") as resp:
                assert resp.status == 200
                assert (await resp.json())["node"]

            os.kill(first, signal.SIGKILL)
            # the other worker answers on the same port while the parent starts a new one
            for _ in range(20):
                async with http.get(f"{url}/healthz") as resp:
                    assert resp.status == 200
            await _until("a new worker started", lambda: len(_started(log)) == 3)
            third = _started(log)[2]
            assert third not in (first, second)
            await _until("the new worker serves", lambda: _alive(third))
            assert '"worker.exited"' in log.read_text()

        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 60) == 0
        await _until("every worker stopped", lambda: not (_alive(second) or _alive(third)), timeout=10)
        assert "worker.killed" not in log.read_text(), "each worker stopped by itself on SIGTERM"
    finally:
        if proc.returncode is None:
            proc.kill()  # its workers see their parent gone and stop
            await proc.wait()
        await r.aclose()
    assert "Traceback" not in log.read_text(errors="replace")


@pytest.mark.parametrize(("given", "expected"), [("1", 1), ("3", 3), ("auto", os.cpu_count() or 1)])
def test_worker_count(given: str, expected: int) -> None:
    assert worker_count(given) == expected


@pytest.mark.parametrize("given", ["0", "-2", "two", ""])
def test_a_bad_worker_count_is_refused(given: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="number of workers"):
        worker_count(given)


async def test_workers_stop_when_their_parent_is_killed(
    services: Services, redis_url: str, tmp_path: Path, namespace: str
) -> None:
    """A parent killed outright (no chance to stop its workers) leaves no worker serving on unsupervised."""
    proc, log = await _serve(services, redis_url, tmp_path, namespace, asyncio.subprocess.DEVNULL)
    try:
        await _until("two workers ready", lambda: log.read_text().count('"worker.ready"') == 2)
        workers = _started(log)
        proc.kill()
        await proc.wait()
        await _until("the workers stopped", lambda: not any(_alive(p) for p in workers), timeout=20)
        assert log.read_text().count('"worker.orphaned"') == 2
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
