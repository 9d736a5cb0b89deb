"""The typed keys under which the application holds each service.

There is no process-wide object passed everywhere: each service is built once in ``router.app`` from the
ones it uses, stored under its own key here, and handed by the app to whoever needs it. A function's
signature says what it touches.

=================  ==========================================  =============================================
key                service                                     what it owns
=================  ==========================================  =============================================
``SETTINGS``       :class:`router.config.Settings`             the configuration, read once at start
``NODE``           :class:`router.node.Node`                   this process's id and listening address
``METRICS``        :class:`router.metrics.Metrics`             counters and latencies for ``/metrics``
``POOL``           ``asyncpg.Pool``                            PostgreSQL, the record
``ENGINE``         :class:`router.routing.engine.Engine`       Redis, the live index, through its scripts
``DIRECTORY``      :class:`router.routing.directory.Directory` queues, agents and rules (cached copy)
``STATS``          :class:`router.routing.stats.Statistics`    live queue statistics and wait estimates
``TOKENS``         :class:`router.http.auth.TokenCache`        bearer tokens
``OUTBOUND``       :class:`router.service.outbound.Outbound`   replies to the adapters
``INGEST``         :class:`router.service.ingest.Ingest`       inbound events and messages
``WORK``           :class:`router.service.work.Work`           what agents do with their work
``HUB``            :class:`router.realtime.hub.Hub`            this process's sockets and event dispatch
``SOCKETS``        :class:`router.realtime.sockets.Sockets`    the two websocket endpoints
``RECONCILER``     :class:`router.service.reconciler.Reconciler`  rebuild, repair, timers, heartbeat
=================  ==========================================  =============================================
"""

from __future__ import annotations

import asyncpg
from aiohttp import web

from router.config import Settings
from router.http.auth import TokenCache
from router.metrics import Metrics
from router.node import Node
from router.realtime.hub import Hub
from router.realtime.sockets import Sockets
from router.routing.directory import Directory
from router.routing.engine import Engine
from router.routing.stats import Statistics
from router.service.ingest import Ingest
from router.service.outbound import Outbound
from router.service.reconciler import Reconciler
from router.service.work import Work

SETTINGS = web.AppKey("settings", Settings)
NODE = web.AppKey("node", Node)
METRICS = web.AppKey("metrics", Metrics)
POOL = web.AppKey("pool", asyncpg.Pool)
ENGINE = web.AppKey("engine", Engine)
DIRECTORY = web.AppKey("directory", Directory)
STATS = web.AppKey("stats", Statistics)
TOKENS = web.AppKey("tokens", TokenCache)
OUTBOUND = web.AppKey("outbound", Outbound)
INGEST = web.AppKey("ingest", Ingest)
WORK = web.AppKey("work", Work)
HUB = web.AppKey("hub", Hub)
SOCKETS = web.AppKey("sockets", Sockets)
RECONCILER = web.AppKey("reconciler", Reconciler)
