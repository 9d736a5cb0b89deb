"""Configuration: a TOML file for queues, agents, rules, tokens and adapters; the environment for
URLs and secrets. Nothing is read at import time: :func:`load_settings` is called by the CLI.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from router.contracts import AgentConfig, Ident, QueueConfig, Role, RoutingRule, is_region, is_timezone
from router.contracts.blending import BlendingRule, rule_ids


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSection(_Section):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    public_url: str | None = Field(default=None, description="the URL providers and browsers reach")
    backend_wait_seconds: Annotated[float, Field(ge=0, le=3600)] = Field(
        default=60, description="how long start-up waits for PostgreSQL and Redis to answer"
    )
    idle_timeout_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=15, description="a connection without a complete request for this long is closed"
    )
    max_connections_per_address: Annotated[int, Field(ge=0)] = Field(
        default=0, description="open connections one client address may hold (0: no cap)"
    )
    max_inflight: Annotated[int, Field(ge=0)] = Field(
        default=128,
        description="requests that create work (ingest, customer and journey events) in flight at once in"
        " one process; beyond it they are refused with 503 and Retry-After (0: no cap)",
    )
    max_event_backlog: Annotated[int, Field(ge=0)] = Field(
        default=1000,
        description="refuse requests that create work while this process has more events read from the"
        " stream and not yet handled (offers, frames to send) than this (0: no cap)",
    )
    max_loop_lag_ms: Annotated[float, Field(ge=0)] = Field(
        default=0,
        description="refuse requests that create work while the event loop runs later than this (0: off)",
    )
    overload_retry_after_seconds: Annotated[int, Field(ge=1, le=3600)] = Field(
        default=1, description="the Retry-After of a 503 refusing work at capacity"
    )
    timezone: str = Field(
        default="UTC",
        description='the IANA time zone of the center\'s day: "today" on the wallboard and in queue'
        " statistics, and the default time zone of reports",
    )
    database_pool_size: Annotated[int, Field(ge=2, le=1000)] = Field(
        default=20,
        description="connections each router process opens to PostgreSQL at most: PostgreSQL's"
        " max_connections must cover every process's (workers, routers on other hosts, adapters' none)",
    )
    pgbouncer: bool = Field(
        default=False,
        description="PostgreSQL is reached through PgBouncer in transaction mode: asyncpg's prepared"
        " statement cache off, no jit startup parameter (docs/deployment.md)",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        if not is_timezone(v):
            raise ValueError(f"{v!r} is not an IANA time zone")
        return v


class RoutingSection(_Section):
    namespace: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] = "omniroute"
    reconnect_grace_seconds: Annotated[float, Field(ge=0, le=3600)] = 60
    default_queue: Ident | None = None
    timer_interval_seconds: Annotated[float, Field(gt=0, le=10)] = 0.1
    reconcile_interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 5
    heartbeat_seconds: Annotated[float, Field(gt=0, le=60)] = 1
    missed_offer_state: Literal["away", "offline"] = Field(
        default="away", description="the state an agent who lets an offer time out is put in (reason missed)"
    )
    blending_interval_seconds: Annotated[float, Field(gt=0, le=60)] = Field(
        default=1, description="how often the blending rules are evaluated (by one process of the domain)"
    )


class IdentitySection(_Section):
    default_region: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")] = Field(
        default="US",
        description="the region (ISO 3166 alpha-2) national-format phone numbers are read in, unless an"
        " adapter's default_region or the event's region says otherwise",
    )

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, v: str) -> str:
        if not is_region(v):
            raise ValueError(f"{v!r} is not a region phone numbers are known for")
        return v.upper()

    journey_cap: Annotated[int, Field(ge=1, le=100_000)] = Field(
        default=500,
        description="journey events kept per customer; each new one beyond it drops the oldest (by `at`)",
    )


class RetentionSection(_Section):
    message_days: Annotated[int | None, Field(ge=1)] = Field(
        default=None,
        description="message bodies and attachments older than this many days are blanked (unset: kept)",
    )
    purge_interval_seconds: Annotated[float, Field(gt=0, le=86_400)] = Field(
        default=3600, description="how often each router process runs the retention purge"
    )


SYSTEM_REASONS = ("missed", "disconnected")
"""Not-ready reasons the router itself gives: ``missed`` (an offer left to time out; an agent may give it
too) and ``disconnected`` (the desktop dropped: recorded as offline)."""


class PresenceSection(_Section):
    away_reasons: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_ .\-]{0,63}$")]] = Field(
        default_factory=lambda: ["break", "lunch", "meeting", "training"],
        max_length=100,
        description="the reasons an agent may give for being away (set_state); `missed` is always valid",
    )

    @field_validator("away_reasons")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("away reasons must be distinct")
        if "disconnected" in v:
            raise ValueError("'disconnected' is the router's own reason for a dropped desktop")
        return v

    def allowed(self) -> list[str]:
        """The reasons ``set_state`` takes with ``away``: the configured ones and ``missed``."""
        return [*self.away_reasons, *(["missed"] if "missed" not in self.away_reasons else [])]


class WebhooksSection(_Section):
    allow_private: bool = Field(
        default=False,
        description="accept webhook URLs whose host resolves to a private, loopback or link-local address",
    )
    retry_base_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=10, description="the first retry's delay; each next one doubles, with jitter"
    )
    retry_max_seconds: Annotated[float, Field(gt=0, le=86400)] = Field(
        default=3600, description="the longest delay between two attempts"
    )
    retry_for_seconds: Annotated[float, Field(gt=0, le=30 * 86400)] = Field(
        default=86400, description="how long a delivery is retried before it is given up as failed"
    )
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = Field(
        default=10, description="how long one attempt waits for the receiver's answer"
    )
    poll_seconds: Annotated[float, Field(gt=0, le=60)] = Field(
        default=0.5, description="how often a process looks for due deliveries when nothing woke it"
    )
    concurrency: Annotated[int, Field(ge=1, le=256)] = Field(
        default=16, description="deliveries one process sends at once"
    )
    keep_days: Annotated[float, Field(gt=0, le=3650)] = Field(
        default=7, description="how long delivered and failed deliveries are kept (listed, replayable)"
    )


class OutboundSection(_Section):
    require_opt_in: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]] = Field(
        default_factory=lambda: ["marketing"],
        description="purposes a customer is contacted for only after opting in (others: unless opted out)",
    )
    stop_words: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list, description="more words that opt a customer out by SMS or WhatsApp (수신거부…)"
    )
    start_words: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list, description="more words that opt a customer back in"
    )
    keyword_purposes: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]] = Field(
        default_factory=lambda: ["notifications", "marketing"],
        description="the purposes a keyword changes",
    )
    stop_reply: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        default="You are unsubscribed and will get no more messages from us. Reply START to subscribe again.",
        description="the confirmation sent when a keyword opts a customer out",
    )
    start_reply: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        default="You are subscribed again. Reply STOP to unsubscribe.",
        description="the confirmation sent when a keyword opts a customer back in",
    )
    campaign_worker: bool = Field(
        default=True, description="this process sends campaign messages (any number of processes may)"
    )
    campaign_poll_seconds: Annotated[float, Field(gt=0, le=60)] = Field(
        default=1.0, description="how often an idle campaign worker looks for due recipients"
    )
    campaign_reply_hours: Annotated[float, Field(gt=0, le=24 * 30)] = Field(
        default=72,
        description="a customer's contact within this many hours of a campaign message is its reply",
    )
    campaign_lease_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=30,
        description="a recipient left in `sending` this long by a process that stopped is closed as failed",
    )


class ReportsSection(_Section):
    fcr_window_hours: Annotated[float, Field(gt=0, le=24 * 90)] = Field(
        default=72,
        description="a resolved contact followed by another contact of the customer within this many hours"
        " was not resolved at first contact",
    )
    survey_cooldown_days: Annotated[int, Field(ge=0, le=3650)] = Field(
        default=30, description="a customer is sent at most one survey per this many days"
    )
    survey_reply_hours: Annotated[float, Field(gt=0, le=24 * 30)] = Field(
        default=24,
        description="how long a bare number texted back after a survey is read as its answer",
    )
    survey_link_days: Annotated[float, Field(gt=0, le=365)] = Field(
        default=14, description="how long the signed link of an e-mail survey can be answered"
    )
    database_url: str | None = Field(
        default=None,
        description="a PostgreSQL (a read replica) the reports read from (REPORTS_DATABASE_URL overrides);"
        " unset: the main database",
    )
    shrinkage: Annotated[float, Field(ge=0, lt=1)] = Field(
        default=0.3,
        description="the share of paid time agents are not handling or available for contacts (breaks,"
        " training, meetings): the staffing plan schedules agents needed / (1 - shrinkage)",
    )
    service_level_target: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.8,
        description="the staffing plan's target: this share of contacts answered within the queue's"
        " service_level_seconds",
    )
    forecast_history_weeks: Annotated[int, Field(ge=3, le=104)] = Field(
        default=8,
        description="how many weeks of arrivals the forecast is fitted on (the last one is held out)",
    )


class TokenEntry(_Section):
    token: Annotated[str, Field(min_length=16)]
    role: Role
    agent_id: Ident | None = None
    name: str | None = None


class QueueEntry(QueueConfig):
    id: Ident


class AgentEntry(AgentConfig):
    id: Ident


class FileConfig(_Section):
    server: ServerSection = Field(default_factory=ServerSection)
    routing: RoutingSection = Field(default_factory=RoutingSection)
    identity: IdentitySection = Field(default_factory=IdentitySection)
    webhooks: WebhooksSection = Field(default_factory=WebhooksSection)
    outbound: OutboundSection = Field(default_factory=OutboundSection)
    retention: RetentionSection = Field(default_factory=RetentionSection)
    presence: PresenceSection = Field(default_factory=PresenceSection)
    reports: ReportsSection = Field(default_factory=ReportsSection)
    queues: list[QueueEntry] = Field(default_factory=list)
    agents: list[AgentEntry] = Field(default_factory=list)
    rules: list[RoutingRule] = Field(default_factory=list)
    tokens: list[TokenEntry] = Field(default_factory=list)
    blending: list[BlendingRule] = Field(default_factory=list, max_length=100)
    adapters: dict[str, dict[str, Any]] = Field(default_factory=dict)
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: str | None = None


class ConfigError(Exception):
    pass


class Settings(BaseModel):
    """Everything a router process needs, resolved from file and environment."""

    file: FileConfig
    database_url: str | None
    redis_url: str | None
    admin_token: str | None
    survey_secret: str | None = None
    """signs the links of e-mail surveys (``OMNIROUTE_SURVEY_SECRET``; the same in every process)"""
    reports_database_url: str | None = None
    """where reports read (``REPORTS_DATABASE_URL`` or ``[reports] database_url``, a read replica); None:
    the main database"""
    data_dir: Path
    config_path: Path | None = None

    @property
    def namespace(self) -> str:
        return self.file.routing.namespace


def parse_config(text: str, *, source: str = "<config>") -> FileConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    try:
        cfg = FileConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{source}: invalid configuration:"]
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {loc}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from exc
    _check_references(cfg, source)
    return cfg


def _check_references(cfg: FileConfig, source: str) -> None:
    queue_ids = {q.id for q in cfg.queues}
    agent_ids = {a.id for a in cfg.agents}
    problems = []
    for queue in cfg.queues:
        for target in sorted(queue.targets()):
            if target not in queue_ids:
                problems.append(f"queue {queue.id!r} sends work to unknown queue {target!r}")
    for rule in cfg.rules:
        if rule.queue not in queue_ids:
            problems.append(f"rule targets unknown queue {rule.queue!r}")
    for tok in cfg.tokens:
        if tok.role == Role.agent and tok.agent_id not in agent_ids:
            problems.append(f"agent token names unknown agent {tok.agent_id!r}")
        if (tok.role == Role.agent) != (tok.agent_id is not None):
            problems.append("agent_id is required for agent tokens and only for them")
    names = rule_ids(cfg.blending)
    if len(set(names)) != len(names):
        problems.append(f"blending rules need distinct ids: {names}")
    if cfg.routing.default_queue and cfg.routing.default_queue not in queue_ids:
        problems.append(f"default_queue {cfg.routing.default_queue!r} is not a configured queue")
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))


def load_settings(config_path: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Settings:
    if config_path is not None:
        path = Path(config_path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read configuration {path}: {exc.strerror}") from exc
        cfg = parse_config(text, source=str(path))
    else:
        path = None
        cfg = FileConfig()
    data_dir = Path(env.get("OMNIROUTE_DATA_DIR") or cfg.data_dir or Path.home() / ".local/share/omniroute")
    return Settings(
        file=cfg,
        database_url=env.get("DATABASE_URL") or cfg.database_url,
        redis_url=env.get("REDIS_URL") or cfg.redis_url,
        admin_token=env.get("OMNIROUTE_ADMIN_TOKEN") or None,
        survey_secret=env.get("OMNIROUTE_SURVEY_SECRET") or None,
        reports_database_url=env.get("REPORTS_DATABASE_URL") or cfg.reports.database_url,
        data_dir=data_dir,
        config_path=path,
    )


SETTINGS = web.AppKey("settings", Settings)
