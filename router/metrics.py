"""Prometheus text exposition of the router's counters and a few live gauges."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Metrics:
    counters: Counter[tuple[str, tuple[tuple[str, str], ...]]] = field(default_factory=Counter)
    latency_sum: dict[str, float] = field(default_factory=dict)
    latency_count: dict[str, int] = field(default_factory=dict)

    def inc(self, name: str, amount: int = 1, **labels: str) -> None:
        self.counters[(name, tuple(sorted(labels.items())))] += amount

    def observe(self, name: str, seconds: float) -> None:
        self.latency_sum[name] = self.latency_sum.get(name, 0.0) + seconds
        self.latency_count[name] = self.latency_count.get(name, 0) + 1

    def render(self, gauges: dict[str, list[tuple[dict[str, str], float]]]) -> str:
        lines: list[str] = []
        seen: set[str] = set()
        for (name, labels), value in sorted(self.counters.items()):
            if name not in seen:
                lines.append(f"# TYPE omniroute_{name} counter")
                seen.add(name)
            lines.append(f"omniroute_{name}{_labels(dict(labels))} {value}")
        for name in sorted(self.latency_sum):
            lines.append(f"# TYPE omniroute_{name}_seconds summary")
            lines.append(f"omniroute_{name}_seconds_sum {self.latency_sum[name]:.6f}")
            lines.append(f"omniroute_{name}_seconds_count {self.latency_count[name]}")
        for name, samples in sorted(gauges.items()):
            lines.append(f"# TYPE omniroute_{name} gauge")
            for gauge_labels, gauge_value in samples:
                lines.append(f"omniroute_{name}{_labels(gauge_labels)} {gauge_value}")
        return "\n".join(lines) + "\n"


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


METRICS = web.AppKey("metrics", Metrics)
