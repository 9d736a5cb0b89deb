"""The agent and supervisor websocket protocols.

Every frame is a JSON object with a ``type``; each direction is a pydantic discriminated
union on that field. Client frames may carry a ``ref`` (any short string); the server echoes
it in the ``ack`` or ``error`` frame that answers the request.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, model_validator

from router.contracts import (
    AgentState,
    BlendingStatus,
    CallbackInfo,
    Channel,
    Collision,
    ContextRecord,
    CustomerText,
    InteractionOut,
    MessageOut,
    QueueStats,
    Strict,
    Why,
)

Ref = Annotated[str | None, Field(max_length=100)]
Id = Annotated[str, Field(max_length=100)]


class _Frame(Strict):
    """A frame from a client. Text the agent wrote for a person (a message, a note, a summary, a
    reason: :data:`~router.contracts.CustomerText`) is kept without the characters PostgreSQL cannot
    store (NUL, lone surrogates); any other string with one is refused with an ``error`` frame naming
    the field (:class:`~router.contracts.Strict`)."""


# ---------------------------------------------------------------- agent → server


class SetState(_Frame):
    type: Literal["set_state"]
    state: AgentState
    reason: Annotated[str, Field(max_length=64)] = Field(
        default="",
        description="why the agent is away: one of hello.away_reasons (`[presence] away_reasons`, and"
        " `missed`); only with `away`",
    )
    ref: Ref = None


class Accept(_Frame):
    type: Literal["accept"]
    offer_id: Annotated[str, Field(min_length=1, max_length=100)]
    ref: Ref = None


class Reject(_Frame):
    type: Literal["reject"]
    offer_id: Annotated[str, Field(min_length=1, max_length=100)]
    reason: Annotated[CustomerText | None, Field(max_length=200)] = None
    ref: Ref = None


class SendMessage(_Frame):
    type: Literal["send_message"]
    interaction_id: Id
    body: Annotated[CustomerText, Field(min_length=1, max_length=100_000)]
    subject: Annotated[
        CustomerText | None, Field(max_length=1000, description="e-mail: sets the thread's subject")
    ] = None
    ref: Ref = None


class AddNote(_Frame):
    type: Literal["add_note"]
    interaction_id: Id
    body: Annotated[CustomerText, Field(min_length=1, max_length=20_000)]
    ref: Ref = None


class Complete(_Frame):
    type: Literal["complete"]
    interaction_id: Id
    disposition: Annotated[str | None, Field(max_length=100)] = None
    summary: Annotated[CustomerText | None, Field(max_length=20_000)] = None
    ref: Ref = None


class Transfer(_Frame):
    type: Literal["transfer"]
    interaction_id: Id
    queue: Annotated[str | None, Field(min_length=1, max_length=64)] = Field(
        default=None, description="the queue it goes to (default: its own); required without agent_id"
    )
    agent_id: Annotated[str | None, Field(min_length=1, max_length=64)] = Field(
        default=None,
        description="offer it only to this agent; if they reject or miss it, it waits in the queue for"
        " anyone",
    )
    mode: Literal["cold", "warm"] = Field(
        default="cold",
        description="cold: the work leaves the sender at once; warm: the sender keeps it until the target"
        " accepts",
    )
    channel: Channel | None = Field(default=None, description="escalate onto another channel")
    note: Annotated[CustomerText | None, Field(max_length=20_000)] = None
    ref: Ref = None

    @model_validator(mode="after")
    def _somewhere(self) -> Transfer:
        if self.queue is None and self.agent_id is None:
            raise ValueError("name a queue, an agent_id, or both")
        return self


class EndWrapup(_Frame):
    type: Literal["end_wrapup"]
    interaction_id: Id
    ref: Ref = None


class LinkCustomer(_Frame):
    """The agent verified in the conversation that the contact is this known customer: the contact's
    customer is merged into it (reason ``agent verified``), and the context then carries its history."""

    type: Literal["link_customer"]
    interaction_id: Id
    customer_id: Id
    ref: Ref = None


class CallbackResult(_Frame):
    """How the call of a callback the agent holds went (``docs/callbacks.md``): ``connected`` goes on as
    assigned work; ``no_answer``, ``busy`` and ``failed`` end the agent's hold, and the interaction waits
    again at its original place after the queue's ``callback_retry_seconds``, or ends after its last
    attempt (``callback_attempts``)."""

    type: Literal["callback_result"]
    interaction_id: Id
    outcome: Literal["connected", "no_answer", "busy", "failed"]
    ref: Ref = None


class Ping(_Frame):
    type: Literal["ping"]
    ref: Ref = None


AgentClientFrame = Annotated[
    SetState
    | Accept
    | Reject
    | SendMessage
    | AddNote
    | Complete
    | Transfer
    | EndWrapup
    | LinkCustomer
    | CallbackResult
    | Ping,
    Field(discriminator="type"),
]
agent_client_frame: TypeAdapter[Any] = TypeAdapter(AgentClientFrame)


# ---------------------------------------------------------------- server → agent


COLLISIONS_DESCRIPTION = (
    "other live interactions of this customer that other agents hold now (answer once: look at them first)"
)


class WorkItem(BaseModel):
    interaction: InteractionOut
    context: ContextRecord
    wrapup_until: float | None = None
    collisions: list[Collision] = Field(default_factory=list, description=COLLISIONS_DESCRIPTION)
    callback: CallbackInfo | None = Field(
        default=None, description="a callback: the agent calls the customer back (docs/callbacks.md)"
    )


class OfferInfo(BaseModel):
    offer_id: str
    deadline: float = Field(description="unix time, seconds")
    interaction: InteractionOut
    context: ContextRecord
    reason: dict[str, Any] = Field(default_factory=dict, description="why it was routed: queue skills")
    why: Why | None = Field(
        default=None,
        description="why this agent: strategy, step in force, preference, agents considered and passed over",
    )
    collisions: list[Collision] = Field(default_factory=list, description=COLLISIONS_DESCRIPTION)
    callback: CallbackInfo | None = Field(
        default=None,
        description="a callback: the customer waits off the line to be called back on this number; on"
        " accept the voice adapter calls it and bridges the agent, who reports `callback_result`",
    )


class Hello(BaseModel):
    type: Literal["hello"] = "hello"
    agent_id: str
    session_id: str = Field(description="this socket's desktop session, as the live index records it")
    name: str
    state: AgentState
    state_since: float | None = None
    state_reason: str = Field(default="", description='the not-ready reason of the state ("" when none)')
    away_reasons: list[str] = Field(
        default_factory=list, description="the reasons set_state takes with away ([presence] away_reasons)"
    )
    dispositions: dict[str, list[str]] = Field(
        default_factory=dict,
        description="each queue's disposition codes (only queues that list some): complete takes one of"
        " these for that queue's work",
    )
    skills: dict[str, int]
    capacity: dict[str, int]
    work: list[WorkItem]
    offers: list[OfferInfo]
    queues: list[str] = Field(default_factory=list, description="queues the agent may transfer to")
    channels: dict[str, list[str]] = Field(default_factory=dict, description="what each channel can do")


class Offer(OfferInfo):
    type: Literal["offer"] = "offer"


class OfferRevoked(BaseModel):
    type: Literal["offer_revoked"] = "offer_revoked"
    offer_id: str
    interaction_id: str
    reason: str


class Assigned(WorkItem):
    type: Literal["assigned"] = "assigned"


class ContextFrame(BaseModel):
    """The context record of work the agent holds, after its customer changed (a merge or an unmerge,
    such as the agent's own ``link_customer``): it replaces the one the desktop shows."""

    type: Literal["context"] = "context"
    interaction_id: str
    context: ContextRecord


class MessageFrame(BaseModel):
    type: Literal["message"] = "message"
    interaction_id: str
    message: MessageOut


class InteractionEnded(BaseModel):
    type: Literal["interaction_ended"] = "interaction_ended"
    interaction_id: str
    reason: str
    wrapup_until: float | None = None


class TransferFailed(BaseModel):
    """A transfer this agent made to a named agent did not reach them: the work waits in its queue for
    anyone, at its original place."""

    type: Literal["transfer_failed"] = "transfer_failed"
    interaction_id: str
    target: str
    reason: Literal["rejected", "missed", "absent", "disconnected", "expired"]


class WrapupEnded(BaseModel):
    type: Literal["wrapup_ended"] = "wrapup_ended"
    interaction_id: str


class MessageStatusFrame(BaseModel):
    """Delivery news of an agent's outbound message (sent, delivered, read, failed and why)."""

    type: Literal["message_status"] = "message_status"
    interaction_id: str
    message_id: str
    status: str
    detail: str | None = None
    agent_id: str | None = None


class StateFrame(BaseModel):
    """The agent's presence changed: by its own set_state, or by the router (an offer missed)."""

    type: Literal["state"] = "state"
    state: AgentState
    state_since: float
    reason: str = Field(default="", description='the not-ready reason ("" when none), e.g. `missed`')


class WhisperFrame(BaseModel):
    """A supervisor's coaching for this agent about work it holds: shown apart, never sent on."""

    type: Literal["whisper"] = "whisper"
    interaction_id: str
    body: str
    by: str = Field(description="the supervisor's role, and token id when it has one")
    at: float = Field(description="seconds since the epoch")


class CollisionFrame(BaseModel):
    """Another agent now holds live work of the customer of work this agent holds (the second of a chat
    and an e-mail of one person was assigned): answer once."""

    type: Literal["collision"] = "collision"
    interaction_id: str = Field(description="the work this agent holds")
    collisions: list[Collision]


class TakenOver(BaseModel):
    """A supervisor took this work over: it is no longer this agent's (it moved to ``to_interaction``,
    offered to the supervisor's own desktop first, with its context and its place)."""

    type: Literal["taken_over"] = "taken_over"
    interaction_id: str
    to_agent: str
    to_interaction: str
    by: str = Field(description="the supervisor's role, and token id when it has one")


class Ack(BaseModel):
    type: Literal["ack"] = "ack"
    ref: str | None = None
    result: dict[str, Any] = Field(default_factory=dict)


class Error(BaseModel):
    type: Literal["error"] = "error"
    code: str
    detail: str
    ref: str | None = None
    errors: list[dict[str, Any]] | None = None


# ---------------------------------------------------------------- supervisor → server


class Watch(_Frame):
    """Follow a live interaction: every event about it (messages both ways, notes, state changes) comes
    as a ``watched`` frame until ``unwatch`` or the socket closes. Nobody else is told; it is audited."""

    type: Literal["watch"]
    interaction_id: Id
    ref: Ref = None


class Unwatch(_Frame):
    type: Literal["unwatch"]
    interaction_id: Id
    ref: Ref = None


class Whisper(_Frame):
    """Coach the agent holding the interaction: a ``whisper`` frame reaches that agent only (never the
    customer), and the text is kept in the interaction's audit as a coaching note."""

    type: Literal["whisper"]
    interaction_id: Id
    body: Annotated[CustomerText, Field(min_length=1, max_length=10_000)]
    ref: Ref = None


class Barge(_Frame):
    """Write to the customer in the interaction, as the supervisor: the message goes out through the
    channel's adapter like an agent's reply, its author is ``supervisor:<token id>`` in the transcript and
    on the agent's desktop. Audited."""

    type: Literal["barge"]
    interaction_id: Id
    body: Annotated[CustomerText, Field(min_length=1, max_length=10_000)]
    ref: Ref = None


class TakeOver(_Frame):
    """Move the interaction to the supervisor's own agent desktop, keeping its context and its place: a
    transfer to ``agent_id`` (the agent the supervisor signs in as; supervisor tokens name no agent),
    offered to that agent first. The agent who held it gets a ``taken_over`` frame. Audited."""

    type: Literal["take_over"]
    interaction_id: Id
    agent_id: Annotated[str, Field(min_length=1, max_length=100)]
    ref: Ref = None


PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class View(_Frame):
    """Which agents this socket looks at: the agents of ``queue`` (every configured agent when ``null``),
    sorted by id, page ``page`` (from 0) of ``page_size``. Answered with an ``ack`` and an ``agents`` frame;
    from then on ``agent`` frames come for those agents only. Queue aggregates are not affected."""

    type: Literal["view"]
    queue: Annotated[str | None, Field(max_length=100)] = None
    page: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    page_size: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = PAGE_SIZE
    ref: Ref = None


SupervisorClientFrame = Annotated[
    Watch | Unwatch | Whisper | Barge | TakeOver | View | Ping, Field(discriminator="type")
]
supervisor_client_frame: TypeAdapter[Any] = TypeAdapter(SupervisorClientFrame)


# ---------------------------------------------------------------- server → supervisor


class AgentStatus(BaseModel):
    id: str
    name: str
    state: AgentState
    reason: str = Field(default="", description='the not-ready reason of the state ("" when none)')
    connected: bool
    state_since: float | None
    load: dict[str, int]
    capacity: dict[str, int]
    wrapup: int = 0


class QueueSnapshot(BaseModel):
    id: str
    name: str | None
    service_level_seconds: float | None = None
    stats: QueueStats
    agents_by_state: dict[str, int] = Field(
        default_factory=dict,
        description="the queue's agents by state: available, away, offline, and busy or wrapup for those"
        " holding work (busy and wrapup count agents whatever their presence state)",
    )


class AgentView(BaseModel):
    """The page of agents a supervisor socket looks at (``view``), and how many agents the filter has."""

    queue: str | None = None
    page: int = 0
    page_size: int = PAGE_SIZE
    total: int = 0


class ChannelTotals(BaseModel):
    """The queues of one channel added up (a queue counts under its first channel)."""

    channel: str
    queues: int
    waiting: int
    oldest_wait_seconds: float
    answered_today: int
    abandoned_today: int


class SupervisorSnapshot(BaseModel):
    type: Literal["snapshot"] = "snapshot"
    event_id: str
    queues: list[QueueSnapshot]
    agents: list[AgentStatus] = Field(description="the agents of ``view`` only (by default the first 50)")
    view: AgentView = Field(default_factory=AgentView)
    channels: list[ChannelTotals] = Field(default_factory=list)
    history: dict[str, list[tuple[float, int]]] = Field(
        default_factory=dict, description="waiting count per queue over the last 15 minutes"
    )


class QueueUpdate(BaseModel):
    type: Literal["queue"] = "queue"
    event_id: str
    queue: QueueSnapshot


class AgentUpdate(BaseModel):
    type: Literal["agent"] = "agent"
    event_id: str
    agent: AgentStatus


class AgentPage(BaseModel):
    """The agents of a new ``view``: these rows replace the table; ``agent`` frames follow for them only."""

    type: Literal["agents"] = "agents"
    event_id: str
    view: AgentView
    agents: list[AgentStatus]


class EventFrame(BaseModel):
    """A raw event of the stream, for supervisors that asked for them (``?events=1``) or resume
    (``?after=<event id>``): the journey can be replayed from these."""

    type: Literal["event"] = "event"
    event_id: str
    kind: str
    data: dict[str, Any]


class Watched(BaseModel):
    """An event about an interaction this supervisor watches: ``kind`` and ``data`` as on the stream
    (``message`` with the message of either side, ``note``, ``work_ended``, ``customer_left``…)."""

    type: Literal["watched"] = "watched"
    event_id: str
    interaction_id: str
    kind: str
    data: dict[str, Any]


class BlendingFrame(BaseModel):
    """The blending rules and whether each is in force: after the snapshot, and again at every switch."""

    type: Literal["blending"] = "blending"
    rules: list[BlendingStatus]


# ---------------------------------------------------------------- the protocols, side by side

# Every frame each side of each socket sends; the AsyncAPI document (``GET /v1/asyncapi.json``) is
# generated from these, and a test holds them to every frame class above and every frame the server
# code builds.
AGENT_CLIENT_FRAMES: tuple[type[BaseModel], ...] = (
    SetState,
    Accept,
    Reject,
    SendMessage,
    AddNote,
    Complete,
    Transfer,
    EndWrapup,
    LinkCustomer,
    CallbackResult,
    Ping,
)
AGENT_SERVER_FRAMES: tuple[type[BaseModel], ...] = (
    Hello,
    Offer,
    OfferRevoked,
    Assigned,
    MessageFrame,
    MessageStatusFrame,
    InteractionEnded,
    WrapupEnded,
    StateFrame,
    ContextFrame,
    TransferFailed,
    WhisperFrame,
    CollisionFrame,
    TakenOver,
    Ack,
    Error,
)
SUPERVISOR_CLIENT_FRAMES: tuple[type[BaseModel], ...] = (Watch, Unwatch, Whisper, Barge, TakeOver, View, Ping)
SUPERVISOR_SERVER_FRAMES: tuple[type[BaseModel], ...] = (
    SupervisorSnapshot,
    QueueUpdate,
    AgentUpdate,
    AgentPage,
    EventFrame,
    Watched,
    Ack,
    Error,
    BlendingFrame,
)
