"""Wire models of callbacks that keep their place (``docs/callbacks.md``): the adapter's request, the
answer, what an offer says of a callback, the agent's outcome and the dial the router asks of the voice
adapter."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field

from router.contracts.wire import Strict

CallbackOutcome = Literal["connected", "no_answer", "busy", "failed"]
CALLBACK_OUTCOMES: tuple[str, ...] = ("connected", "no_answer", "busy", "failed")


class CallbackIn(Strict):
    number: Annotated[str, Field(min_length=1, max_length=64, examples=["+14155550123"])] = Field(
        description="the number to call back; read in the deployment's default region when national, and"
        " stored in E.164"
    )
    not_before: AwareDatetime | None = Field(
        default=None,
        description="not offered to an agent before this time (with a time zone); its place is kept",
    )


class CallbackOut(BaseModel):
    interaction_id: str
    number: str = Field(description="E.164")
    not_before: datetime | None = None
    attempts: int = Field(description="calls placed so far")
    last_outcome: CallbackOutcome | None = None
    held_until: datetime | None = Field(
        default=None, description="not offered before then (not_before, or the next retry)"
    )
    position: int | None = Field(
        default=None, description="its 1-based place in the queue while waiting (None while held back)"
    )


class CallbackInfo(BaseModel):
    """What an offer (and the work it becomes) says of a callback: the agent calls the customer."""

    number: str = Field(description="E.164: the number the customer asked to be called back on")
    attempt: int = Field(description="this call's number, from 1")
    attempts: int = Field(description="the queue's callback_attempts: calls tried at most")


class CallbackDial(Strict):
    """The router asks the voice adapter to call the customer and bridge the agent
    (``POST /adapters/{name}/dial`` on the adapter host, adapter token as bearer)."""

    interaction_id: str
    number: str = Field(description="E.164")
    agent_id: str
    agent_address: str | None = Field(
        default=None, description="the agent's voice address (client:, sip:, a number)"
    )
    attempt: int


class CallbackDialed(BaseModel):
    """The provider took the call request."""

    call_id: str | None = Field(default=None, description="the provider's id of the outbound call")
