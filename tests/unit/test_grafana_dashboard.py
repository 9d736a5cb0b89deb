"""docs/grafana-dashboard.json is built on the metrics the router exposes: every series a panel queries is
one that ``router.metrics`` declares (by family name, with the suffixes of its type), so renaming a metric
without the dashboard fails here."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from router.metrics import Metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
SERIES = re.compile(r"\b((?:omniroute|process)_[a-z_]+)\b")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exposed() -> set[str]:
    names: set[str] = set()
    for family in Metrics().registry.collect():
        for suffix in SUFFIXES.get(family.type, ("",)):
            names.add(family.name + suffix)
    return names


def queries(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [q for v in node.values() for q in queries(v)]
    if isinstance(node, list):
        return [q for v in node for q in queries(v)]
    return []


def test_every_panel_queries_series_the_router_exposes() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = queries(dashboard["panels"])
    assert len(exprs) >= 20
    used = {name for e in exprs for name in SERIES.findall(e)}
    known = exposed()
    assert used - known == set(), f"queried but not exposed: {sorted(used - known)}"
    # the dashboard covers what operators alert on: the queues, the latencies, HTTP, the processes
    for name in (
        "omniroute_queue_waiting",
        "omniroute_queue_service_level_today",
        "omniroute_queue_asa_today_seconds",
        "omniroute_queue_abandonment_rate_today",
        "omniroute_agents",
        "omniroute_ingest_to_offer_seconds_bucket",
        "omniroute_http_request_duration_seconds_bucket",
        "process_resident_memory_bytes",
    ):
        assert name in used, name


def test_the_dashboard_imports_with_a_datasource_input() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}"
