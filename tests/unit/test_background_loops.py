"""The background duties' loop stops when its task is cancelled, even when a round swallows the
cancellation (redis-py's asyncio client can return normally from a command whose task was cancelled
during it); otherwise a server's shutdown waits on it forever."""

from __future__ import annotations

import asyncio

from router.contracts.blending import BlendingRule
from router.service.blending import Blending
from router.service.reconciler import _forever


async def test_a_cancellation_swallowed_by_a_round_still_stops_the_loop() -> None:
    rounds = 0
    swallow = True
    started = asyncio.Event()

    async def round_() -> None:
        nonlocal rounds
        rounds += 1
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            if not swallow:
                raise
            # as a library that loses the cancellation does: the round returns normally

    task = asyncio.create_task(_forever("test", 0.01, round_))
    await started.wait()
    task.cancel()
    try:
        done, _ = await asyncio.wait([task], timeout=2)
    finally:
        swallow = False
        task.cancel()  # without the fix the loop runs on; this stops it so the test ends either way
        await asyncio.gather(task, return_exceptions=True)
    assert task in done, "the loop ran on after its task was cancelled"
    assert rounds == 1


async def test_the_blending_duty_stops_too() -> None:
    started = asyncio.Event()

    class Swallowing(Blending):
        async def round(self) -> bool:
            started.set()
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                pass  # as a library that loses the cancellation does
            return True

    rule = BlendingRule.model_validate(
        {
            "channel": "voice",
            "when": {"ewt_over_seconds": 1},
            "agents": {"group": "g"},
            "capacity": {"voice": 1},
        }
    )
    duty = Swallowing(None, None, None, None, None, [rule], interval_seconds=0.01)  # type: ignore[arg-type]
    task = asyncio.create_task(duty.run())
    await started.wait()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=2)
    assert task in done, "the blending loop ran on after its task was cancelled"
