"""The public contract between the router and channel adapters.

An adapter translates a provider's webhooks into :class:`~router.contracts.InboundEvent` s,
posted through :class:`~router.sdk.client.RouterClient`, and turns
:class:`~router.contracts.OutboundMessage` s into the provider's outbound calls. Adapters
are found by name through the ``omniroute.adapters`` entry-point group, so the router never
imports them; the same adapter runs inside ``omniroute serve`` or as its own process
(``omniroute adapter NAME``).

The router delivers an agent's reply by ``POST``-ing the ``OutboundMessage`` JSON to the
adapter host's outbound URL (``{adapter base}/adapters/{name}/outbound``) with the adapter
token as bearer; the host (``router/adapter_host.py``) answers 202, calls ``send`` with
retries and backoff, and reports the outcome with ``POST /v1/messages/{message_id}/status``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

from aiohttp import web

from router.contracts import Channel, ChannelCapabilities, OutboundAccepted, OutboundMessage
from router.contracts.callbacks import CallbackDial, CallbackDialed
from router.sdk.client import RouterClient

ENTRY_POINT_GROUP = "omniroute.adapters"


class DeliveryError(Exception):
    """The provider refused or could not be reached. ``retryable`` is false for a permanent 4xx."""

    def __init__(self, detail: str, *, retryable: bool = True, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retryable = retryable
        self.status = status


@runtime_checkable
class ChannelAdapter(Protocol):
    """One provider's translation layer. Construct with its config section and a router client."""

    name: ClassVar[str]
    channel: ClassVar[Channel]
    capabilities: ClassVar[ChannelCapabilities]

    def __init__(self, config: Mapping[str, Any], router: RouterClient) -> None: ...

    def routes(self) -> list[web.AbstractRouteDef]:
        """The provider-facing routes, with paths relative to ``/adapters`` (e.g. ``"/twilio/voice"``)."""
        ...

    async def send(self, message: OutboundMessage) -> OutboundAccepted:
        """Deliver an agent's reply through the provider. Raise :class:`DeliveryError` on failure;
        the host retries retryable failures with backoff and reports the outcome to the router."""
        ...

    async def start(self) -> None:
        """Open listeners (an SMTP server) or client sessions."""
        ...

    async def stop(self) -> None: ...


@runtime_checkable
class CallbackDialer(Protocol):
    """A voice adapter that can call a customer back and bridge the agent (``docs/callbacks.md``): the
    host serves ``POST /adapters/{name}/dial`` for it with the router's adapter token."""

    async def dial(self, request: CallbackDial) -> CallbackDialed:
        """Place the call through the provider; :class:`DeliveryError` when it refuses."""
        ...
