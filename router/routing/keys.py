"""The Redis key catalogue: every key of the live index, its type and what it holds.

Python builds keys only through :class:`Keys`; the Lua scripts build them as ``P .. ':<segment>:' ..`` with
``P`` the domain's prefix (a hash tag such as ``{omniroute}``, so every key of a routing domain lives in one
Redis Cluster slot). A test reads every ``.lua`` file and fails on a segment that is not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeySpec:
    segment: str
    """The part after the prefix: ``P:<segment>`` or ``P:<segment>:<id>``."""
    type: str
    of: str | None
    """What the id names (a queue, an agent, …), or None for a key of the whole domain."""
    holds: str


CATALOGUE: tuple[KeySpec, ...] = (
    KeySpec(
        "built",
        "string",
        None,
        "index generation; absent after a flush (scripts answer NOT_READY)",
    ),
    KeySpec("rebuilding", "string", None, "lock of the process rebuilding the index (node id, expires)"),
    KeySpec("events", "stream", None, "every change: type, data (JSON)"),
    KeySpec(
        "timers",
        "zset",
        None,
        '"o:<offer>" | "w:<interaction>" | "g:<agent>" | "s:<interaction>" (next widening step)'
        ' | "p:<interaction>" (preference window ends) | "c:<interaction>:<agent>" (reject cooldown ends)'
        ' | "b:<interaction>" (a held callback waits again) | "f:<interaction>" (next overflow rule)'
        ' | "h:<queue>" (a queue holding its work opens) -> due ms',
    ),
    KeySpec("connected", "set", None, "agents with a live desktop socket"),
    KeySpec("offerseq", "string", None, "counter behind offer ids"),
    KeySpec("q", "zset", "queue", "waiting interaction -> rank score (priority, then virtual enqueue time)"),
    KeySpec("qage", "zset", "queue", "waiting interaction -> arrival ms (oldest wait)"),
    KeySpec(
        "qcfg",
        "hash",
        "queue",
        "timeout_ms, wrapup_ms, strategy, levels (JSON), steps (JSON [{after_ms, levels}]), cooldown_ms,"
        " overflow (JSON [{after_ms, queue}]), hours (JSON [[from_ms, to_ms]], '': never held), hours_until",
    ),
    KeySpec("qagents", "set", "queue", "the queue's pool: agents whose skills meet its levels or a step's"),
    KeySpec("qavail", "zset", "queue", "eligible agents connected and available -> idle-since ms"),
    KeySpec(
        "qstats",
        "hash",
        "queue",
        "ht:<ch>: moving average of handle times on the channel, offer to capacity freed (talk and"
        " wrap-up, seconds); n:<ch>: completions measured",
    ),
    KeySpec("qhist", "zset", "queue", '"<unix s>:<waiting>" -> unix s, the last 15 minutes of queue length'),
    KeySpec(
        "a",
        "hash",
        "agent",
        "state, reason (not-ready reason, '' for none), since, session, epoch, node, connected, idle, vblock,"
        " cap:<ch>, load:<ch>, missed",
    ),
    KeySpec("aqueues", "set", "agent", "queues whose pool the agent is in"),
    KeySpec("askill", "hash", "agent", "skill -> level"),
    KeySpec(
        "apref", "set", "agent", "waiting interactions that prefer the agent (matched again when it leaves)"
    ),
    KeySpec("ao", "set", "agent", "the agent's open offers"),
    KeySpec("aw", "set", "agent", "interactions the agent holds (assigned or in wrap-up)"),
    KeySpec(
        "i",
        "hash",
        "interaction",
        "q ch score arr venq st(waiting|offered|assigned|wrapup|held) agent offer offered_at (ms) step pref"
        " pref_until avoid"
        ' (pref, avoid: ",a,b,") dir (the agent who transferred it to the preferred one)'
        " warm (a warm transfer: the interaction the sender keeps until the target accepts)"
        " cb (a callback: the number) held_until (st held: a callback held back until then, ms)"
        " ofrom (the queue whose overflow rules it follows) ovk (how many it took) ovf (how it came here)",
    ),
    KeySpec("ix", "zset", "interaction", "agents excluded from it -> until ms (reject cooldown, transfer)"),
    KeySpec("o", "hash", "offer", "i, a, deadline, why (JSON)"),
    KeySpec("node", "string", "node", "a router process's heartbeat (expires when it stops beating)"),
    KeySpec(
        "metricslease",
        "string",
        None,
        "the process that exports the deployment's gauges on /metrics (node id, expires)",
    ),
    KeySpec(
        "blend",
        "hash",
        "rule",
        "a blending rule's state: active (1|0), since (ms it came into force), held (ms its condition has"
        " held since, while not in force), cleared (ms it has been clear since, while in force)",
    ),
    KeySpec("blendlease", "string", None, "the process that evaluates the blending rules (node id, expires)"),
    KeySpec(
        "ablend",
        "hash",
        None,
        "agent -> capacity JSON {channel: n} the blending rules in force give it (over its own)",
    ),
    KeySpec(
        "crate",
        "string",
        "campaign",
        "a campaign's rate: when its next send may go (GCRA, microseconds of the Redis clock; expires)",
    ),
)

SEGMENTS = {k.segment: k for k in CATALOGUE}


@dataclass(frozen=True)
class Keys:
    """The keys of one routing domain."""

    prefix: str

    @classmethod
    def for_namespace(cls, namespace: str) -> Keys:
        return cls("{" + namespace + "}")

    def _key(self, segment: str, ident: str | None = None) -> str:
        spec = SEGMENTS[segment]
        assert (ident is None) == (spec.of is None), f"{segment} keys are per {spec.of}"
        return f"{self.prefix}:{segment}" if ident is None else f"{self.prefix}:{segment}:{ident}"

    @property
    def built(self) -> str:
        return self._key("built")

    @property
    def rebuild_lock(self) -> str:
        return self._key("rebuilding")

    @property
    def events(self) -> str:
        return self._key("events")

    @property
    def timers(self) -> str:
        return self._key("timers")

    @property
    def connected(self) -> str:
        return self._key("connected")

    def queue(self, q: str) -> str:
        return self._key("q", q)

    def queue_age(self, q: str) -> str:
        return self._key("qage", q)

    def queue_config(self, q: str) -> str:
        return self._key("qcfg", q)

    def queue_agents(self, q: str) -> str:
        return self._key("qagents", q)

    def queue_avail(self, q: str) -> str:
        return self._key("qavail", q)

    def queue_stats(self, q: str) -> str:
        return self._key("qstats", q)

    def queue_history(self, q: str) -> str:
        return self._key("qhist", q)

    def agent(self, a: str) -> str:
        return self._key("a", a)

    def agent_queues(self, a: str) -> str:
        return self._key("aqueues", a)

    def agent_skills(self, a: str) -> str:
        return self._key("askill", a)

    def agent_preferred_by(self, a: str) -> str:
        return self._key("apref", a)

    def agent_offers(self, a: str) -> str:
        return self._key("ao", a)

    def agent_work(self, a: str) -> str:
        return self._key("aw", a)

    def interaction(self, i: str) -> str:
        return self._key("i", i)

    def exclusions(self, i: str) -> str:
        return self._key("ix", i)

    def offer(self, o: str) -> str:
        return self._key("o", o)

    def node(self, n: str) -> str:
        return self._key("node", n)

    @property
    def metrics_lease(self) -> str:
        return self._key("metricslease")

    def blend(self, rule: str) -> str:
        return self._key("blend", rule)

    @property
    def blend_lease(self) -> str:
        return self._key("blendlease")

    @property
    def agent_blend(self) -> str:
        return self._key("ablend")

    def campaign_rate(self, c: str) -> str:
        return self._key("crate", c)
