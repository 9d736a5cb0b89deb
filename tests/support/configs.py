"""The test configurations, in one place: a small builder for the router's TOML file and the base
configurations the tests start from.

A :class:`Config` is immutable: every method returns a new one, so a module-level base can be shared
and varied per test (``DEFAULT.queue("q", wrapup_seconds=600)``). ``str(config)`` is the TOML text
that ``make_server`` and ``processes`` (and ``omniroute serve --config``) read.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from router.contracts.channels import Channel

ALL_CHANNELS = [ch.value for ch in Channel]

# Fast timers and a short reconnect grace, so routing tests do not wait on production defaults.
BASE_ROUTING: dict[str, Any] = {"reconnect_grace_seconds": 2, "timer_interval_seconds": 0.05}


def toml_value(value: Any) -> str:
    """One TOML value: strings, numbers, booleans, lists and inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _table(header: str, fields: Mapping[str, Any]) -> str:
    return "\n".join([header, *(f"{k} = {toml_value(v)}" for k, v in fields.items())])


def _upsert(entries: list[dict[str, Any]], ident: str, fields: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries with ``ident`` updated by ``fields`` (appended when it is new)."""
    out = copy.deepcopy(entries)
    for entry in out:
        if entry["id"] == ident:
            entry.update(fields)
            return out
    out.append({"id": ident, **fields})
    return out


@dataclass(frozen=True)
class Config:
    server: dict[str, Any] | None = None  # None: no [server] table at all
    routing: dict[str, Any] | None = None  # None: no [routing] table at all
    identity: dict[str, Any] | None = None  # None: no [identity] table at all
    webhooks: dict[str, Any] | None = None  # None: no [webhooks] table at all
    retention: dict[str, Any] | None = None  # None: no [retention] table at all
    presence: dict[str, Any] | None = None  # None: no [presence] table at all
    outbound: dict[str, Any] | None = None  # None: no [outbound] table at all
    queues: list[dict[str, Any]] = field(default_factory=list)
    agents: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    adapters: dict[str, dict[str, Any]] = field(default_factory=dict)
    blending: list[dict[str, Any]] = field(default_factory=list)

    def with_server(self, **settings: Any) -> Config:
        return replace(self, server={**(self.server or {}), **settings})

    def with_routing(self, **settings: Any) -> Config:
        return replace(self, routing={**(self.routing or {}), **settings})

    def with_identity(self, **settings: Any) -> Config:
        return replace(self, identity={**(self.identity or {}), **settings})

    def with_webhooks(self, **settings: Any) -> Config:
        return replace(self, webhooks={**(self.webhooks or {}), **settings})

    def with_retention(self, **settings: Any) -> Config:
        return replace(self, retention={**(self.retention or {}), **settings})

    def with_presence(self, **settings: Any) -> Config:
        return replace(self, presence={**(self.presence or {}), **settings})

    def with_outbound(self, **settings: Any) -> Config:
        return replace(self, outbound={**(self.outbound or {}), **settings})

    def queue(self, queue_id: str, **fields: Any) -> Config:
        """Add a ``[[queues]]`` entry, or change the fields of the one with this id."""
        return replace(self, queues=_upsert(self.queues, queue_id, fields))

    def agent(self, agent_id: str, **fields: Any) -> Config:
        """Add an ``[[agents]]`` entry, or change the fields of the one with this id."""
        return replace(self, agents=_upsert(self.agents, agent_id, fields))

    def agents_like(self, agent_ids: Iterable[str], name: str = "{id}", **fields: Any) -> Config:
        """One agent per id, all with the same fields; ``name`` is formatted with the id."""
        config = self
        for agent_id in agent_ids:
            config = config.agent(agent_id, name=name.format(id=agent_id), **fields)
        return config

    def rule(self, queue: str, **when: Any) -> Config:
        return replace(self, rules=[*copy.deepcopy(self.rules), {"when": when, "queue": queue}])

    def blend(self, **rule: Any) -> Config:
        """Add a ``[[blending]]`` rule (``channel``, ``when``, ``agents``, ``capacity``…)."""
        return replace(self, blending=[*copy.deepcopy(self.blending), dict(rule)])

    def adapter(self, name: str, **section: Any) -> Config:
        """Add (or replace) an ``[adapters.<name>]`` table."""
        return replace(self, adapters={**copy.deepcopy(self.adapters), name: dict(section)})

    def toml(self) -> str:
        parts = []
        if self.server is not None:
            parts.append(_table("[server]", self.server))
        if self.routing is not None:
            parts.append(_table("[routing]", self.routing))
        if self.identity is not None:
            parts.append(_table("[identity]", self.identity))
        if self.webhooks is not None:
            parts.append(_table("[webhooks]", self.webhooks))
        if self.retention is not None:
            parts.append(_table("[retention]", self.retention))
        if self.presence is not None:
            parts.append(_table("[presence]", self.presence))
        if self.outbound is not None:
            parts.append(_table("[outbound]", self.outbound))
        parts += [_table("[[queues]]", q) for q in self.queues]
        parts += [_table("[[agents]]", a) for a in self.agents]
        parts += [_table("[[rules]]", r) for r in self.rules]
        parts += [_table("[[blending]]", b) for b in self.blending]
        parts += [_table(f"[adapters.{name}]", s) for name, s in self.adapters.items()]
        return "\n\n".join(parts) + "\n"

    def __str__(self) -> str:
        return self.toml()


def routing(**settings: Any) -> Config:
    """The base: a ``[routing]`` table with fast timers, nothing else."""
    return Config(routing={**BASE_ROUTING, **settings})


# The general-purpose configuration of the integration tests: four queues with different skills,
# channels and priorities, three agents with different capacities, one rule.
DEFAULT = (
    routing()
    .queue(
        "general",
        skills={"general": 1},
        channels=ALL_CHANNELS,
        offer_timeout_seconds=5,
        wrapup_seconds=0,
    )
    .queue(
        "voice_billing",
        skills={"billing": 3, "voice": 1},
        channels=["voice"],
        priority=10,
        offer_timeout_seconds=5,
        wrapup_seconds=0,
    )
    .queue(
        "chat",
        skills={"chat": 1},
        channels=["chat", "social", "sms"],
        offer_timeout_seconds=5,
        wrapup_seconds=0,
    )
    .queue(
        "tier2",
        skills={"billing": 7},
        channels=["chat", "social", "voice", "email"],
        priority=20,
        offer_timeout_seconds=5,
        wrapup_seconds=0,
    )
    .agent(
        "alice",
        name="Alice",
        skills={"general": 5, "billing": 5, "voice": 5},
        capacity={"voice": 1, "chat": 0, "email": 0, "social": 0, "sms": 0},
    )
    .agent(
        "bob",
        name="Bob",
        skills={"general": 2, "billing": 9},
        capacity={"voice": 1, "chat": 2, "social": 2},
    )
    .agent(
        "carol",
        name="Carol",
        skills={"general": 5, "chat": 5},
        capacity={"voice": 0, "chat": 3, "social": 3, "sms": 3},
    )
    .rule("voice_billing", intent="billing", channel="voice")
)

# The end-to-end adapter tests: a billing voice queue and a general queue on every channel.
ADAPTERS_BASE = (
    routing()
    .queue(
        "voice_billing",
        skills={"billing": 3},
        channels=["voice"],
        offer_timeout_seconds=10,
        wrapup_seconds=0,
    )
    .queue(
        "general",
        skills={"general": 1},
        channels=ALL_CHANNELS,
        offer_timeout_seconds=10,
        wrapup_seconds=0,
    )
    .agent(
        "alice",
        name="Alice",
        skills={"billing": 5},
        capacity={"voice": 1, "chat": 0, "email": 0, "social": 0, "sms": 0},
    )
    .agent(
        "carol",
        name="Carol",
        skills={"general": 5},
        capacity={"voice": 0, "chat": 3, "social": 3, "sms": 3, "email": 5},
    )
    .rule("voice_billing", intent="billing", channel="voice")
)


def with_adapters(base: Config = ADAPTERS_BASE, **adapters: dict[str, Any]) -> Config:
    """``base`` plus one enabled ``[adapters.<name>]`` table per keyword."""
    for name, section in adapters.items():
        base = base.adapter(name, enabled=True, **section)
    return base


def chat_only(
    agent_ids: Iterable[str],
    *,
    capacity: int,
    offer_timeout_seconds: float,
    name: str = "{id}",
    **routing_settings: Any,
) -> Config:
    """One chat-only queue ``general`` and agents who take ``capacity`` chats and nothing else (the
    multi-process race and recovery tests)."""
    return (
        routing(**routing_settings)
        .queue(
            "general",
            skills={"general": 1},
            channels=["chat"],
            offer_timeout_seconds=offer_timeout_seconds,
            wrapup_seconds=0,
        )
        .agents_like(
            agent_ids,
            name=name,
            skills={"general": 5},
            capacity={"chat": capacity, "voice": 0, "email": 0, "social": 0, "sms": 0},
        )
    )
