"""The engine on a real Redis Cluster: three masters started by the test (``tests/support/redis_cluster.py``),
routing domains whose hash tags land on different masters, router processes pointed at the cluster with
``REDIS_URL=redis+cluster://…``, and the exactly-once race run in every domain at once."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from router.backends import close_redis, redis_client
from router.config import Settings, parse_config
from router.service.reconciler import RECONCILER
from tests.conftest import _reset
from tests.integration.test_exactly_once import CONFIG, assign_exactly_once
from tests.support.configs import DEFAULT
from tests.support.redis_cluster import RedisClusterServers
from tests.support.servers import RouterProcess, Services, TestServer

pytestmark = pytest.mark.cluster

PER_DOMAIN = 60  # per domain; the three domains race at once


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    cluster = RedisClusterServers(tmp_path_factory.mktemp("redis-cluster"), replicas=True)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def on_cluster(services: Services, redis_cluster: RedisClusterServers) -> AsyncIterator[Services]:
    """The session's PostgreSQL (emptied) with the cluster as the live index."""
    await _reset(services)
    yield dataclasses.replace(services, redis_url=redis_cluster.url)


async def test_the_router_client_is_a_cluster_client_and_one_domain_stays_on_one_master(
    redis_cluster: RedisClusterServers,
) -> None:
    client = redis_client(redis_cluster.url)
    try:
        assert isinstance(client, aioredis.RedisCluster)
        await client.initialize()
        ns = "t" + uuid.uuid4().hex[:10]
        keys = [f"{{{ns}}}:{segment}" for segment in ("built", "events", "q:general", "a:alice")]
        nodes = {client.get_node_from_key(k) for k in keys}
        assert len(nodes) == 1, "a domain's keys are spread over several masters"
        [node] = nodes
        assert node is not None and node.port == redis_cluster.master_of(ns).port
    finally:
        await close_redis(client)


@pytest.fixture
async def cluster_server(on_cluster: Services) -> AsyncIterator[TestServer]:
    """A server in this process on the cluster, whose own repair rounds do not run during the test (only the
    first, at start)."""
    cfg = parse_config(str(DEFAULT.with_routing(reconcile_interval_seconds=3600)), source="test config")
    cfg.routing.namespace = "t" + uuid.uuid4().hex[:10]
    settings = Settings(
        file=cfg,
        database_url=on_cluster.database_url,
        redis_url=on_cluster.redis_url,
        admin_token="admin-" + uuid.uuid4().hex,
        data_dir=on_cluster.data_dir,
    )
    server = TestServer(settings)
    await server.start()
    try:
        reconciler = server.server[RECONCILER]
        for _ in range(500):
            if reconciler.repair_rounds:
                break
            await asyncio.sleep(0.01)
        assert reconciler.repair_rounds == 1
        yield server
    finally:
        await server.stop()


async def test_work_the_repair_and_a_rebuild_on_the_cluster(
    cluster_server: TestServer, redis_cluster: RedisClusterServers
) -> None:
    """What reads across the cluster: the repair finds the domain's live interactions with SCAN (every master
    is scanned), and a domain whose keys are gone (its master restarted empty) is rebuilt from PostgreSQL."""
    server = cluster_server
    assert isinstance(server.redis, aioredis.RedisCluster)
    carol = await server.agent("carol")
    try:
        done = await server.ingest(
            channel="chat", queue="chat", content="x", **{"from": {"kind": "chat_visitor", "value": "c1"}}
        )
        await carol.accept_next()
        assert (await carol.call({"type": "complete", "interaction_id": done["id"]}))["type"] == "ack"
        await carol.set_state("away")
        waiting = [
            await server.ingest(
                channel="chat",
                queue="chat",
                content=str(n),
                **{"from": {"kind": "chat_visitor", "value": f"w{n}"}},
            )
            for n in range(3)
        ]
        assert [await server.engine.position("chat", w["id"]) for w in waiting] == [1, 2, 3]
        # a waiting entry whose record says the customer left (a crash after the PostgreSQL write)
        gone = waiting.pop(0)
        await server.pool.execute(
            "UPDATE interactions SET status = 'abandoned' WHERE id = $1", uuid.UUID(gone["id"])
        )
        assert await server.server[RECONCILER].repair() == 1
        assert await server.engine.interaction_live(gone["id"]) == {}
        # the domain's master loses everything of it: the next process to look rebuilds it, in order
        generation = await server.engine.is_built()
        home = redis_cluster.master_of(server.engine.namespace)
        node = aioredis.Redis(host="127.0.0.1", port=home.port, decode_responses=True)
        try:
            doomed = [k async for k in node.scan_iter(match=server.engine.keys.prefix + ":*", count=1000)]
            assert server.engine.keys.built in doomed
            await node.delete(*doomed)
        finally:
            await node.aclose()
        # this process's own duties may notice first; either way the index comes back as a new generation
        assert await server.server[RECONCILER].wait_built() != generation
        assert [await server.engine.position("chat", w["id"]) for w in waiting] == [1, 2]
    finally:
        await carol.close()


@pytest.mark.slow
async def test_three_domains_on_three_masters_assign_each_interaction_exactly_once(
    on_cluster: Services, redis_cluster: RedisClusterServers, tmp_path: Path
) -> None:
    domains = redis_cluster.namespaces_one_per_master("t" + uuid.uuid4().hex[:8])
    assert len({redis_cluster.master_of(d).port for d in domains}) == 3
    admin = "admin-" + uuid.uuid4().hex
    started: list[RouterProcess] = []

    async def start(domain: str) -> RouterProcess:
        # six processes: their pools together stay well inside PostgreSQL's default max_connections
        config = CONFIG.with_routing(namespace=domain).with_server(database_pool_size=8)
        proc = RouterProcess(str(config), on_cluster, admin, tmp_path)
        started.append(proc)
        await proc.start()
        return proc

    try:
        # a domain's two processes start together, the domains one after the other (six at once can take
        # longer than a process's start-up wait on a busy two-core machine)
        pairs = [await asyncio.gather(start(d), start(d)) for d in domains]
        await asyncio.gather(
            *(
                assign_exactly_once(p1, p2, on_cluster, domain, PER_DOMAIN)
                for (p1, p2), domain in zip(pairs, domains, strict=True)
            )
        )
    finally:
        await asyncio.gather(*(p.stop() for p in started))
    # each domain's live index is on its own master, and nothing of it on the others
    for domain in domains:
        home = redis_cluster.master_of(domain)
        for m in redis_cluster.masters:
            node = aioredis.Redis(host="127.0.0.1", port=m.port, decode_responses=True)
            try:
                held = [k async for k in node.scan_iter(match="{" + domain + "}:*", count=1000)]
            finally:
                await node.aclose()
            if m == home:
                assert "{" + domain + "}:events" in held
            else:
                assert held == []


async def test_a_master_failing_over_to_its_replica_keeps_its_domain_routing(
    cluster_server: TestServer, redis_cluster: RedisClusterServers
) -> None:
    """The domain's master is killed outright; its replica takes over the slot. Meanwhile ingest answers 503
    (adapters retry it); afterwards the domain routes on, with the work it had waiting in place and no
    rebuild. (Replication is asynchronous: ``WAIT`` here makes sure the replica had the last writes, which a
    real failover does not promise; the reconciler repairs what it loses, see docs/deployment.md.)"""
    server = cluster_server
    carol = await server.agent("carol", available=False)
    try:
        waiting = [
            await server.ingest(
                channel="chat",
                queue="chat",
                content=str(n),
                **{"from": {"kind": "chat_visitor", "value": f"f{n}"}},
            )
            for n in range(2)
        ]
        generation = await server.engine.is_built()
        home = redis_cluster.master_of(server.engine.namespace)
        node = aioredis.Redis(host="127.0.0.1", port=home.port)
        try:
            assert await node.execute_command("WAIT", 1, 5000) == 1
        finally:
            await node.aclose()
        promoted = await asyncio.to_thread(redis_cluster.fail_master, home)
        assert redis_cluster.master_of(server.engine.namespace) == promoted
        body = {
            "channel": "chat",
            "queue": "chat",
            "external_id": "after-failover",
            "content": "still there?",
            "from": {"kind": "chat_visitor", "value": "f-after"},
        }
        answers: list[int] = []
        for _ in range(300):
            status, made = await server.request("POST", "/v1/interactions", body, role="adapter")
            answers.append(status)
            if status in (200, 201):
                break
            await asyncio.sleep(0.1)
        assert set(answers[:-1]) <= {503} and answers[-1] in (200, 201), answers
        assert await server.engine.is_built() == generation, "the index was rebuilt instead of failed over"
        ids = [w["id"] for w in waiting] + [made["id"]]
        assert [await server.engine.position("chat", i) for i in ids] == [1, 2, 3]
        await carol.set_state("available")
        offer, assigned = await carol.accept_next()
        assert offer["interaction"]["id"] == waiting[0]["id"] and assigned["type"] == "assigned"
    finally:
        await carol.close()
