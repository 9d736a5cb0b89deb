"""``/metrics``: the Prometheus text format as ``prometheus_client`` parses it; histograms, counters and the
deployment's gauges there from the first scrape; HTTP requests labelled by route template; and the
deployment's gauges exported by one process only, so summing them over every process counts each once."""

from __future__ import annotations

import uuid
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from router.contracts import Channel
from tests.conftest import MakeServer
from tests.support.servers import TestServer

HISTOGRAMS = (
    "omniroute_ingest_to_offer_seconds",
    "omniroute_offer_delivery_seconds",
    "omniroute_accept_seconds",
    "omniroute_ingest_seconds",
    "omniroute_http_request_duration_seconds",
)
QUEUE_GAUGES = (
    "omniroute_queue_waiting",
    "omniroute_queue_oldest_wait_seconds",
    "omniroute_queue_offered_today",
    "omniroute_queue_answered_today",
    "omniroute_queue_abandoned_today",
)


class Scrape:
    """One scrape of /metrics, parsed by prometheus_client's own parser."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families = {f.name: f for f in text_string_to_metric_families(text)}

    def samples(self, name: str, **labels: str) -> list[Any]:
        return [
            s
            for f in self.families.values()
            for s in f.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]

    def value(self, name: str, **labels: str) -> float:
        found = self.samples(name, **labels)
        assert len(found) == 1, (name, labels, found)
        return float(found[0].value)

    def total(self, name: str, **labels: str) -> float:
        return sum(float(s.value) for s in self.samples(name, **labels))


async def scrape(server: TestServer) -> Scrape:
    assert server.session is not None
    async with server.session.get(server.url + "/metrics") as resp:
        assert resp.status == 200
        assert resp.content_type == "text/plain"
        return Scrape(await resp.text())


def chat(n: int) -> dict[str, Any]:
    return {
        "channel": "chat",
        "queue": "chat",
        "from": {"kind": "chat_visitor", "value": f"visitor-{uuid.uuid4().hex[:8]}-{n}"},
        "content": f"hello {n}",
    }


async def test_the_first_scrape_holds_histograms_counters_gauges_and_process_metrics(
    server: TestServer,
) -> None:
    first = await scrape(server)
    for name in HISTOGRAMS:
        assert first.families[name].type == "histogram", name
    assert first.value("omniroute_ingest_to_offer_seconds_count") == 0
    assert first.value("omniroute_ingest_to_offer_seconds_bucket", le="+Inf") == 0
    # counters at 0 before their first increment, for every label value known in advance
    for name in ("offers_sent", "offers_accepted", "offers_rejected", "offers_timed_out"):
        assert first.families[f"omniroute_{name}"].type == "counter"
        assert first.value(f"omniroute_{name}_total") == 0
    for ch in Channel:
        assert first.value("omniroute_interactions_completed_total", channel=ch.value) == 0
        assert first.value("omniroute_interactions_ingested_total", channel=ch.value, created="true") == 0
    for kind in ("agent", "supervisor"):
        assert first.value("omniroute_sockets_closed_slow_total", kind=kind) == 0
    # the deployment's gauges: this lone process exports them
    assert first.value("omniroute_metrics_exporter") == 1
    queues = sorted(server.directory.queues)
    for name in QUEUE_GAUGES:
        assert first.families[name].type == "gauge"
        assert sorted(s.labels["queue"] for s in first.samples(name)) == queues, name
        assert first.total(name) == 0
    for q in queues:
        for state in ("available", "busy", "wrapup"):
            assert first.value("omniroute_queue_agents", queue=q, state=state) == 0
    assert first.value("omniroute_agents", state="offline") == len(server.directory.agents)
    assert first.value("omniroute_agents_connected") == 0
    # process metrics from the client library
    assert first.value("process_resident_memory_bytes") > 0
    assert first.value("process_open_fds") > 0


async def test_routing_fills_the_histograms_and_the_queue_gauges(server: TestServer) -> None:
    """A chat offered at once to a free agent is one ingest→offer and one offer delivery; an accept is
    one accept; a chat waiting is in the queue gauges; answers today give the ASA."""
    desk = await server.agent("carol")
    try:
        it = await server.ingest(**chat(1))
        offer, _ = await desk.accept_next()
        assert offer["interaction"]["id"] == it["id"]
        await desk.set_state("away")
        for n in range(2):
            await server.ingest(**chat(10 + n))
        after = await scrape(server)
        assert after.value("omniroute_ingest_to_offer_seconds_count") == 1
        assert after.value("omniroute_offer_delivery_seconds_count") == 1
        assert after.value("omniroute_accept_seconds_count") == 1
        assert after.value("omniroute_ingest_seconds_count") == 3
        assert after.value("omniroute_offers_accepted_total") == 1
        assert after.value("omniroute_offers_sent_total") == 1
        assert after.value("omniroute_interactions_ingested_total", channel="chat", created="true") == 3
        assert after.value("omniroute_queue_waiting", queue="chat") == 2
        assert after.value("omniroute_queue_oldest_wait_seconds", queue="chat") >= 0
        assert after.value("omniroute_queue_offered_today", queue="chat") == 3
        assert after.value("omniroute_queue_answered_today", queue="chat") == 1
        asa = after.value("omniroute_queue_asa_today_seconds", queue="chat")
        assert 0 <= asa < 60
        assert after.value("omniroute_queue_agents", queue="chat", state="busy") == 1
        assert after.value("omniroute_agents", state="away") == 1
        assert after.value("omniroute_agents", state="offline") == len(server.directory.agents) - 1
        assert after.value("omniroute_agents_connected") == 1
        assert after.value("omniroute_sockets_open", node=server.node.id) == 1
    finally:
        await desk.close()


async def test_http_requests_are_labelled_by_route_template(server: TestServer) -> None:
    raw = str(uuid.uuid4())
    status, _ = await server.request("GET", f"/v1/interactions/{raw}", role="supervisor")
    assert status == 404
    status, _ = await server.request("GET", f"/no/such/{raw}")
    assert status == 404
    after = await scrape(server)
    assert raw not in after.text, "a raw path never becomes a label"
    found = after.value(
        "omniroute_http_request_duration_seconds_count",
        method="GET",
        route="/v1/interactions/{id}",
        status="404",
    )
    assert found == 1
    assert after.total("omniroute_http_request_duration_seconds_count", route="unmatched", status="404") == 1
    posted = after.total("omniroute_http_request_duration_seconds_count", method="POST", route="/v1/tokens")
    assert posted >= 1


async def test_two_processes_do_not_double_the_queue_gauges(make_server: MakeServer) -> None:
    """Two router processes on one routing domain, scraped in turn: one exports the deployment's gauges,
    the other none, so their sum is the real figure; when the exporter's lease lapses the other takes
    over and the sum still holds."""
    one, two = await make_server(), await make_server()
    for n in range(3):
        await one.ingest(**chat(n))
    await two.ingest(
        **{
            **chat(9),
            "channel": "email",
            "queue": "general",
            "from": {"kind": "email", "value": "m@example.com"},
            "subject": "s",
        }
    )
    agents = len(one.directory.agents)

    def check(scrapes: list[Scrape]) -> Scrape:
        assert sum(s.total("omniroute_queue_waiting", queue="chat") for s in scrapes) == 3
        assert sum(s.total("omniroute_queue_waiting", queue="general") for s in scrapes) == 1
        assert sum(s.total("omniroute_queue_offered_today") for s in scrapes) == 4
        assert sum(s.total("omniroute_agents") for s in scrapes) == agents
        assert sum(s.total("omniroute_agents_connected") for s in scrapes) == 0
        exporters = [s for s in scrapes if s.value("omniroute_metrics_exporter") == 1]
        assert len(exporters) == 1
        quiet = next(s for s in scrapes if s is not exporters[0])
        for name in QUEUE_GAUGES:
            assert name in quiet.families and quiet.samples(name) == [], name
        # each process still has its own: counters, histograms, process metrics
        assert quiet.value("process_resident_memory_bytes") > 0
        return exporters[0]

    rounds = [[await scrape(one), await scrape(two)] for _ in range(3)]
    holders = {id(check(r)) == id(r[0]) for r in rounds}
    assert holders == {True}, "the first process scraped keeps exporting while it is scraped"
    # the exporter stops being scraped (or stops): its lease lapses, and the other takes over
    await one.redis.delete(one.engine.keys.metrics_lease)
    later = [await scrape(two), await scrape(one)]
    assert check(later) is later[0]


async def test_round_trips_to_postgresql_and_redis_are_counted(server: TestServer) -> None:
    """Every statement sent through the pool and every Redis command or pipeline sent through the client
    is counted where it passes: an ingest (a transaction in PostgreSQL, a script in Redis) raises both."""
    before = await scrape(server)
    for name in ("omniroute_pg_statements", "omniroute_redis_commands"):
        assert before.families[name].type == "counter"
    async with server.pool.acquire() as conn:
        pg0 = (await scrape(server)).value("omniroute_pg_statements_total")
        await conn.fetchval("SELECT 1")
        await conn.execute("SELECT 2")
        await conn.executemany("SELECT $1::int", [(1,), (2,), (3,)])
        pg1 = (await scrape(server)).value("omniroute_pg_statements_total")
    assert pg1 - pg0 >= 3, "fetchval, execute without arguments and one executemany batch"
    await server.ingest(**chat(1))
    after = await scrape(server)
    # BEGIN, the customer and interaction writes, COMMIT at least; the enqueue script at least
    assert after.value("omniroute_pg_statements_total") >= before.value("omniroute_pg_statements_total") + 3
    assert after.value("omniroute_redis_commands_total") >= before.value("omniroute_redis_commands_total") + 1
