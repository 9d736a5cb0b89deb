"""The customer web chat websocket protocol: JSON frames, a discriminated union on ``type``.

Customer → server: ``hello`` (first frame: the visitor id kept in the browser, optionally the
interaction to resume and contact details), ``message``, ``contact``, ``page_view`` (a page the visitor
opened, recorded on their journey even before a first message), ``answer`` (to a ``question``),
``leave_message`` (while the queue is closed: a message that becomes an e-mail interaction), ``end``.
Server → customer: ``welcome`` (capabilities and, on a resume, the history), ``status``
(queue position and wait estimate while waiting, then ``assigned``), ``message`` (from the
agent, or the customer's own from another tab), ``ack`` (a message was taken), ``question`` (one of
the queue's questions while waiting), ``closed`` (the queue is closed: when it opens, and the offer to
leave a message), ``message_left``, ``ended``, ``error``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from router.contracts import ChannelCapabilities, CustomerText, InteractionStatus

VisitorId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
ClientMessageId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Hello(_Frame):
    type: Literal["hello"]
    visitor_id: VisitorId
    interaction_id: Annotated[str | None, Field(max_length=100)] = None
    name: Annotated[str | None, Field(max_length=200)] = None
    email: Annotated[str | None, Field(max_length=320)] = None
    phone: Annotated[str | None, Field(max_length=40)] = None


class Say(_Frame):
    type: Literal["message"]
    id: ClientMessageId
    text: Annotated[CustomerText, Field(min_length=1, max_length=4000)]


class End(_Frame):
    type: Literal["end"]


class Contact(_Frame):
    """Contact details typed after the socket opened; they go with the visitor's next message."""

    type: Literal["contact"]
    name: Annotated[str | None, Field(max_length=200)] = None
    email: Annotated[str | None, Field(max_length=320)] = None
    phone: Annotated[str | None, Field(max_length=40)] = None


class PageView(_Frame):
    """A page the visitor opened: recorded on the visitor's journey, so the agent of their first chat
    sees what they browsed before it. Both fields come from the visitor's browser: a NUL or a lone
    surrogate in them is dropped, never a reason to lose the page."""

    type: Literal["page_view"]
    url: Annotated[CustomerText, Field(min_length=1, max_length=2000)]
    title: Annotated[CustomerText | None, Field(max_length=300)] = None


class Answer(_Frame):
    """The visitor's answer to a ``question``; it becomes the attribute named by the question's id."""

    type: Literal["answer"]
    question_id: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")]
    text: Annotated[CustomerText, Field(min_length=1, max_length=1000)]


class LeaveMessage(_Frame):
    """A message left while the queue is closed: it becomes an e-mail interaction (answered by e-mail when
    the visitor gives an address)."""

    type: Literal["leave_message"]
    id: ClientMessageId
    text: Annotated[CustomerText, Field(min_length=1, max_length=4000)]
    email: Annotated[str | None, Field(max_length=320)] = None
    name: Annotated[str | None, Field(max_length=200)] = None


Customer = Hello | Say | End | Contact | PageView | Answer | LeaveMessage
CustomerFrame = Annotated[Customer, Field(discriminator="type")]
customer_frame: TypeAdapter[Customer] = TypeAdapter(CustomerFrame)


class ChatLine(_Frame):
    type: Literal["message"] = "message"
    id: str
    sender: Literal["agent", "supervisor", "customer"] = Field(
        description="`supervisor`: a supervisor wrote it into the chat (a barge)"
    )
    text: str
    agent_id: str | None = None


class Welcome(_Frame):
    type: Literal["welcome"] = "welcome"
    visitor_id: str
    capabilities: ChannelCapabilities
    interaction_id: str | None = None
    history: list[ChatLine] = Field(default_factory=list)


class Status(_Frame):
    type: Literal["status"] = "status"
    interaction_id: str
    status: InteractionStatus
    position: int | None = None
    estimated_wait_seconds: float | None = None
    agent_id: str | None = None
    estimated_wait_range: list[float] | None = None


class Ack(_Frame):
    type: Literal["ack"] = "ack"
    id: str
    interaction_id: str


class Ended(_Frame):
    type: Literal["ended"] = "ended"
    interaction_id: str


class Question(_Frame):
    """One of the queue's questions, asked while the visitor waits (the next after each answer)."""

    type: Literal["question"] = "question"
    id: str
    text: str


class Closed(_Frame):
    """The queue is closed: the message was recorded, nothing is queued. ``opens_at``: when it opens
    (null: no opening planned); the visitor may leave a message (``leave_message``)."""

    type: Literal["closed"] = "closed"
    interaction_id: str
    opens_at: datetime | None = None
    leave_message: bool = True


class MessageLeft(_Frame):
    type: Literal["message_left"] = "message_left"
    id: str
    interaction_id: str


class Error(_Frame):
    type: Literal["error"] = "error"
    detail: str


ServerFrame = Welcome | Status | ChatLine | Ack | Ended | Error | Question | Closed | MessageLeft
