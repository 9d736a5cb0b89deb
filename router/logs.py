"""structlog as its documentation configures it: context variables, a filtering bound logger, JSON
lines (or a console renderer on a terminal). Secrets are never logged: tokens are not bound, and the
access log leaves query strings out."""

from __future__ import annotations

import logging
import sys

import structlog
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse


def configure(level: str = "info", *, json: bool | None = None) -> None:
    lvl = logging.getLevelName(level.upper())
    if not isinstance(lvl, int):
        lvl = logging.INFO
    use_json = json if json is not None else not sys.stderr.isatty()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


class AccessLogger(AbstractAccessLogger):
    """One structured line per request: method, path without the query string, status, duration. The
    signed part of a survey link (``/survey/<token>``) is left out: whoever holds it may answer."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        path = request.path
        if path.startswith("/survey/"):
            path = "/survey/…"
        structlog.get_logger("router.access").info(
            "http.request",
            method=request.method,
            path=path,
            status=response.status,
            duration_ms=round(time * 1000, 2),
        )

    @property
    def enabled(self) -> bool:
        return True
