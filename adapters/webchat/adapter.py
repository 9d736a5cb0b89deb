"""Web chat: the customer's websocket (``/adapters/webchat/socket``) and page (``/adapters/webchat/``).

The page keeps a random visitor id (and the current interaction id) in ``localStorage``;
the visitor's messages post to the router as channel ``chat`` from identity
``chat_visitor:<id>``, with any e-mail or phone the visitor typed as customer hints, so the
router links the chat to the known customer. The page reports each page the visitor opens
(``page_view``), before any message too: the adapter records it on the visitor's journey
(``POST /v1/journey-events``), so the agent who takes the first chat sees what they browsed.
While the interaction waits, the adapter polls the router and pushes the live position and
wait estimate; the agent's replies reach :meth:`WebChatAdapter.send`, which pushes them to
every open socket of that visitor in this process. A reload sends ``hello`` with the stored
interaction id: the adapter checks it belongs to that visitor and replays the conversation so far.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import re
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web
from pydantic import ValidationError

from adapters.kit.settings import Settings
from adapters.kit.webhooks import RouterUnavailable, ingest, log
from adapters.webchat.frames import (
    Ack,
    Answer,
    ChatLine,
    Closed,
    Contact,
    Customer,
    End,
    Ended,
    Error,
    Hello,
    LeaveMessage,
    MessageLeft,
    PageView,
    Question,
    Say,
    ServerFrame,
    Status,
    Welcome,
    customer_frame,
)
from router.contracts import (
    OPEN_STATUSES,
    BodyError,
    Channel,
    ChannelCapabilities,
    CustomerHints,
    IdentityJourneyEventIn,
    InboundEvent,
    InteractionOut,
    InteractionPatch,
    InteractionStatus,
    OutboundAccepted,
    OutboundMessage,
    WaitQuestion,
    is_supervisor_author,
    parse_json,
)
from router.sdk.adapter import DeliveryError
from router.sdk.client import RouterAPIError, RouterClient

PAGE = Path(__file__).parent / "static" / "index.html"


def _inline_hashes(html: str, tag: str) -> str:
    """CSP hashes of the page's inline <script> or <style> blocks, so nothing else inline runs."""
    blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)
    return " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'" for b in blocks
    )


@functools.cache
def page_policy() -> str:
    """The page's Content-Security-Policy: its own inline script and style, nothing else."""
    html = PAGE.read_text(encoding="utf-8")
    return (
        f"default-src 'none'; script-src {_inline_hashes(html, 'script')}; "
        f"style-src {_inline_hashes(html, 'style')}; img-src 'self' data:; connect-src 'self'; "
        "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    )


VISITOR_KIND = "chat_visitor"


class _Visitor:
    """One customer socket: who it is, which interaction it follows, its status poller."""

    def __init__(self, ws: web.WebSocketResponse, hello: Hello) -> None:
        self.ws = ws
        self.hello = hello
        self.interaction_id: str | None = None
        self.poller: asyncio.Task[None] | None = None
        self.questions: list[WaitQuestion] = []  # the queue's questions not answered yet, in order

    async def push(self, frame: ServerFrame) -> None:
        if not self.ws.closed:
            await self.ws.send_str(frame.model_dump_json())


class WebChatAdapter:
    name: ClassVar[str] = "webchat"
    channel: ClassVar[Channel] = Channel.chat
    capabilities: ClassVar[ChannelCapabilities] = ChannelCapabilities(text=True, delivery_receipts=True)

    def __init__(self, config: Mapping[str, Any], router: RouterClient) -> None:
        settings = Settings(self.name, config)
        self.router = router
        self.poll_seconds = settings.number("poll_seconds", 2.0)
        self.region = settings.default_region()
        self.assigned_poll_seconds = settings.number("assigned_poll_seconds", 10.0)
        self.hello_timeout = settings.number("hello_timeout_seconds", 15.0)
        origins = settings.optional_text("allowed_origins")
        self.allowed_origins = {o.strip() for o in origins.split(",")} if origins else None
        self.queue = settings.optional_text("queue")
        self.message_queue = settings.optional_text("message_queue")  # where messages left while closed go
        self.ask_questions = settings.flag("ask_questions", True)
        self._by_visitor: dict[str, set[_Visitor]] = {}
        self._sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/webchat/", self.page),
            web.get("/webchat", self.page_redirect),
            web.get("/webchat/socket", self.socket),
        ]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for visitors in list(self._by_visitor.values()):
            for visitor in list(visitors):
                if visitor.poller is not None:
                    visitor.poller.cancel()
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(
            PAGE, headers={"Cache-Control": "no-cache", "Content-Security-Policy": page_policy()}
        )

    async def page_redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPPermanentRedirect(request.path + "/")

    # ------------------------------------------------------------------ the socket

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        origin = request.headers.get("Origin")
        if self.allowed_origins is not None and origin not in self.allowed_origins:
            log.warning("adapter.origin_refused", adapter=self.name, origin=origin)
            raise web.HTTPForbidden(text="origin not allowed")
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        self._sockets.add(ws)
        visitor: _Visitor | None = None
        try:
            visitor = await self._greet(ws)
            if visitor is None:
                return ws
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                await self._on_frame(visitor, msg.data)
        finally:
            if visitor is not None:
                self._forget(visitor)
        return ws

    async def _greet(self, ws: web.WebSocketResponse) -> _Visitor | None:
        try:
            first = await ws.receive(timeout=self.hello_timeout)
            frame = _frame(first.data) if first.type == WSMsgType.TEXT else None
        except (TimeoutError, ValidationError, BodyError):
            frame = None
        if not isinstance(frame, Hello):
            if not ws.closed:
                await ws.send_str(Error(detail="the first frame must be hello").model_dump_json())
                await ws.close()
            return None
        visitor = _Visitor(ws, frame)
        self._by_visitor.setdefault(frame.visitor_id, set()).add(visitor)
        welcome = Welcome(visitor_id=frame.visitor_id, capabilities=self.capabilities)
        current = await self._resumable(frame) if frame.interaction_id else None
        if current is not None:
            visitor.interaction_id = current.id
            welcome.interaction_id = current.id
            welcome.history = [_line(m.id, m.direction, m.body, m.agent_id) for m in current.messages]
        await visitor.push(welcome)
        if current is not None:
            self._follow(visitor, current.id)
        return visitor

    async def _resumable(self, hello: Hello) -> InteractionOut | None:
        """The stored interaction, if it is this visitor's and still open."""
        try:
            current = await self.router.get_interaction(str(hello.interaction_id))
        except (RouterAPIError, aiohttp.ClientError, TimeoutError) as exc:
            log.info("adapter.chat_resume_failed", adapter=self.name, error=str(exc)[:200])
            return None
        if current.from_kind != VISITOR_KIND or current.from_value != hello.visitor_id:
            log.warning("adapter.chat_resume_refused", adapter=self.name, interaction_id=current.id)
            return None
        return current if current.status in OPEN_STATUSES else None

    async def _on_frame(self, visitor: _Visitor, data: str) -> None:
        try:
            frame = _frame(data)
        except BodyError as exc:
            await visitor.push(Error(detail=str(exc)))
            return
        except ValidationError as exc:
            await visitor.push(Error(detail=str(exc.errors()[0].get("msg", "invalid frame"))))
            return
        if isinstance(frame, Say):
            await self._customer_says(visitor, frame)
        elif isinstance(frame, Contact):
            visitor.hello = visitor.hello.model_copy(
                update=frame.model_dump(exclude={"type"}, exclude_none=True)
            )
        elif isinstance(frame, PageView):
            await self._page_viewed(visitor, frame)
        elif isinstance(frame, Answer):
            await self._answered(visitor, frame)
        elif isinstance(frame, LeaveMessage):
            await self._leave_message(visitor, frame)
        elif isinstance(frame, End) and visitor.interaction_id:
            try:
                await self.router.end(visitor.interaction_id, reason="customer_left")
            except (RouterAPIError, aiohttp.ClientError, TimeoutError) as exc:
                log.info("adapter.chat_end_failed", adapter=self.name, error=str(exc)[:200])
            await self._broadcast(visitor.hello.visitor_id, Ended(interaction_id=visitor.interaction_id))

    async def _page_viewed(self, visitor: _Visitor, view: PageView) -> None:
        """Record the page on the visitor's journey (their customer is created if this is their first
        sign of life); a page view that cannot be recorded is logged, never shown to the visitor."""
        data = {"url": view.url, **({"title": view.title} if view.title else {})}
        event = IdentityJourneyEventIn.model_validate(
            {
                "identity": {"kind": VISITOR_KIND, "value": visitor.hello.visitor_id},
                "type": "page_view",
                "data": data,
            }
        )
        try:
            await self.router.journey_event(event)
        except (RouterAPIError, aiohttp.ClientError, TimeoutError) as exc:
            log.info("adapter.page_view_failed", adapter=self.name, error=str(exc)[:200])

    async def _customer_says(self, visitor: _Visitor, say: Say) -> None:
        hello = visitor.hello
        hints = CustomerHints(name=hello.name, email=hello.email, phone=hello.phone)
        # Typed into a web page, not proven: the agent is told to verify before disclosing anything.
        claimed = {"contact_unverified": True} if (hello.email or hello.phone) else {}
        event = InboundEvent.model_validate(
            {
                "channel": Channel.chat,
                "external_id": f"{hello.visitor_id}:{say.id}",
                "message_external_id": f"{hello.visitor_id}:{say.id}",
                "from": {"kind": VISITOR_KIND, "value": hello.visitor_id},
                "customer": hints if hints.model_dump(exclude_none=True) else None,
                "queue": self.queue,
                "content": say.text,
                "attributes": claimed,
                "join_open": True,
            }
        )
        try:
            result = await ingest(self.router, self.name, event, region=self.region)
        except RouterUnavailable:
            await visitor.push(Error(detail="we could not take your message just now, please send it again"))
            return
        if result is None:
            await visitor.push(Error(detail="your message was not accepted"))
            return
        await visitor.push(Ack(id=say.id, interaction_id=result.id))
        if result.status == InteractionStatus.closed:
            # recorded, not queued: the visitor is told when the queue opens and may leave a message
            await visitor.push(Closed(interaction_id=result.id, opens_at=result.opens_at))
            return
        if result.created and result.status == InteractionStatus.queued:
            await self._ask(visitor, result.queue)
        line = ChatLine(id=say.id, sender="customer", text=say.text)
        for other in self._by_visitor.get(hello.visitor_id, set()) - {visitor}:
            await other.push(line)
        for each in self._by_visitor.get(hello.visitor_id, set()):
            if each.interaction_id != result.id or each.poller is None or each.poller.done():
                each.interaction_id = result.id
                self._follow(each, result.id)

    # ------------------------------------------------------------------ while waiting: questions

    async def _ask(self, visitor: _Visitor, queue_id: str) -> None:
        """Start asking the queue's questions (one at a time, the next after each answer)."""
        if not self.ask_questions:
            return
        try:
            queue = await self.router.get_queue(queue_id)
        except (RouterAPIError, aiohttp.ClientError, TimeoutError) as exc:
            log.info("adapter.chat_questions_unavailable", adapter=self.name, error=str(exc)[:200])
            return
        visitor.questions = list(queue.questions)
        if visitor.questions:
            await visitor.push(Question(id=visitor.questions[0].id, text=visitor.questions[0].text))

    async def _answered(self, visitor: _Visitor, answer: Answer) -> None:
        """An answer to the question asked: it becomes an attribute of the waiting interaction (the agent's
        offer carries it), then the next question is asked. Once the chat is no longer waiting, no more."""
        if (
            not visitor.questions
            or visitor.questions[0].id != answer.question_id
            or not visitor.interaction_id
        ):
            await visitor.push(Error(detail="that question is not asked now"))
            return
        change = InteractionPatch(attributes={answer.question_id: answer.text})
        try:
            await self.router.patch_interaction(visitor.interaction_id, change)
        except RouterAPIError as exc:
            if exc.status == 409:  # an agent has it already: the agent asks what is still needed
                visitor.questions = []
                return
            log.info("adapter.chat_answer_failed", adapter=self.name, status=exc.status)
            await visitor.push(Error(detail="we could not take your answer just now, please send it again"))
            return
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.info("adapter.chat_answer_failed", adapter=self.name, error=str(exc)[:200])
            await visitor.push(Error(detail="we could not take your answer just now, please send it again"))
            return
        visitor.questions.pop(0)
        if visitor.questions:
            await visitor.push(Question(id=visitor.questions[0].id, text=visitor.questions[0].text))

    async def _leave_message(self, visitor: _Visitor, left: LeaveMessage) -> None:
        """A message left while the queue is closed becomes an e-mail interaction of the same customer
        (the visitor's identity), answered by e-mail when the visitor gave an address."""
        hello = visitor.hello
        email = left.email or hello.email
        hints = CustomerHints(name=left.name or hello.name, email=email, phone=hello.phone)
        event = InboundEvent.model_validate(
            {
                "channel": Channel.email,
                "external_id": f"{hello.visitor_id}:left:{left.id}",
                "message_external_id": f"{hello.visitor_id}:left:{left.id}",
                "from": {"kind": VISITOR_KIND, "value": hello.visitor_id},
                "customer": hints if hints.model_dump(exclude_none=True) else None,
                "queue": self.message_queue,
                "subject": "Message left on the web chat",
                "content": left.text,
                "attributes": {"left_on": "webchat", **({"contact_unverified": True} if email else {})},
                "join_open": False,
            }
        )
        try:
            result = await ingest(self.router, self.name, event, region=self.region)
        except RouterUnavailable:
            await visitor.push(Error(detail="we could not take your message just now, please send it again"))
            return
        if result is None:
            await visitor.push(Error(detail="your message was not accepted"))
            return
        await visitor.push(MessageLeft(id=left.id, interaction_id=result.id))

    # ------------------------------------------------------------------ waiting status

    def _follow(self, visitor: _Visitor, interaction_id: str) -> None:
        if visitor.poller is not None:
            visitor.poller.cancel()
        visitor.poller = asyncio.get_running_loop().create_task(self._poll(visitor, interaction_id))

    async def _poll(self, visitor: _Visitor, interaction_id: str) -> None:
        """Push the position and wait estimate whenever they change, until the interaction closes."""
        last: Status | None = None
        while not visitor.ws.closed:
            try:
                current = await self.router.get_interaction(interaction_id)
            except (RouterAPIError, aiohttp.ClientError, TimeoutError) as exc:
                log.info("adapter.chat_poll_failed", adapter=self.name, error=str(exc)[:200])
                await asyncio.sleep(self.poll_seconds)
                continue
            status = Status(
                interaction_id=interaction_id,
                status=current.status,
                position=current.position,
                estimated_wait_seconds=current.estimated_wait_seconds,
                agent_id=current.agent_id,
                estimated_wait_range=current.estimated_wait_range,
            )
            if status != last:
                await visitor.push(status)
                last = status
            if current.status == InteractionStatus.transferred:
                # The chat goes on in a new interaction of the same conversation: the visitor's next
                # message joins it (its ack names it) and the new agent's replies arrive as before.
                return
            if current.status not in OPEN_STATUSES:
                await visitor.push(Ended(interaction_id=interaction_id))
                return
            waiting = current.status == InteractionStatus.queued
            await asyncio.sleep(self.poll_seconds if waiting else self.assigned_poll_seconds)

    # ------------------------------------------------------------------ agent replies

    async def send(self, message: OutboundMessage) -> OutboundAccepted:
        visitors = [v for v in self._by_visitor.get(message.to.value, set()) if not v.ws.closed]
        if not visitors:
            raise DeliveryError("the visitor has no open chat window", retryable=True)
        line = _line(message.message_id, "outbound", message.body, message.agent_id)
        for visitor in visitors:
            await visitor.push(line)
        return OutboundAccepted(external_id=f"webchat:{message.message_id}", status="delivered")

    async def _broadcast(self, visitor_id: str, frame: ServerFrame) -> None:
        for visitor in list(self._by_visitor.get(visitor_id, set())):
            await visitor.push(frame)

    def _forget(self, visitor: _Visitor) -> None:
        if visitor.poller is not None:
            visitor.poller.cancel()
        group = self._by_visitor.get(visitor.hello.visitor_id)
        if group is not None:
            group.discard(visitor)
            if not group:
                del self._by_visitor[visitor.hello.visitor_id]


def _frame(data: str) -> Customer:
    """A customer's frame. A browser's JSON may escape a lone surrogate (text pasted from a broken
    source): the project's own decoder reads it (pydantic's refuses the whole frame), and the text fields
    then drop what cannot be stored, so the customer's words are not lost over it."""
    return customer_frame.validate_python(parse_json(data))


def _line(message_id: str, direction: str, body: str, agent_id: str | None) -> ChatLine:
    if direction != "outbound":
        return ChatLine(id=message_id, sender="customer", text=body, agent_id=agent_id)
    sender = "supervisor" if is_supervisor_author(agent_id) else "agent"
    return ChatLine(id=message_id, sender=sender, text=body, agent_id=agent_id)
