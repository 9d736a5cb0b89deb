"""Twilio Programmable Voice: an IVR in TwiML, a spoken waiting loop, and a bridge to the agent.

``POST /adapters/twilio/voice`` answers every step of the call; the step and what the IVR
collected so far travel in the query string of the URLs the TwiML points back to:

1. (no step) greet and ``<Gather>`` the intent (a digit or a spoken word);
2. ``step=intent``: map ``Digits`` / ``SpeechResult`` to an intent, ``<Gather>`` the account;
3. ``step=account``: post the call to the router (external id = ``CallSid``), start waiting;
4. ``step=wait&interaction=…``: hold and loop, saying the live position and wait estimate
   when it changes (and every ``announce_seconds``); once the interaction is assigned,
   ``<Dial>`` the agent's address;
5. ``step=dialed``: the bridged call ended (or the agent did not answer: wait again);
6. ``step=callback&interaction=…``: while waiting past the queue's ``callback_offer_after_seconds``
   the caller hears "press 1 to be called back, keeping your place"; the digit 1 asks the router for a
   callback on the caller's number and the call ends (the interaction keeps its place).

When an agent accepts a callback, the router asks this adapter to call the customer
(``POST /adapters/twilio_voice/dial``): a ``Calls`` request to Twilio's REST API whose TwiML bridges
the agent's address once the customer answers.

``POST /adapters/twilio/voice/status`` takes Twilio's call status callbacks; a call that
ends (``completed``, ``no-answer``, ``busy``, ``failed``, ``canceled``) ends its interaction.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
from aiohttp import web

from adapters.kit.provider_http import ProviderHttp
from adapters.kit.settings import AdapterConfigError, Settings
from adapters.kit.webhooks import RouterUnavailable, ingest, log, unavailable
from adapters.twilio.account import TwilioAccount, caller_identity
from adapters.twilio.ivr import (
    DEFAULT_MENU,
    IvrMenu,
    call_event,
    clean_account,
    describe_closed,
    describe_wait,
)
from adapters.twilio.twiml import TwiML
from router.contracts import (
    CallbackDial,
    CallbackDialed,
    Channel,
    ChannelCapabilities,
    InteractionStatus,
    OutboundAccepted,
    OutboundMessage,
)
from router.sdk.adapter import DeliveryError
from router.sdk.client import RouterAPIError, RouterClient

ENDED_CALL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
_CLOSED = {
    InteractionStatus.completed,
    InteractionStatus.abandoned,
    InteractionStatus.ended,
    InteractionStatus.wrapup,
}
_MAX_RETRIES = 5
_KNOWN_CALLS = 10_000
_QUEUES_TTL = 30.0  # seconds the queues' callback offer times are kept before they are read again
CALLBACK_PROMPT = "To be called back, keeping your place in the queue, press 1."


class TwilioVoiceAdapter:
    name: ClassVar[str] = "twilio_voice"
    channel: ClassVar[Channel] = Channel.voice
    capabilities: ClassVar[ChannelCapabilities] = ChannelCapabilities(text=False, voice=True)

    def __init__(self, config: Mapping[str, Any], router: RouterClient) -> None:
        settings = Settings(self.name, config)
        self.account = TwilioAccount(self.name, config)
        self.router = router
        self.ivr = IvrMenu(settings.table("menu", DEFAULT_MENU), settings.text("default_intent", "general"))
        self.queues = settings.table("queues", {})
        self.queue = settings.optional_text("queue")
        self.ask_account = settings.flag("ask_account", True)
        self.wait_pause = settings.integer("wait_pause_seconds", 3)
        self.announce_seconds = settings.integer("announce_seconds", 30)
        self.dial_timeout = settings.integer("dial_timeout_seconds", 20)
        self.hold_music_url = settings.optional_text("hold_music_url")
        self.caller_id = settings.optional_text("caller_id")
        self.voice = settings.optional_text("voice")
        self.language = settings.text("language", "en-US")
        # the zone the caller is told opening times in when the queue is closed
        try:
            self.timezone = ZoneInfo(settings.text("timezone", "UTC"))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise AdapterConfigError(f"adapters.{self.name}.timezone is not an IANA time zone") from exc
        # CallSid → interaction id, learnt at ingest and on every waiting loop, so a status
        # callback (whose URL Twilio fixes per number) can name the interaction to end.
        self._calls: OrderedDict[str, str] = OrderedDict()
        self.callback_from = settings.optional_text("callback_from") or self.caller_id
        self.http = ProviderHttp("twilio", settings.number("timeout_seconds", 15))
        self._offer_after: dict[str, float | None] = {}
        self._offer_after_read = 0.0

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.post("/twilio/voice", self.incoming), web.post("/twilio/voice/status", self.status)]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.http.close()

    async def send(self, message: OutboundMessage) -> OutboundAccepted:
        raise DeliveryError("a voice call has no text replies", retryable=False)

    async def dial(self, request: CallbackDial) -> CallbackDialed:
        """Call the customer of a callback; once they answer, the TwiML bridges the agent."""
        if not self.account.account_sid or not self.callback_from:
            raise DeliveryError(
                f"{self.name}: account_sid and callback_from (or caller_id) are needed to call back",
                retryable=False,
            )
        twiml = self._twiml().say("Hello, this is the call back you asked for. Connecting you to an agent.")
        if request.agent_address:
            twiml.dial(request.agent_address, action=None, timeout=self.dial_timeout)
        form = {
            "To": request.number,
            "From": self.callback_from,
            "Twiml": twiml.render(),
            "Timeout": str(self.dial_timeout),
        }
        url = f"{self.account.base_url}/2010-04-01/Accounts/{self.account.account_sid}/Calls.json"
        body = await self.http.call(
            "POST", url, data=form, headers={"Authorization": self.account.basic_auth()}
        )
        sid = body.get("sid")
        log.info(
            "adapter.callback_dialed", adapter=self.name, interaction_id=request.interaction_id, call_sid=sid
        )
        return CallbackDialed(call_id=str(sid) if sid else None)

    # ------------------------------------------------------------------ the call

    def _twiml(self) -> TwiML:
        return TwiML(voice=self.voice, language=self.language)

    @staticmethod
    def _next(request: web.Request, **state: str | int | None) -> str:
        """A URL relative to the current one (Twilio resolves it), carrying the IVR state."""
        here = request.path.rsplit("/", 1)[-1]
        return here + "?" + urlencode({k: str(v) for k, v in state.items() if v not in (None, "")})

    async def incoming(self, request: web.Request) -> web.StreamResponse:
        form = await self.account.verified_form(request)
        if isinstance(form, web.Response):
            return form
        params = {k: v for k, v in form.items()}
        if not params.get("CallSid"):
            log.warning("adapter.payload_skipped", adapter=self.name, skipped=["call: no CallSid"])
            return web.Response(status=400, text="not a Twilio voice webhook")
        query = request.query
        step = query.get("step", "")
        try:
            if step == "intent":
                return self._after_intent(request, params, query)
            if step == "account":
                return await self._after_account(request, params, query)
            if step == "wait":
                return await self._waiting(request, params, query)
            if step == "dialed":
                return self._after_dial(request, params, query)
            if step == "callback":
                return await self._after_callback_digit(request, params, query)
        except RouterUnavailable:
            state = dict(query)
            if step == "account" and clean_account(params.get("Digits")):
                state["account"] = str(clean_account(params.get("Digits")))
            return self._hold_and_retry(request, state)
        log.info("adapter.call_started", adapter=self.name, call_sid=params.get("CallSid"))
        return self._ask_intent(request, attempt=1)

    def _ask_intent(self, request: web.Request, attempt: int, *, again: bool = False) -> web.Response:
        twiml = self._twiml()
        if again:
            twiml.say("Sorry, I did not get that.")
        twiml.gather(
            self._next(request, step="intent", n=attempt),
            self.ivr.prompt(),
            input="dtmf speech",
            numDigits="1",
            timeout="5",
            speechTimeout="auto",
            hints=self.ivr.hints,
        )
        return twiml.redirect(self._next(request, step="intent", n=attempt)).response()

    def _after_intent(
        self, request: web.Request, params: dict[str, str], query: Mapping[str, str]
    ) -> web.Response:
        intent = self.ivr.intent(params.get("Digits"), params.get("SpeechResult"))
        attempt = _int(query.get("n"), 1)
        kind = "dtmf" if params.get("Digits") else "speech" if params.get("SpeechResult") else None
        if intent is None:
            if attempt < 2:
                return self._ask_intent(request, attempt + 1, again=True)
            intent, kind = self.ivr.default_intent, None
        if not self.ask_account:
            return (
                self._twiml().redirect(self._next(request, step="account", intent=intent, i=kind)).response()
            )
        action = self._next(request, step="account", intent=intent, i=kind)
        twiml = self._twiml().gather(
            action,
            "Please enter your account number, then press the hash key. If you have none, press hash.",
            input="dtmf",
            finishOnKey="#",
            timeout="8",
        )
        return twiml.redirect(action).response()

    async def _after_account(
        self, request: web.Request, params: dict[str, str], query: Mapping[str, str]
    ) -> web.Response:
        event = call_event(
            params,
            intent=query.get("intent") or self.ivr.default_intent,
            account=clean_account(params.get("Digits")) or clean_account(query.get("account")),
            intent_input=query.get("i"),
            queues=self.queues,
            region=self.account.region,
        )
        result = await ingest(self.router, self.name, event, queue=self.queue, region=self.account.region)
        if result is None:
            return (
                self._twiml().say("Sorry, we cannot take your call right now. Goodbye.").hangup().response()
            )
        if result.status == InteractionStatus.closed:
            # the queue is closed and takes no calls: the call is recorded, the caller told when it opens
            log.info("adapter.call_closed", adapter=self.name, interaction_id=result.id)
            return self._twiml().say(describe_closed(result.opens_at, self.timezone)).hangup().response()
        self._remember(params.get("CallSid"), result.id)
        twiml = self._twiml().say(describe_wait(result.position, result.estimated_wait_seconds))
        position = "" if result.position is None else str(result.position)
        return self._hold(twiml, request, interaction=result.id, p=position, q=0).response()

    def _hold(self, twiml: TwiML, request: web.Request, **state: str | int) -> TwiML:
        if self.hold_music_url:
            twiml.play(self.hold_music_url)
        else:
            twiml.pause(self.wait_pause)
        return twiml.redirect(self._next(request, step="wait", **state))

    async def _waiting(
        self, request: web.Request, params: dict[str, str], query: Mapping[str, str]
    ) -> web.Response:
        interaction_id = query.get("interaction", "")
        self._remember(params.get("CallSid"), interaction_id)
        try:
            current = await self.router.get_interaction(interaction_id)
        except RouterAPIError as exc:
            if exc.status >= 500 or exc.status == 429:
                raise RouterUnavailable(str(exc)) from exc
            log.warning(
                "adapter.call_lost", adapter=self.name, interaction_id=interaction_id, status=exc.status
            )
            return self._twiml().say("Sorry, we lost your place. Please call again.").hangup().response()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RouterUnavailable(str(exc)) from exc
        if current.status in _CLOSED:
            return self._twiml().say("Thank you for calling. Goodbye.").hangup().response()
        if current.status == InteractionStatus.assigned:
            if current.agent_address:
                log.info(
                    "adapter.call_bridged",
                    adapter=self.name,
                    interaction_id=interaction_id,
                    agent_id=current.agent_id,
                )
                twiml = self._twiml().say("Connecting you to an agent now.")
                action = self._next(
                    request, step="dialed", interaction=interaction_id, d=_int(query.get("d"), 0) + 1
                )
                return twiml.dial(
                    current.agent_address, action=action, timeout=self.dial_timeout, caller_id=self.caller_id
                ).response()
            log.warning("adapter.agent_without_address", adapter=self.name, agent_id=current.agent_id)
            return self._hold(self._twiml(), request, interaction=interaction_id).response()
        # Say the position when it changed, and at least every ``announce_seconds``; between
        # announcements just hold, so an accepted call is bridged within one pause.
        position = "" if current.position is None else str(current.position)
        quiet = _int(query.get("q"), 0) + self.wait_pause
        twiml = self._twiml()
        announce = position != query.get("p", "") or quiet >= self.announce_seconds
        if announce:
            twiml.say(describe_wait(current.position, current.estimated_wait_seconds))
            quiet = 0
        if await self._offers_callback(
            current.queue, current.enqueued_at.timestamp(), params.get("From", "")
        ):
            # the caller may press 1 at any time while holding; the offer is said with each announcement
            twiml.gather(
                self._next(request, step="callback", interaction=interaction_id),
                CALLBACK_PROMPT if announce or not query.get("o") else None,
                input="dtmf",
                numDigits="1",
                timeout=str(max(1, self.wait_pause)),
            )
            state: dict[str, str | int] = {"interaction": interaction_id, "p": position, "q": quiet, "o": 1}
            return twiml.redirect(self._next(request, step="wait", **state)).response()
        return self._hold(twiml, request, interaction=interaction_id, p=position, q=quiet).response()

    async def _offers_callback(self, queue: str, enqueued_at: float, caller: str) -> bool:
        """The queue offers callbacks after its ``callback_offer_after_seconds`` and the caller has waited
        that long, from a number that can be called back."""
        if caller_identity(caller, self.account.region).kind != "phone":
            return False
        if time.monotonic() - self._offer_after_read > _QUEUES_TTL:
            try:
                queues = await self.router.list_queues()
            except (RouterAPIError, aiohttp.ClientError, TimeoutError) as exc:
                # the last known times stand until the next read
                log.warning("adapter.queues_unread", adapter=self.name, error=type(exc).__name__)
            else:
                self._offer_after = {q.id: q.callback_offer_after_seconds for q in queues}
            self._offer_after_read = time.monotonic()
        after = self._offer_after.get(queue)
        return after is not None and time.time() - enqueued_at >= after

    async def _after_callback_digit(
        self, request: web.Request, params: dict[str, str], query: Mapping[str, str]
    ) -> web.Response:
        interaction_id = query.get("interaction", "")
        if (params.get("Digits") or "").strip()[:1] != "1":
            return self._hold(self._twiml(), request, interaction=interaction_id, o=1).response()
        number = caller_identity(params.get("From", ""), self.account.region)
        try:
            await self.router.request_callback(interaction_id, number.value)
        except RouterAPIError as exc:
            if exc.status >= 500 or exc.status == 429:
                raise RouterUnavailable(str(exc)) from exc
            log.info(
                "adapter.callback_refused",
                adapter=self.name,
                interaction_id=interaction_id,
                status=exc.status,
            )
            twiml = self._twiml().say("Sorry, we cannot call you back now. Please hold.")
            return self._hold(twiml, request, interaction=interaction_id).response()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RouterUnavailable(str(exc)) from exc
        log.info("adapter.callback_requested", adapter=self.name, interaction_id=interaction_id)
        return (
            self._twiml()
            .say(
                "Thank you. We will call you back on this number, and you keep your place in the queue."
                " Goodbye."
            )
            .hangup()
            .response()
        )

    def _after_dial(
        self, request: web.Request, params: dict[str, str], query: Mapping[str, str]
    ) -> web.Response:
        outcome = params.get("DialCallStatus", "")
        attempts = _int(query.get("d"), 1)
        if outcome in ("completed", "answered") or attempts >= 3:
            return self._twiml().hangup().response()
        twiml = self._twiml().say("The agent could not be reached. Please hold.")
        return self._hold(twiml, request, interaction=query.get("interaction", ""), d=attempts).response()

    def _hold_and_retry(self, request: web.Request, query: Mapping[str, str]) -> web.Response:
        retries = _int(query.get("r"), 0) + 1
        if retries > _MAX_RETRIES:
            return (
                self._twiml().say("Sorry, we cannot take your call right now. Goodbye.").hangup().response()
            )
        state = {k: v for k, v in query.items() if k != "r"}
        twiml = self._twiml().say("Please hold.").pause(3)
        return twiml.redirect(self._next(request, **state, r=retries)).response()

    # ------------------------------------------------------------------ status callbacks

    async def status(self, request: web.Request) -> web.Response:
        form = await self.account.verified_form(request)
        if isinstance(form, web.Response):
            return form
        call_sid = form.get("CallSid", "")
        call_status = form.get("CallStatus", "")
        if call_status not in ENDED_CALL_STATUSES:
            return web.Response(status=204)
        interaction_id = request.query.get("interaction") or self._calls.pop(call_sid, None)
        if not interaction_id:
            log.info(
                "adapter.call_ended_before_ivr_done", adapter=self.name, call_sid=call_sid, status=call_status
            )
            return web.Response(status=204)
        reason = "completed" if call_status == "completed" else call_status.replace("-", "_")
        try:
            await self.router.end(interaction_id, reason=f"call_{reason}")
        except RouterAPIError as exc:
            if exc.status >= 500 or exc.status == 429:
                return unavailable()
            log.info(
                "adapter.call_end_ignored",
                adapter=self.name,
                interaction_id=interaction_id,
                status=exc.status,
            )
        except (aiohttp.ClientError, TimeoutError):
            return unavailable()
        log.info(
            "adapter.call_ended", adapter=self.name, interaction_id=interaction_id, call_status=call_status
        )
        return web.Response(status=204)

    def _remember(self, call_sid: str | None, interaction_id: str) -> None:
        if not call_sid or not interaction_id:
            return
        self._calls[call_sid] = interaction_id
        self._calls.move_to_end(call_sid)
        while len(self._calls) > _KNOWN_CALLS:
            self._calls.popitem(last=False)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
