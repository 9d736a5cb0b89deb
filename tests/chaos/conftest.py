"""Fault runs use servers they start themselves, never the machine's: a PostgreSQL and a Redis for the
module (each test gets a database and a namespace of its own), which a run may stop, kill or empty.

Each run's figures are printed and collected; the terminal summary shows them at the end of the session,
so they appear without ``-s``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.chaos.backends import OwnPostgres, OwnRedis
from tests.chaos.cluster import Cluster

FIGURES = pytest.StashKey[list[str]]()


@pytest.fixture(scope="module")
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnPostgres]:
    pg = OwnPostgres(tmp_path_factory.mktemp("chaos-postgres"))
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()
        # restarted or not, no server of the module outlives it
        assert not (pg.embedded.pgdata / "postmaster.pid").exists(), "the module's PostgreSQL still runs"


@pytest.fixture
async def cluster(own_postgres: OwnPostgres, own_redis: OwnRedis, tmp_path: Path) -> AsyncIterator[Cluster]:
    # a run that failed half-way may have left a server down: every run starts with both up
    if not own_redis.running:
        own_redis.start()
    if not (own_postgres.embedded.pgdata / "postmaster.pid").exists():
        await asyncio.to_thread(own_postgres.up)
    c = Cluster(await own_postgres.new_database(), own_postgres, own_redis, tmp_path)
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Report one run's figures: printed, kept as a property of the test, and shown in the summary."""
    lines = request.config.stash.setdefault(FIGURES, [])

    def report(line: str) -> None:
        print(line)
        lines.append(line)
        request.node.user_properties.append(("figures", line))

    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = config.stash.get(FIGURES, [])
    if lines:
        terminalreporter.write_sep("-", "fault runs")
        for line in lines:
            terminalreporter.write_line(line)
