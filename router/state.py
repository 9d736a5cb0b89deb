"""The per-process runtime: connections, the engine, the cached directory and local sockets."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
import redis.asyncio as aioredis

from router.config import Settings
from router.contracts import AgentConfig, QueueConfig, Role, RoutingRule
from router.metrics import Metrics
from router.routing.engine import Engine

if TYPE_CHECKING:
    from router.realtime.hub import Hub
    from router.service.outbound import Outbound


@dataclass
class Principal:
    role: Role
    agent_id: str | None = None


@dataclass
class Runtime:
    settings: Settings
    pool: asyncpg.Pool
    redis: aioredis.Redis
    engine: Engine
    node_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    queues: dict[str, QueueConfig] = field(default_factory=dict)
    agents: dict[str, AgentConfig] = field(default_factory=dict)
    rules: list[RoutingRule] = field(default_factory=list)
    internal_tokens: dict[str, Principal] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)
    hub: Hub | None = None
    outbound: Outbound | None = None
    base_url: str = ""
    built_generation: str | None = None
    capabilities: dict[str, list[str]] = field(default_factory=dict)
    staffing_cache: dict[tuple[str, str], tuple[float, int, float]] = field(default_factory=dict)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @property
    def grace_ms(self) -> int:
        return int(self.settings.file.routing.reconnect_grace_seconds * 1000)
