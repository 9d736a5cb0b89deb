"""The router's Prometheus metrics, exposed by ``prometheus_client`` (the maintained client: exposition
format, escaping, histogram buckets and process metrics are its job, not ours).

Every metric is declared here, once, in its own registry per application (several servers may share one
Python process in the tests). Counters exist from the first scrape: those with labels are created at 0
for every label value known in advance (each channel, each socket kind). Two kinds of gauges:

- **per process**: sockets open here, and the process metrics (CPU, memory, file descriptors, GC);
- **per deployment**: the queues (waiting, oldest wait, service level, ASA and abandonment today, agents
  by state) and the agents by state. They describe the shared live index and record, so only one process
  exports them at a time (the holder of a short lease in Redis, taken at scrape time, see
  ``router/http/api.py``); the others export these families without samples, and summing a gauge over
  all processes gives the real figure. ``omniroute_metrics_exporter`` is 1 on the process that exports.

The names, labels and meanings are listed in docs/metrics.md.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import prometheus_client
from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from context_store.db import StatementCount
from router.backends import RedisCommandCount
from router.contracts import Channel, QueueStats

# one series per counter, not a second "_created" one: nothing here reads creation times
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream

CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST

METRICS_LEASE_MS = 30_000
"""How long the exporter lease of the deployment's gauges lasts without a scrape renewing it: longer than a
scrape interval (15 s is usual), so the holder keeps it; after the holder stops, the gauges come from
another process within this time."""

CHANNELS = tuple(ch.value for ch in Channel)
SOCKET_KINDS = ("agent", "supervisor")


@dataclass(frozen=True)
class CounterSpec:
    help: str
    labels: tuple[str, ...] = ()
    initial: tuple[Mapping[str, str], ...] = ()
    """Label sets created at 0 when the process starts, so they are present from the first scrape."""


def _each(label: str, values: Iterable[str], **more: str) -> tuple[Mapping[str, str], ...]:
    return tuple({label: v, **more} for v in values)


COUNTERS: dict[str, CounterSpec] = {
    "interactions_ingested_total": CounterSpec(
        "Interactions posted to the ingest API, by channel and whether a new interaction was created",
        ("channel", "created"),
        _each("channel", CHANNELS, created="true") + _each("channel", CHANNELS, created="false"),
    ),
    "offers_sent_total": CounterSpec("Offer frames sent to agent desktops by this process"),
    "offers_accepted_total": CounterSpec("Offers accepted"),
    "offers_rejected_total": CounterSpec("Offers rejected"),
    "offers_timed_out_total": CounterSpec("Offers that timed out on a desktop connected to this process"),
    "interactions_completed_total": CounterSpec(
        "Interactions completed by agents, by channel", ("channel",), _each("channel", CHANNELS)
    ),
    "interactions_transferred_total": CounterSpec("Interactions transferred or escalated"),
    "sockets_closed_slow_total": CounterSpec(
        "Sockets closed because the client fell behind its outgoing queue (close code 4008)",
        ("kind",),
        _each("kind", SOCKET_KINDS),
    ),
    "socket_closes_abandoned_total": CounterSpec(
        "Closing handshakes abandoned because the client never read the close frame",
        ("kind",),
        _each("kind", SOCKET_KINDS),
    ),
    "connections_refused_total": CounterSpec(
        "TCP connections refused at accept", ("reason",), _each("reason", ("per_address_cap",))
    ),
    "requests_shed_total": CounterSpec(
        "Requests that create work refused with 503 at capacity, by reason (inflight: [server] max_inflight"
        " reached; event_backlog: more events waiting to be handled than [server] max_event_backlog;"
        " loop_lag: the event loop later than [server] max_loop_lag_ms)",
        ("reason",),
        _each("reason", ("inflight", "event_backlog", "loop_lag")),
    ),
    "accept_failed_total": CounterSpec(
        "accept() failures of the listening socket, by errno name (EMFILE: out of file descriptors)",
        ("reason",),
        _each("reason", ("EMFILE",)),
    ),
}

# Latency buckets: routing steps take milliseconds; a loaded server seconds.
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HISTOGRAMS: dict[str, str] = {
    "ingest": "Handling an ingest request (POST /v1/interactions): the record, the live index, the answer",
    "ingest_to_offer": "From an ingest request's arrival to the offer it made, for interactions offered "
    "at once on arrival (an agent was free)",
    "offer_delivery": "From an offer's event in the stream to its frame being queued on the agent's socket",
    "accept": "Handling an accept frame: the live index's decision and the record's write",
    "gc_pause": "Pauses of Python's cyclic garbage collector in this process, every generation "
    "(omniroute serve only; router/collector.py)",
}

QUEUE_GAUGES: dict[str, str] = {
    "queue_waiting": "Interactions waiting in the queue",
    "queue_oldest_wait_seconds": "Wait of the longest-waiting interaction in the queue",
    "queue_service_level_today": "Share of today's answered interactions answered within the queue's "
    "service-level threshold (absent until one is answered)",
    "queue_asa_today_seconds": "Average speed of answer today: arrival to acceptance, answered interactions "
    "(absent until one is answered)",
    "queue_offered_today": "Interactions that arrived in the queue today",
    "queue_answered_today": "Interactions of today answered by an agent",
    "queue_abandoned_today": "Interactions of today whose customer left while waiting",
    "queue_abandonment_rate_today": "Abandoned today / arrived today (absent until one arrives)",
}


@dataclass(frozen=True)
class Deployment:
    """The deployment's gauges as one process read them at a scrape."""

    queues: Mapping[str, QueueStats]
    today: Mapping[str, QueueToday]
    agents_by_state: Mapping[str, int]
    connected: int


@dataclass(frozen=True)
class QueueToday:
    arrived: int
    answered: int
    abandoned: int
    asa_seconds: float | None


class DeploymentGauges(Collector):
    """The gauges of the shared state, yielded from the last :class:`Deployment` read by this process, or
    without samples while another process exports them (``current`` is None)."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.current: Deployment | None = None

    def describe(self) -> Iterator[Metric]:
        return self._families(None)

    def collect(self) -> Iterator[Metric]:
        return self._families(self.current)

    def _families(self, d: Deployment | None) -> Iterator[Metric]:
        ns = self.namespace
        exporter = GaugeMetricFamily(
            "omniroute_metrics_exporter",
            "1 on the one process that exports the routing domain's gauges (queues, agents), else 0",
            labels=["namespace"],
        )
        exporter.add_metric([ns], 0 if d is None else 1)
        yield exporter
        queue = {
            name: GaugeMetricFamily(f"omniroute_{name}", text, labels=["namespace", "queue"])
            for name, text in QUEUE_GAUGES.items()
        }
        agents_of_queue = GaugeMetricFamily(
            "omniroute_queue_agents",
            "Eligible agents of the queue by state: available (connected, available, nothing held), busy "
            "(holding work), wrapup (in wrap-up)",
            labels=["namespace", "queue", "state"],
        )
        agents = GaugeMetricFamily(
            "omniroute_agents",
            "Configured agents by state: their presence state (available, away, ...) while their desktop is "
            "connected, offline otherwise",
            labels=["namespace", "state"],
        )
        connected = GaugeMetricFamily(
            "omniroute_agents_connected", "Agents with a connected desktop", labels=["namespace"]
        )
        if d is not None:
            for qid, st in sorted(d.queues.items()):
                today = d.today.get(qid, QueueToday(0, 0, 0, None))
                queue["queue_waiting"].add_metric([ns, qid], st.waiting)
                queue["queue_oldest_wait_seconds"].add_metric([ns, qid], st.oldest_wait_seconds)
                if st.service_level is not None:
                    queue["queue_service_level_today"].add_metric([ns, qid], st.service_level)
                if today.asa_seconds is not None:
                    queue["queue_asa_today_seconds"].add_metric([ns, qid], today.asa_seconds)
                queue["queue_offered_today"].add_metric([ns, qid], today.arrived)
                queue["queue_answered_today"].add_metric([ns, qid], today.answered)
                queue["queue_abandoned_today"].add_metric([ns, qid], today.abandoned)
                if today.arrived:
                    queue["queue_abandonment_rate_today"].add_metric(
                        [ns, qid], today.abandoned / today.arrived
                    )
                agents_of_queue.add_metric([ns, qid, "available"], st.agents_available)
                agents_of_queue.add_metric([ns, qid, "busy"], st.agents_busy)
                agents_of_queue.add_metric([ns, qid, "wrapup"], st.agents_wrapup)
            for state, count in sorted(d.agents_by_state.items()):
                agents.add_metric([ns, state], count)
            connected.add_metric([ns], d.connected)
        yield from queue.values()
        yield agents_of_queue
        yield agents
        yield connected


class RoundTrips(Collector):
    """The process's round trips to its backends, counted where every one passes (the asyncpg connection
    class in ``context_store/db.py``, the Redis connection class in ``router/backends.py``): what
    ``omniroute bench`` divides by the lifecycles it ran. Per process, like the process metrics."""

    def describe(self) -> Iterator[Metric]:
        return self.collect()

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "omniroute_pg_statements",
            "Statements sent to PostgreSQL by this process (each a round trip; BEGIN and COMMIT included)",
            value=StatementCount.value,
        )
        yield CounterMetricFamily(
            "omniroute_redis_commands",
            "Round trips to Redis by this process: one per command or script call, one per pipeline",
            value=RedisCommandCount.value,
        )


class Metrics:
    """The metrics of one router application (one registry)."""

    def __init__(self, namespace: str = "omniroute") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        prometheus_client.ProcessCollector(registry=reg)
        prometheus_client.PlatformCollector(registry=reg)
        prometheus_client.GCCollector(registry=reg)
        self._counters: dict[str, Counter] = {}
        for name, spec in COUNTERS.items():
            counter = Counter(f"omniroute_{name}", spec.help, spec.labels, registry=reg)
            for labels in spec.initial:
                counter.labels(**labels)
            self._counters[name] = counter
        self._histograms = {
            name: Histogram(f"omniroute_{name}_seconds", text, buckets=FAST_BUCKETS, registry=reg)
            for name, text in HISTOGRAMS.items()
        }
        self.http_requests = Histogram(
            "omniroute_http_request_duration_seconds",
            "HTTP requests by method, route template (not the raw path) and status; socket upgrades excluded",
            ("method", "route", "status"),
            buckets=FAST_BUCKETS,
            registry=reg,
        )
        self.sockets_open = Gauge(
            "omniroute_sockets_open", "Websockets open on this process", ("node",), registry=reg
        )
        self.deployment = DeploymentGauges(namespace)
        reg.register(self.deployment)
        reg.register(RoundTrips())

    # ------------------------------------------------------------ what the code reports

    def inc(self, name: str, amount: int = 1, **labels: str) -> None:
        counter = self._counters[name]
        (counter.labels(**labels) if labels else counter).inc(amount)

    def observe(self, name: str, seconds: float) -> None:
        self._histograms[name].observe(seconds)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_requests.labels(method, route, str(status)).observe(seconds)

    def value(self, name: str, **labels: str) -> float:
        """A counter's value (0 when the label set was never used): for tests and the outbox's own."""
        found = self.registry.get_sample_value(f"omniroute_{name}", labels)
        return found or 0.0

    def total(self, name: str) -> float:
        """A counter summed over all its label sets."""
        return sum(
            s.value
            for metric in self._counters[name].collect()
            for s in metric.samples
            if s.name == f"omniroute_{name}"
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


METRICS = web.AppKey("metrics", Metrics)


@web.middleware
async def measure_requests(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every HTTP request into ``omniroute_http_request_duration_seconds``, labelled by its route template
    (``/v1/interactions/{id}``, never the raw path, so the label set stays bounded; ``unmatched`` when
    no route matched). Socket upgrades (101) are left out: their duration is the socket's life."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        if status != 101:
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "unmatched"
            metrics = request.config_dict[METRICS]
            metrics.observe_request(request.method, route, status, time.perf_counter() - started)
