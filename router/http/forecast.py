"""``GET /v1/reports/forecast``: mixed into ``API``, whose ``app`` holds the services."""

from __future__ import annotations

import structlog
from aiohttp import web

from router.config import SETTINGS
from router.contracts import Role
from router.errors import BadRequest
from router.http.common import ok
from router.service import auth
from router.service.auth import TOKENS
from router.service.forecast import FORECASTS, forecast_csv, parse_query


class ForecastHandlers:
    app: web.Application

    async def get_forecast(self, request: web.Request) -> web.Response:
        principal = await auth.authenticate(request, self.app[TOKENS], Role.supervisor)
        structlog.contextvars.bind_contextvars(role=principal.role.value)
        query = dict(request.query)
        fmt = query.pop("format", "json")
        if fmt not in ("json", "csv"):
            raise BadRequest(
                "format: one of json, csv",
                errors=[{"loc": ["query", "format"], "msg": "one of json, csv", "type": "value_error"}],
            )
        settings = self.app[SETTINGS].file
        fq = parse_query(
            query, default_tz=settings.server.timezone, default_weeks=settings.reports.forecast_history_weeks
        )
        report = await self.app[FORECASTS].forecast(fq)
        if fmt == "csv":
            return web.Response(
                text=forecast_csv(report),
                content_type="text/csv",
                charset="utf-8",
                headers={"Content-Disposition": f'attachment; filename="forecast-{fq.queue}.csv"'},
            )
        return ok(report)
