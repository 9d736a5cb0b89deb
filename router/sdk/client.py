"""A small asynchronous client of the router's public HTTP API.

Used by channel adapters, the benchmark and the simulator, and by integrators: the adapter calls, the
admin API (tokens, queues, agents, rules), customers' preferences and consent, campaigns, reports and
webhooks. Each call needs a token of a
role the route admits (``GET /v1/openapi.json`` names them). It speaks only the documented API; the agent
socket is :class:`router.sdk.agent.AgentSocket`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import aiohttp

from router.contracts import (
    AgentConfig,
    AgentOut,
    IdentityJourneyEventIn,
    InboundEvent,
    IngestResult,
    InteractionOut,
    JourneyEventRecorded,
    KpiReport,
    MessageIn,
    MessageStatusIn,
    QualityReport,
    QueueConfig,
    QueueOut,
    Role,
    RoutingRule,
    TokenInfoOut,
    TokenOut,
)
from router.contracts.campaigns import (
    CampaignIn,
    CampaignOut,
    CustomerPreferencesOut,
    PreferencesIn,
    RecipientsOut,
)
from router.contracts.consent import ConsentIn, ConsentOut
from router.contracts.waiting import InteractionPatch
from router.contracts.webhooks import DeliveryOut, WebhookCreated, WebhookOut


class RouterAPIError(Exception):
    """The router answered with a problem document."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status}: {problem.get('title')}: {problem.get('detail')}")
        self.status = status
        self.problem = problem


class RouterClient:
    def __init__(self, base_url: str, token: str, *, session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._session = session
        self._own_session = session is None

    @property
    def token(self) -> str:
        """The token this client sends (the in-process adapters' own)."""
        return self._token

    async def __aenter__(self) -> RouterClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        return self._session

    async def close(self) -> None:
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    async def request(self, method: str, path: str, json: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self._token}"}
        async with self.session.request(method, self.base_url + path, json=json, headers=headers) as resp:
            body = await resp.json(content_type=None) if resp.content_length != 0 else None
            if resp.status >= 400:
                raise RouterAPIError(resp.status, body if isinstance(body, dict) else {"title": str(body)})
            return resp.status, body

    async def ingest(self, event: InboundEvent) -> IngestResult:
        _, body = await self.request("POST", "/v1/interactions", event.model_dump(mode="json", by_alias=True))
        return IngestResult.model_validate(body)

    async def journey_event(self, event: IdentityJourneyEventIn) -> JourneyEventRecorded:
        """Record a journey event for whoever owns an identity (a customer is created if none does)."""
        _, body = await self.request(
            "POST", "/v1/journey-events", event.model_dump(mode="json", exclude_none=True)
        )
        return JourneyEventRecorded.model_validate(body)

    async def get_interaction(self, interaction_id: str) -> InteractionOut:
        _, body = await self.request("GET", f"/v1/interactions/{interaction_id}")
        return InteractionOut.model_validate(body)

    async def patch_interaction(self, interaction_id: str, change: InteractionPatch) -> InteractionOut:
        """Add what was collected while the customer waits (attributes) and optionally move the waiting
        interaction to another queue at its place; 409 ``not_waiting`` once it is not waiting."""
        _, body = await self.request(
            "PATCH", f"/v1/interactions/{interaction_id}", change.model_dump(mode="json", exclude_none=True)
        )
        return InteractionOut.model_validate(body)

    async def post_message(self, interaction_id: str, message: MessageIn) -> dict[str, Any]:
        _, body = await self.request(
            "POST", f"/v1/interactions/{interaction_id}/messages", message.model_dump(mode="json")
        )
        return dict(body)

    async def end(self, interaction_id: str, reason: str = "customer_left") -> InteractionOut:
        _, body = await self.request("POST", f"/v1/interactions/{interaction_id}/end", {"reason": reason})
        return InteractionOut.model_validate(body)

    async def request_callback(self, interaction_id: str, number: str) -> dict[str, Any]:
        """Call the waiting customer back on ``number``, keeping their place (``docs/callbacks.md``)."""
        _, body = await self.request(
            "POST", f"/v1/interactions/{interaction_id}/callback", {"number": number}
        )
        return dict(body)

    async def message_status(self, message_id: str, status: MessageStatusIn) -> None:
        await self.request("POST", f"/v1/messages/{message_id}/status", status.model_dump(mode="json"))

    async def message_status_by_external_id(self, status: MessageStatusIn) -> None:
        """Record a provider receipt (delivered, read, failed) for the message with that provider id."""
        await self.request("POST", "/v1/messages/status", status.model_dump(mode="json"))

    async def find_interaction(self, channel: str, external_id: str) -> InteractionOut | None:
        """The interaction with this provider id on this channel, or None."""
        try:
            _, body = await self.request(
                "GET", "/v1/interactions?" + urlencode({"channel": channel, "external_id": external_id})
            )
        except RouterAPIError as exc:
            if exc.status == 404:
                return None
            raise
        return InteractionOut.model_validate(body)

    # ------------------------------------------------------------ directory and admin

    async def list_queues(self) -> list[QueueOut]:
        _, body = await self.request("GET", "/v1/queues")
        return [QueueOut.model_validate(q) for q in body]

    async def get_queue(self, queue_id: str) -> QueueOut:
        """One queue: its configuration (the questions asked while waiting, its hours) and live state."""
        _, body = await self.request("GET", f"/v1/queues/{queue_id}")
        return QueueOut.model_validate(body)

    async def put_queue(self, queue_id: str, config: QueueConfig) -> QueueOut:
        """Create or replace a queue (admin)."""
        _, body = await self.request("PUT", f"/v1/queues/{queue_id}", config.model_dump(mode="json"))
        return QueueOut.model_validate(body)

    async def list_agents(self) -> list[AgentOut]:
        _, body = await self.request("GET", "/v1/agents")
        return [AgentOut.model_validate(a) for a in body]

    async def put_agent(self, agent_id: str, config: AgentConfig) -> AgentOut:
        """Create or replace an agent (admin)."""
        _, body = await self.request("PUT", f"/v1/agents/{agent_id}", config.model_dump(mode="json"))
        return AgentOut.model_validate(body)

    async def get_rules(self) -> list[RoutingRule]:
        _, body = await self.request("GET", "/v1/rules")
        return [RoutingRule.model_validate(r) for r in body]

    async def put_rules(self, rules: list[RoutingRule]) -> list[RoutingRule]:
        """Replace the routing rules (admin)."""
        _, body = await self.request(
            "PUT", "/v1/rules", {"rules": [r.model_dump(mode="json") for r in rules]}
        )
        return [RoutingRule.model_validate(r) for r in body]

    async def create_token(
        self,
        role: Role,
        *,
        agent_id: str | None = None,
        name: str | None = None,
        expires_at: str | None = None,
    ) -> TokenOut:
        """A new token (admin); its secret (``token``) is in this answer only."""
        payload = {"role": role.value, "agent_id": agent_id, "name": name, "expires_at": expires_at}
        _, body = await self.request("POST", "/v1/tokens", payload)
        return TokenOut.model_validate(body)

    async def list_tokens(self) -> list[TokenInfoOut]:
        _, body = await self.request("GET", "/v1/tokens")
        return [TokenInfoOut.model_validate(t) for t in body]

    async def revoke_token(self, token_id: str) -> None:
        await self.request("DELETE", f"/v1/tokens/{token_id}")

    # ------------------------------------------------------------ consent

    async def get_consent(self, customer_id: str) -> ConsentOut:
        _, body = await self.request("GET", f"/v1/customers/{customer_id}/consent")
        return ConsentOut.model_validate(body)

    async def put_consent(self, customer_id: str, channel: str, change: ConsentIn) -> ConsentOut:
        """Append a change to the customer's consent ledger; the ledger after it."""
        _, body = await self.request(
            "PUT", f"/v1/customers/{customer_id}/consent/{channel}", change.model_dump(mode="json")
        )
        return ConsentOut.model_validate(body)

    # ------------------------------------------------------------ webhooks (admin)

    async def create_webhook(
        self, url: str, events: list[str], *, secret: str | None = None, description: str | None = None
    ) -> WebhookCreated:
        """Subscribe ``url`` to ``events``; the answer's ``secret`` is shown this once."""
        payload: dict[str, Any] = {"url": url, "events": events, "description": description}
        if secret is not None:
            payload["secret"] = secret
        _, body = await self.request("POST", "/v1/webhooks", payload)
        return WebhookCreated.model_validate(body)

    async def list_webhooks(self) -> list[WebhookOut]:
        _, body = await self.request("GET", "/v1/webhooks")
        return [WebhookOut.model_validate(w) for w in body]

    async def delete_webhook(self, webhook_id: str) -> None:
        await self.request("DELETE", f"/v1/webhooks/{webhook_id}")

    async def webhook_deliveries(
        self, webhook_id: str, *, after: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[DeliveryOut]:
        query = {k: v for k, v in {"after": after, "status": status, "limit": str(limit)}.items() if v}
        _, body = await self.request("GET", f"/v1/webhooks/{webhook_id}/deliveries?{urlencode(query)}")
        return [DeliveryOut.model_validate(d) for d in body]

    async def replay_webhook(self, webhook_id: str, after: str) -> int:
        """Send again every delivery of the webhook after event ``after``; how many were queued."""
        _, body = await self.request("POST", f"/v1/webhooks/{webhook_id}/replay", {"after": after})
        return int(body["replayed"])

    # ------------------------------------------------------------ customers' preferences

    async def get_customer(self, customer_id: str) -> CustomerPreferencesOut:
        """The customer's profile and contact preferences (a missing time zone from their number)."""
        _, body = await self.request("GET", f"/v1/customers/{customer_id}")
        return CustomerPreferencesOut.model_validate(body)

    async def set_preferences(self, customer_id: str, change: PreferencesIn) -> CustomerPreferencesOut:
        """Change the preferences named in ``change`` (``None`` clears one); the customer after it."""
        _, body = await self.request(
            "PATCH", f"/v1/customers/{customer_id}", change.model_dump(mode="json", exclude_unset=True)
        )
        return CustomerPreferencesOut.model_validate(body)

    # ------------------------------------------------------------ campaigns

    async def create_campaign(self, campaign: CampaignIn) -> CampaignOut:
        """A draft campaign; nothing is sent before :meth:`start_campaign`."""
        _, body = await self.request(
            "POST", "/v1/campaigns", campaign.model_dump(mode="json", exclude_none=True)
        )
        return CampaignOut.model_validate(body)

    async def get_campaign(self, campaign_id: str) -> CampaignOut:
        _, body = await self.request("GET", f"/v1/campaigns/{campaign_id}")
        return CampaignOut.model_validate(body)

    async def start_campaign(self, campaign_id: str) -> CampaignOut:
        _, body = await self.request("POST", f"/v1/campaigns/{campaign_id}/start")
        return CampaignOut.model_validate(body)

    async def pause_campaign(self, campaign_id: str) -> CampaignOut:
        _, body = await self.request("POST", f"/v1/campaigns/{campaign_id}/pause")
        return CampaignOut.model_validate(body)

    async def cancel_campaign(self, campaign_id: str) -> CampaignOut:
        _, body = await self.request("POST", f"/v1/campaigns/{campaign_id}/cancel")
        return CampaignOut.model_validate(body)

    async def campaign_recipients(
        self, campaign_id: str, *, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> RecipientsOut:
        query = {"limit": str(limit), "offset": str(offset)} | ({"status": status} if status else {})
        _, body = await self.request("GET", f"/v1/campaigns/{campaign_id}/recipients?{urlencode(query)}")
        return RecipientsOut.model_validate(body)

    # ------------------------------------------------------------ reports

    async def kpis(
        self,
        from_: str,
        to: str,
        *,
        interval: str = "1h",
        group_by: str = "none",
        tz: str | None = None,
    ) -> KpiReport:
        """KPIs per interval (and queue, channel or agent) over [from_, to) (``docs/reports.md``)."""
        query = {"from": from_, "to": to, "interval": interval, "group_by": group_by} | (
            {"tz": tz} if tz else {}
        )
        _, body = await self.request("GET", f"/v1/reports/kpis?{urlencode(query)}")
        return KpiReport.model_validate(body)

    async def quality_report(self, from_: str, to: str, *, group_by: str = "agent") -> QualityReport:
        """Review scores per agent or queue over [from_, to)."""
        query = {"from": from_, "to": to, "group_by": group_by}
        _, body = await self.request("GET", f"/v1/reports/quality?{urlencode(query)}")
        return QualityReport.model_validate(body)
