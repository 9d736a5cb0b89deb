from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from router.sdk.client import RouterClient
from tests.support.recorders import RouterStub


@pytest.fixture
async def router_stub() -> AsyncIterator[RouterStub]:
    stub = RouterStub()
    await stub.start()
    yield stub
    await stub.stop()


@pytest.fixture
async def router_client(router_stub: RouterStub) -> AsyncIterator[RouterClient]:
    async with RouterClient(router_stub.url, "adapter-token") as client:
        yield client
