"""Campaigns across router processes (``python -m router serve``): two processes share one rate, and a
campaign whose process is killed (SIGKILL) in the middle goes on with no customer messaged twice."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import asyncpg
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from router.routing.keys import Keys
from tests.support.configs import with_adapters
from tests.support.providers import TWILIO_TOKEN
from tests.support.recorders import Recorder
from tests.support.servers import RouterProcess, Services

MESSAGES_PATH = "/2010-04-01/Accounts/AC123/Messages.json"
N = 60
RATE = 5.0
# At the provider, a send arrives its booking plus a hand-over (commit, the adapter's HTTP request),
# and on a busy machine that delay varies: a WINDOW of arrivals may hold the bookings of WINDOW + JITTER
# seconds. 2 s windows with 1 s of jitter allow 16 sends where the rate is 10; a limiter per process (twice
# the rate) puts about 20 in each. The limiter itself is checked exactly, on its own bookings.
WINDOW = 2.0
JITTER = 1.0


@pytest.mark.slow
async def test_a_killed_process_messages_nobody_twice_and_processes_share_the_rate(
    processes: Callable[..., Awaitable[RouterProcess]], services: Services, namespace: str
) -> None:
    provider = Recorder()
    arrivals: list[tuple[float, str]] = []
    counter = itertools.count(1)

    async def twilio(request: web.Request, raw: bytes) -> web.Response:
        arrivals.append((time.monotonic(), dict(parse_qsl(raw.decode()))["To"]))
        return web.json_response({"sid": f"SM-P-{next(counter)}", "status": "queued"}, status=201)

    provider.routes[("POST", MESSAGES_PATH)] = twilio
    # The limiter's bookings, as every process makes them (campaign_rate.lua): the key holds the time of
    # the next allowed send (µs, Redis's clock), set once per send and standing at least 1/RATE s, so
    # reading it every 20 ms sees (nearly) every booking.
    bookings: set[int] = set()
    rate_key = Keys.for_namespace(namespace).campaign_rate("bill-reminder")

    async def watch_bookings() -> None:
        r = aioredis.Redis.from_url(services.redis_url, decode_responses=True)
        try:
            while True:
                if (booked := await r.get(rate_key)) is not None:
                    bookings.add(int(booked))
                await asyncio.sleep(0.02)
        finally:
            await r.aclose()

    watcher = asyncio.create_task(watch_bookings())
    await provider.start()
    config = with_adapters(
        twilio_sms={
            "account_sid": "AC123",
            "auth_token": TWILIO_TOKEN,
            "from_number": "+15558675310",
            "base_url": provider.url,
        }
    ).with_outbound(campaign_poll_seconds=0.2, campaign_lease_seconds=3)
    p1, p2 = await processes(config), await processes(config)
    numbers = [f"+1415555{n:04d}" for n in range(1000, 1000 + N)]
    try:
        # every request answers in well under a second: one that hangs fails here, naming itself, rather
        # than holding the test until its overall timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:

            async def call(proc: RouterProcess, method: str, path: str, body: Any, token: str) -> Any:
                async with http.request(
                    method, proc.url + path, json=body, headers={"Authorization": f"Bearer {token}"}
                ) as r:
                    assert r.status in (200, 201), await r.text()
                    return await r.json()

            admin = p1.admin_token
            adapter = (await call(p1, "POST", "/v1/tokens", {"role": "adapter"}, admin))["token"]
            supervisor = (await call(p1, "POST", "/v1/tokens", {"role": "supervisor"}, admin))["token"]
            ids = []
            for number in numbers:
                event = {"identity": {"kind": "phone", "value": number}, "type": "signed_up", "data": {}}
                ids.append((await call(p2, "POST", "/v1/journey-events", event, adapter))["customer_id"])
            campaign = {
                "id": "bill-reminder",
                "purpose": "billing_reminders",
                "message": {"text": "Your bill is due on Friday."},
                "audience": {"customer_ids": ids},
                "fallback": ["sms"],
                "rate_per_second": RATE,
            }
            await call(p1, "POST", "/v1/campaigns", campaign, supervisor)
            await call(p2, "POST", "/v1/campaigns/bill-reminder/start", None, supervisor)

            deadline = time.monotonic() + 60
            while len(arrivals) < 15:
                assert time.monotonic() < deadline, "the campaign did not start sending"
                await asyncio.sleep(0.05)
            conn = await asyncpg.connect(services.database_url)
            try:
                senders = await conn.fetchval(
                    "SELECT count(DISTINCT claimed_by) FROM campaign_recipients WHERE claimed_by IS NOT NULL",
                    timeout=30,
                )
            finally:
                await conn.close()
            assert senders == 2, "both processes send"
            p1.kill()  # SIGKILL, in the middle of the campaign
            killed_at = len(arrivals)
            p3 = await processes(config)  # the killed process comes back

            async def completed() -> dict[str, Any]:
                while True:
                    got = await call(p3, "GET", "/v1/campaigns/bill-reminder", None, supervisor)
                    if got["status"] == "completed":
                        return dict(got)
                    await asyncio.sleep(0.2)

            done = await asyncio.wait_for(completed(), 90)
            rows = (
                await call(p3, "GET", "/v1/campaigns/bill-reminder/recipients?limit=1000", None, supervisor)
            )["recipients"]
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await provider.stop()

    assert len(arrivals) > killed_at, "the campaign went on after the kill"
    per_number = Counter(to for _, to in arrivals)
    assert max(per_number.values()) == 1, f"messaged twice: {[n for n, c in per_number.items() if c > 1]}"
    counts = done["counts"]
    # at most once: a message whose hand-over the killed process never recorded is not sent again
    interrupted = [r for r in rows if r["status"] == "failed"]
    assert all("interrupted" in (r["detail"] or "") for r in interrupted)
    assert len(interrupted) <= 2
    assert counts["sent"] == N - len(interrupted) == len(per_number)
    assert counts["queued"] == 0 and sum(counts.values()) == N
    sent_numbers = {numbers[ids.index(r["customer_id"])] for r in rows if r["status"] == "sent"}
    assert sent_numbers == set(per_number)

    # the limiter holds the rate over every process: its bookings are 1/RATE s apart or more, exactly
    # (a booking the watcher missed only widens a gap); it booked the sends (missing some to a stall of
    # this process, never half of them)
    booked = sorted(bookings)
    assert len(booked) >= N // 2, len(booked)
    gaps = [b - a for a, b in itertools.pairwise(booked)]
    assert min(gaps) >= 1e6 / RATE - 1, min(gaps)
    # and the provider sees that rate: no window of arrivals holds more than the bookings of WINDOW +
    # JITTER seconds (see JITTER), and the sends as a whole come no faster than the rate (10 % for the
    # jitter of the first and last)
    times = sorted(t for t, _ in arrivals)
    busiest = max(sum(1 for u in times if t <= u < t + WINDOW) for t in times)
    assert busiest <= RATE * (WINDOW + JITTER) + 1, busiest
    overall = (len(times) - 1) / (times[-1] - times[0])
    assert overall <= RATE * 1.1, overall
