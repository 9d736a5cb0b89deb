"""The route table: one entry per operation of the HTTP API and its two sockets.

It is the single home of what the API offers: ``API.routes()`` and ``router.app`` register the aiohttp
routes from it, and ``router.http.openapi`` generates the OpenAPI document (``GET /v1/openapi.json``) from
it and the pydantic contracts. An entry names its handler (a method of ``router.http.api.API``, or a socket
handler registered by ``router.app``), the roles it admits, the request body model, the query parameters
and every answer it gives: status code → body model, or problem+json for an error.

The answers every route of a kind gives are added by ``_route`` so that no entry forgets them:
401 when a role is needed, 403 when some role is refused, 400, 413 and 422 when a body is read, and 503 (the
problem middleware's answer when PostgreSQL or Redis is unreachable, or the live index is being rebuilt)
when the handler touches them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel

from router import contracts as c
from router.contracts import Role
from router.contracts import callbacks as cb
from router.contracts import campaigns as cp
from router.contracts import consent as cs
from router.contracts import waiting as cw
from router.contracts import webhooks as wh

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Reply:
    """One documented answer: a JSON body of ``model`` (``many``: a JSON array of them), a problem+json
    body (``problem``), another media type with a plain schema (beside ``model``: the same answer in that
    form, when the request asks for it), or no body at all."""

    description: str
    model: type[BaseModel] | None = None
    many: bool = False
    problem: bool = False
    media_type: str | None = None
    schema: Mapping[str, Any] | None = None
    or_many: type[BaseModel] | None = None  # the other shape of this answer: a JSON array of this model


@dataclass(frozen=True)
class Param:
    name: str
    where: Literal["path", "query"]
    description: str
    required: bool = True
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True)
class Route:
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    handler: str
    summary: str
    tag: str
    roles: tuple[Role, ...]
    responses: Mapping[int, Reply]
    body: type[BaseModel] | None = None
    body_required: bool = True
    params: tuple[Param, ...] = ()
    description: str = ""
    websocket: bool = False
    admin: bool = True  # an admin token is admitted (everywhere but the agent socket)

    @property
    def public(self) -> bool:
        return not self.roles

    @property
    def admitted(self) -> tuple[Role, ...]:
        """Every role admitted, admin included where it is."""
        return (*self.roles, Role.admin) if self.admin and self.roles else self.roles


# ---------------------------------------------------------------- answers shared by many routes

UNAUTHORIZED = Reply("No `Authorization: Bearer` token, or an unknown one.", problem=True)
FORBIDDEN = Reply("The token's role is not admitted here.", problem=True)
TOO_LARGE = Reply("The body is larger than 4 MiB.", problem=True)
UNDECODABLE = Reply(
    "The body cannot be decoded: a broken `Content-Encoding`, or bytes that are not UTF-8.", problem=True
)
INVALID = Reply(
    "The body is not JSON (`NaN` and `Infinity` are not), nests deeper than 32 levels, or does not match"
    " the model; `errors` lists the failing fields (`loc` is the path, down to a key inside `attributes`"
    " or `data`). A NUL or a lone surrogate is refused in any string except text a customer wrote.",
    problem=True,
)
UNAVAILABLE = Reply(
    "PostgreSQL or Redis is unreachable (or PostgreSQL has no connection left), or the live routing index is"
    " being rebuilt: nothing was changed; retry after `Retry-After` (seconds).",
    problem=True,
)

OVERLOADED = Reply(
    "PostgreSQL or Redis is unreachable (or PostgreSQL has no connection left), or the live routing index is"
    " being rebuilt, or (`type` ending in `/overloaded`) this process is at capacity (`[server]"
    " max_inflight`, `max_event_backlog`): nothing was recorded; retry after `Retry-After` (seconds).",
    problem=True,
)

SHED_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {("POST", "/v1/interactions"), ("POST", "/v1/customers/{id}/events"), ("POST", "/v1/journey-events")}
)
"""The routes that let new work in: refused with 503 at capacity (``router.http.shedding``)."""


def _json(description: str, model: type[BaseModel], *, many: bool = False) -> Reply:
    return Reply(description, model=model, many=many)


def _problem(description: str) -> Reply:
    return Reply(description, problem=True)


def _route(
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"],
    path: str,
    handler: str,
    summary: str,
    *,
    tag: str,
    roles: tuple[Role, ...],
    ok: Mapping[int, Reply],
    errors: Mapping[int, Reply] | None = None,
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    params: tuple[Param, ...] = (),
    description: str = "",
    backend: bool = True,
    websocket: bool = False,
    admin: bool = True,
) -> Route:
    responses: dict[int, Reply] = dict(ok)
    if roles:
        responses[401] = UNAUTHORIZED
        if set(roles) | ({Role.admin} if admin else set()) != set(Role):
            responses[403] = FORBIDDEN
    if body is not None:
        responses[400] = UNDECODABLE
        responses[413] = TOO_LARGE
        responses[422] = INVALID
    responses.update(errors or {})
    if backend:
        responses[503] = OVERLOADED if (method, path) in SHED_ROUTES else UNAVAILABLE
    for name in _path_names(path):
        if not any(p.name == name and p.where == "path" for p in params):
            params = (Param(name, "path", f"the {name.replace('_', ' ')}"), *params)
    return Route(
        method=method,
        path=path,
        handler=handler,
        summary=summary,
        tag=tag,
        roles=roles,
        responses=dict(sorted(responses.items())),
        body=body,
        body_required=body_required,
        params=params,
        description=description,
        websocket=websocket,
        admin=admin,
    )


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


ADAPTER, AGENT, SUPERVISOR, ADMIN = Role.adapter, Role.agent, Role.supervisor, Role.admin
NO_INTERACTION = _problem("No interaction has this id.")
NOT_SERVING = _problem(
    "The token's role is not admitted, or an agent token asks about a customer it is not serving."
)
CHANNEL = Param(
    "channel",
    "query",
    "the interaction's channel",
    schema={"type": "string", "enum": [ch.value for ch in c.Channel]},
)

# ---------------------------------------------------------------- the table

HTTP_ROUTES: tuple[Route, ...] = (
    # interactions
    _route(
        "POST",
        "/v1/interactions",
        "post_interaction",
        "Ingest an inbound event",
        tag="interactions",
        roles=(ADAPTER,),
        body=c.InboundEvent,
        description="Resolves the customer, opens the interaction (or appends the message to the customer's"
        " open one on the channel) and queues it. Idempotent on channel + `external_id` within this"
        " routing domain (and on `message_external_id`): a retry answers 200 with the same interaction.",
        ok={
            201: _json("A new interaction was opened.", c.IngestResult),
            200: _json(
                "Nothing new was opened: a retry of an event already ingested, or a message appended to the"
                " customer's open interaction (`created` is false).",
                c.IngestResult,
            ),
        },
        errors={
            409: _problem(
                "The message's provider id (`message_external_id`, or `external_id` for a message channel) is"
                " stored already in another routing domain of the deployment."
            ),
            422: _problem(
                "The body does not match the model, the sender's identity is unusable, the conversation is"
                " not this customer's, or no queue takes the interaction."
            ),
        },
    ),
    _route(
        "GET",
        "/v1/interactions",
        "find_interaction",
        "Find an interaction by its provider id",
        tag="interactions",
        roles=(ADAPTER, SUPERVISOR),
        params=(
            Param(
                "channel",
                "query",
                "the interaction's channel (with `external_id`)",
                required=False,
                schema={"type": "string", "enum": [ch.value for ch in c.Channel]},
            ),
            Param("external_id", "query", "the provider's id of the interaction", required=False),
            Param(
                "status",
                "query",
                "list the interactions of this domain in this status instead (supervisors and admins)",
                required=False,
                schema={"type": "string", "enum": ["queued", "assigned", "wrapup"]},
            ),
        ),
        description="A stateless adapter finds the interaction a provider callback is about"
        " (`?channel=voice&external_id=CA…`). With `?status=assigned` a supervisor lists the live"
        " interactions (the wallboard's watch list): agent, channel, customer and time in work, longest in"
        " work first (at most 500).",
        ok={
            200: Reply(
                "The interaction, with its messages, notes and live position; with `status`, the list.",
                model=c.InteractionOut,
                or_many=c.LiveInteraction,
            )
        },
        errors={
            403: _problem("The token's role is not admitted, or an adapter token asks for a `status` list."),
            404: _problem("No interaction of this channel in this routing domain has this provider id."),
            422: _problem(
                "Neither `status` nor both `channel` and `external_id` are given, a value is not one of its"
                " kind, or holds a NUL or a lone surrogate."
            ),
        },
    ),
    _route(
        "GET",
        "/v1/interactions/{id}",
        "get_interaction",
        "An interaction with messages, notes and live position",
        tag="interactions",
        roles=(ADAPTER, SUPERVISOR, AGENT),
        description="An agent token reads only interactions of customers it is serving or being offered.",
        ok={200: _json("The interaction.", c.InteractionOut)},
        errors={403: NOT_SERVING, 404: NO_INTERACTION},
    ),
    _route(
        "PATCH",
        "/v1/interactions/{id}",
        "patch_interaction",
        "Add what a bot collected while the customer waits",
        tag="interactions",
        roles=(ADAPTER,),
        body=cw.InteractionPatch,
        description="Merges `attributes` into a waiting interaction's (a key given replaces its value) and,"
        " with `queue`, moves it to that queue keeping its place (its virtual enqueue time): it ranks there"
        " by its original arrival, and the decision log says `moved from X`. The offer carries the"
        " attributes.",
        ok={200: _json("The interaction, changed.", c.InteractionOut)},
        errors={
            404: NO_INTERACTION,
            409: _problem(
                "`not_waiting`: the interaction is not waiting (assigned, ended, or being offered while it"
                " was to move); nothing changed."
            ),
            422: _problem("The body does not match the model, or the queue does not take its channel."),
        },
    ),
    _route(
        "GET",
        "/v1/interactions/{id}/routing",
        "get_routing",
        "Every routing decision of an interaction, in order",
        tag="interactions",
        roles=(SUPERVISOR, AGENT),
        description="Offers (each with its `why`: strategy, step in force, preference, agents considered and"
        " passed over), misses, rejects, revoked offers, assignments, widening steps, preference windows"
        " that ended and transfers, from the record. An agent token reads only interactions of customers"
        " it is serving or being offered.",
        ok={200: _json("The decisions, oldest first.", c.RoutingJourney)},
        errors={403: NOT_SERVING, 404: NO_INTERACTION},
    ),
    _route(
        "POST",
        "/v1/interactions/{id}/messages",
        "post_message",
        "Add a customer message or an agent's reply",
        tag="interactions",
        roles=(ADAPTER, AGENT),
        body=c.MessageIn,
        description="An adapter adds the customer's messages (or an outbound one naming `agent_id`); an agent"
        " token writes outbound replies only in the interactions it holds now (assigned or in wrap-up):"
        " not in one it transferred or completed. An adapter's message to a transferred interaction goes"
        " to the live one of its conversation. Idempotent on `external_id`. The body is customer text: a"
        " NUL or a lone surrogate in it is dropped, the rest stored as sent.",
        ok={
            201: _json("The message was added.", c.MessageOut),
            200: _json("A message with this `external_id` already exists: that message.", c.MessageOut),
        },
        errors={
            403: _problem(
                "The token's role is not admitted, or the agent does not hold the interaction now"
                " (nothing is stored)."
            ),
            404: NO_INTERACTION,
            422: _problem("The body does not match the model, or an outbound message has no `agent_id`."),
        },
    ),
    _route(
        "POST",
        "/v1/interactions/{id}/end",
        "post_end",
        "The customer hung up or left",
        tag="interactions",
        roles=(ADAPTER,),
        body=c.EndIn,
        body_required=False,
        description="A waiting interaction is abandoned; one an agent holds ends, and the agent completes it"
        " as usual. Ending an interaction that is already over changes nothing and answers it.",
        ok={200: _json("The interaction after the end (without messages and notes).", c.InteractionOut)},
        errors={404: NO_INTERACTION, 409: _problem("The interaction changed concurrently: retry.")},
    ),
    # quality and supervision
    _route(
        "PUT",
        "/v1/quality/forms/{id}",
        "put_quality_form",
        "Create or replace a quality review form",
        tag="quality",
        roles=(ADMIN,),
        body=c.QualityFormIn,
        description="Questions, each with a `weight` (its share of the score), a `scale` (answers are"
        " 0..scale) and a `critical` flag (a critical question answered 0 scores the whole review 0)."
        " Replacing a form never changes the scores of reviews already made (each keeps its form).",
        ok={
            201: _json("The form was created.", c.QualityFormOut),
            200: _json("The form was replaced.", c.QualityFormOut),
        },
        errors={
            422: _problem(
                "The id or the body is invalid (a weight out of (0, 100], a scale out of 1..10, a question"
                " id repeated); `errors` lists the failing fields."
            )
        },
    ),
    _route(
        "GET",
        "/v1/quality/forms",
        "list_quality_forms",
        "Every quality review form",
        tag="quality",
        roles=(SUPERVISOR,),
        ok={200: _json("The forms, sorted by id.", c.QualityFormOut, many=True)},
    ),
    _route(
        "GET",
        "/v1/quality/forms/{id}",
        "get_quality_form",
        "One quality review form",
        tag="quality",
        roles=(SUPERVISOR,),
        ok={200: _json("The form.", c.QualityFormOut)},
        errors={404: _problem("No form has this id.")},
    ),
    _route(
        "POST",
        "/v1/interactions/{id}/reviews",
        "post_review",
        "Score a completed interaction against a form",
        tag="quality",
        roles=(SUPERVISOR,),
        body=c.ReviewIn,
        description="Every question of the form is answered (0..its scale). The score is"
        " 100 * Σ(weight * answer / scale) / Σ weight, two decimals; 0 with `critical_failed` when a"
        " critical question is answered 0. The review is stored with the interaction (its context record"
        " shows it, its agent reads it) and recorded in the interaction's audit.",
        ok={201: _json("The review, scored.", c.ReviewOut)},
        errors={
            404: NO_INTERACTION,
            409: _problem("The interaction is not completed (waiting, with an agent, in wrap-up or ended)."),
            422: _problem(
                "The body does not match the model, names no form, or its answers do not fit the form (an"
                " unanswered question, an unknown one, an answer above its scale)."
            ),
        },
    ),
    _route(
        "GET",
        "/v1/interactions/{id}/reviews",
        "list_reviews",
        "The quality reviews of an interaction",
        tag="quality",
        roles=(SUPERVISOR, AGENT),
        description="An agent token reads the reviews of interactions it handled only.",
        ok={200: _json("The reviews, oldest first.", c.ReviewOut, many=True)},
        errors={
            403: _problem("The token's role is not admitted, or an agent token asks about another's work."),
            404: NO_INTERACTION,
        },
    ),
    _route(
        "GET",
        "/v1/agents/{id}/reviews",
        "list_agent_reviews",
        "The quality reviews of an agent's work",
        tag="quality",
        roles=(SUPERVISOR, AGENT),
        description="An agent token reads its own reviews only (the desktop's quality panel).",
        ok={200: _json("The reviews, newest first (at most 200).", c.ReviewOut, many=True)},
        errors={
            403: _problem("The token's role is not admitted, or an agent token asks about another agent."),
        },
    ),
    _route(
        "GET",
        "/v1/reports/quality",
        "quality_report",
        "Quality scores by agent or queue over a range",
        tag="quality",
        roles=(SUPERVISOR,),
        params=(
            Param("from", "query", "start of the range (ISO 8601 date or date-time; UTC unless it says)"),
            Param("to", "query", "end of the range, excluded (ISO 8601 date or date-time)"),
            Param(
                "group_by",
                "query",
                "`agent` (the agent who handled the interaction) or `queue` (its queue)",
                required=False,
                schema={"type": "string", "enum": ["agent", "queue"], "default": "agent"},
            ),
        ),
        description="The reviews made in [from, to): per agent or queue, their count, mean, lowest and"
        " highest score and how many failed a critical question.",
        ok={200: _json("The report.", c.QualityReport)},
        errors={
            422: _problem(
                "`from` or `to` is missing or not ISO 8601, `to` is not after `from`, or"
                " `group_by` is neither agent nor queue."
            )
        },
    ),
    _route(
        "GET",
        "/v1/quality/sample",
        "quality_sample",
        "A random sample of completed interactions per agent for review",
        tag="quality",
        roles=(SUPERVISOR,),
        params=(
            Param(
                "week",
                "query",
                "an ISO week (`2026-W48`, Monday to Monday UTC); this week when absent",
                required=False,
                schema={"type": "string", "pattern": r"^\d{4}-W\d{2}$"},
            ),
            Param(
                "per_agent",
                "query",
                "how many interactions to draw per agent (1..50, default 5)",
                required=False,
                schema={"type": "integer", "minimum": 1, "maximum": 50, "default": 5},
            ),
        ),
        description="Up to `per_agent` interactions of each agent that were completed in the week, drawn"
        " at random on every call; each says how many reviews it has already.",
        ok={200: _json("The sample, by agent.", c.QualitySample)},
        errors={422: _problem("`week` is not an ISO week or `per_agent` is out of 1..50.")},
    ),
    _route(
        "GET",
        "/v1/interactions/{id}/audit",
        "list_audit",
        "What supervisors did in an interaction",
        tag="quality",
        roles=(SUPERVISOR,),
        description="Every watch, unwatch, whisper, barge, take over and review, with who (`actor_role`,"
        " `actor_id`: the token's id, none for the settings' admin token) and when.",
        ok={200: _json("The audit entries, oldest first.", c.AuditEntryOut, many=True)},
        errors={404: NO_INTERACTION},
    ),
    _route(
        "POST",
        "/v1/interactions/{id}/survey",
        "post_survey",
        "Record the customer's survey answer",
        tag="interactions",
        roles=(ADAPTER,),
        body=c.SurveyIn,
        description="The answer to the survey about an interaction, from the channel that asked it (the web"
        " chat widget, a reply page): CSAT 1 to 5, NPS 0 to 10, CES 1 to 7. It is stored with the"
        " interaction, shown in the customer's context record and counted in the KPIs. The first answer"
        " stands.",
        ok={201: _json("The answer was recorded.", c.SurveyOut)},
        errors={
            404: NO_INTERACTION,
            409: _problem("The interaction's survey was answered already; nothing changed."),
            422: _problem("The body does not match the model, or the score is outside the kind's scale."),
        },
    ),
    # customers
    _route(
        "GET",
        "/v1/customers/{id}/context",
        "get_context",
        "The customer's context record",
        tag="customers",
        roles=(SUPERVISOR, AGENT),
        description="An agent token reads only customers it is serving or being offered.",
        ok={200: _json("The context record.", c.ContextRecord)},
        errors={403: NOT_SERVING, 404: _problem("No customer has this id.")},
    ),
    _route(
        "POST",
        "/v1/customers/{id}/events",
        "post_customer_event",
        "Add a journey event",
        tag="customers",
        roles=(ADAPTER,),
        body=c.JourneyEventIn,
        ok={201: _json("The event was recorded.", c.JourneyEventOut)},
        errors={404: _problem("No customer has this id.")},
    ),
    _route(
        "POST",
        "/v1/journey-events",
        "post_journey_event",
        "Add a journey event for an identity, known or not",
        tag="customers",
        roles=(ADAPTER,),
        body=c.IdentityJourneyEventIn,
        description="Records the event on the customer that owns `identity` (normalized as a contact's own"
        " address is: a phone number in E.164, an e-mail in lower case, a web visitor id as given); when no"
        " customer owns it yet, a new customer of that identity is created, so the pages a visitor browsed"
        " before a first chat are in that chat's context. Each customer keeps at most `[identity]"
        " journey_cap` events: the oldest (by `at`) are dropped.",
        ok={201: _json("The event was recorded.", c.JourneyEventRecorded)},
        errors={
            422: _problem(
                "The body does not match the model, or the identity is withheld (an anonymous caller id)"
                " or not one (an impossible number, an address without `@`); nothing is stored."
            )
        },
    ),
    _route(
        "GET",
        "/v1/customers/{id}/export",
        "export_customer",
        "Everything stored about a customer",
        tag="customers",
        roles=(ADMIN,),
        description="Profile, identities, interactions with their status history, messages (with"
        " attachments' metadata), notes, journey, possible matches (by customer id only) and erasures.",
        ok={200: _json("The customer's data.", c.CustomerExport)},
        errors={404: _problem("No customer has this id.")},
    ),
    _route(
        "DELETE",
        "/v1/customers/{id}",
        "delete_customer",
        "Erase a customer's personal data",
        tag="customers",
        roles=(ADMIN,),
        description="Erases the profile, identities, journey, possible matches, every message and note body,"
        " attachments, and the interactions' sender address, attributes, subject and summary. The"
        " customer's row and interactions stay (channel, queue, status, agent, times), so reports and the"
        " queues' daily counts do not change. The customer's next contact, even from the same address,"
        " is a new customer. Recorded (when, who) without personal data. Erasing an erased customer"
        " changes nothing and answers the first erasure.",
        ok={200: _json("The erasure.", c.ErasureOut)},
        errors={
            404: _problem("No customer has this id."),
            409: _problem(
                "Some of the customer's interactions are still waiting, offered, held or in wrap-up:"
                " nothing was erased; retry when they have ended."
            ),
        },
    ),
    _route(
        "POST",
        "/v1/customers/{id}/merge",
        "post_customer_merge",
        "Merge another customer into this one",
        tag="customers",
        roles=(SUPERVISOR,),
        body=c.MergeIn,
        description="Moves the other customer's identities, conversations, interactions (with their"
        " messages), notes, journey events and possible matches to this customer, in one transaction,"
        " and records the merge (who, when, why, what matched, and every row moved). This customer's"
        " profile is kept as it is; the other keeps its own, marked `merged_into`. Both appear in each"
        " other's context under `merges`. Desktops holding work of either customer get a `context`"
        " frame; the next offer of any of their work carries the merged context.",
        ok={201: _json("The merge was done.", c.MergeOut)},
        errors={
            404: _problem("No customer has this id, or none has `other_customer_id`."),
            409: _problem(
                "The two are one customer, either was merged into another customer already, or they kept"
                " changing while the merge waited (try again)."
            ),
        },
    ),
    _route(
        "POST",
        "/v1/customers/{id}/unmerge",
        "post_customer_unmerge",
        "Undo a merge into this customer",
        tag="customers",
        roles=(SUPERVISOR,),
        body=c.UnmergeIn,
        description="Moves back to the other customer exactly the identities, conversations,"
        " interactions, notes and journey events the merge moved (and what grew from them since: later"
        " interactions of its conversations, notes and events of its interactions) and restores the"
        " possible matches as they were. The merge stays listed, with `unmerged_by` and `unmerged_at`.",
        ok={200: _json("The merge, now undone.", c.MergeOut)},
        errors={
            404: _problem("No customer has this id, or `merge_id` is not a merge into this customer."),
            409: _problem(
                "The merge was undone already, or this customer was merged into another since (undo"
                " that merge first)."
            ),
        },
    ),
    # directory
    _route(
        "GET",
        "/v1/queues",
        "list_queues",
        "Queues with live statistics",
        tag="directory",
        roles=(SUPERVISOR, AGENT, ADAPTER),
        ok={200: _json("Every queue, sorted by id.", c.QueueOut, many=True)},
    ),
    _route(
        "GET",
        "/v1/queues/{id}",
        "get_queue",
        "One queue with live statistics",
        tag="directory",
        roles=(SUPERVISOR, AGENT, ADAPTER),
        ok={200: _json("The queue.", c.QueueOut)},
        errors={404: _problem("No queue has this id.")},
    ),
    _route(
        "PUT",
        "/v1/queues/{id}",
        "put_queue",
        "Create or replace a queue",
        tag="directory",
        roles=(ADMIN,),
        body=c.QueueConfig,
        ok={
            201: _json("The queue was created (without statistics).", c.QueueOut),
            200: _json("The queue was replaced (without statistics).", c.QueueOut),
        },
        errors={422: _problem("The id or the body is invalid; `errors` lists the failing fields.")},
    ),
    _route(
        "GET",
        "/v1/agents",
        "list_agents",
        "Agents with live state",
        tag="directory",
        roles=(SUPERVISOR,),
        ok={200: _json("Every agent, sorted by id.", c.AgentOut, many=True)},
    ),
    _route(
        "GET",
        "/v1/agents/{id}",
        "get_agent",
        "One agent with live state",
        tag="directory",
        roles=(SUPERVISOR, AGENT),
        description="An agent token reads only its own agent.",
        ok={200: _json("The agent.", c.AgentOut)},
        errors={
            403: _problem("The token's role is not admitted, or an agent token asks about another agent."),
            404: _problem("No agent has this id."),
        },
    ),
    _route(
        "GET",
        "/v1/agents/{id}/states",
        "get_agent_states",
        "Time per state and not-ready reason",
        tag="directory",
        roles=(SUPERVISOR, AGENT),
        params=(
            Param(
                "from",
                "query",
                "the start, ISO 8601 with a time zone (default: `to` less 24 hours)",
                required=False,
                schema={"type": "string", "format": "date-time"},
            ),
            Param(
                "to",
                "query",
                "the end, ISO 8601 with a time zone (default: now)",
                required=False,
                schema={"type": "string", "format": "date-time"},
            ),
        ),
        description="Every change of the agent's presence is recorded: the agent's own `set_state`, an offer"
        " it missed (`away`, reason `missed`), its desktop connecting, and its desktop dropping (`offline`,"
        " reason `disconnected`). This answers the seconds spent in each state and reason between `from`"
        " and `to` (a state holds until the next change; the range is at most 92 days), and the changes"
        " themselves. An agent token reads only its own agent.",
        ok={200: _json("The time per state and reason, and the changes.", c.AgentStatesOut)},
        errors={
            403: _problem("The token's role is not admitted, or an agent token asks about another agent."),
            404: _problem("No agent has this id."),
            422: _problem(
                "`from` or `to` is not an ISO 8601 time with a zone, `to` is not after `from`, or"
                " the range is longer than 92 days."
            ),
        },
    ),
    _route(
        "PUT",
        "/v1/agents/{id}",
        "put_agent",
        "Create or replace an agent",
        tag="directory",
        roles=(ADMIN,),
        body=c.AgentConfig,
        ok={
            201: _json("The agent was created.", c.AgentOut),
            200: _json("The agent was replaced.", c.AgentOut),
        },
        errors={422: _problem("The id or the body is invalid; `errors` lists the failing fields.")},
    ),
    _route(
        "GET",
        "/v1/rules",
        "get_rules",
        "Routing rules",
        tag="directory",
        roles=(SUPERVISOR,),
        ok={200: _json("The rules, in the order they are tried.", c.RoutingRule, many=True)},
    ),
    _route(
        "PUT",
        "/v1/rules",
        "put_rules",
        "Replace the routing rules",
        tag="directory",
        roles=(ADMIN,),
        body=c.RulesIn,
        ok={200: _json("The rules now in force.", c.RoutingRule, many=True)},
        errors={422: _problem("The body does not match the model, or a rule names an unknown queue.")},
    ),
    _route(
        "POST",
        "/v1/tokens",
        "post_token",
        "Create an API token",
        tag="tokens",
        roles=(ADMIN,),
        body=c.TokenIn,
        description="The token is shown once; only its hash is stored.",
        ok={201: _json("The token was created.", c.TokenOut)},
        errors={
            422: _problem(
                "The body does not match the model, `agent_id` is missing for an agent token (or given for"
                " another role), names an unknown agent, or `expires_at` is not in the future."
            )
        },
    ),
    _route(
        "GET",
        "/v1/tokens",
        "list_tokens",
        "Every stored token",
        tag="tokens",
        roles=(ADMIN,),
        description="Each token's id, role, agent, name, creation, expiry, revocation and state (`active`,"
        " `expired`, `revoked`), and whether it came from the configuration file; never the secret nor its"
        " hash. The admin token of `OMNIROUTE_ADMIN_TOKEN` is not stored and not listed.",
        ok={200: _json("The tokens, oldest first.", c.TokenInfoOut, many=True)},
    ),
    _route(
        "DELETE",
        "/v1/tokens/{id}",
        "delete_token",
        "Revoke a token",
        tag="tokens",
        roles=(ADMIN,),
        params=(Param("id", "path", "the token's id (from `POST /v1/tokens` or `GET /v1/tokens`)"),),
        description="The token is refused at once by every router process, and the sockets opened with it"
        " are closed (close code 4003, reason `token revoked`). Revoking a revoked token changes nothing."
        " A token of the configuration file is revoked for good: naming it in the file again does not"
        " revive it.",
        ok={204: Reply("The token is revoked.")},
        errors={404: _problem("No token has this id.")},
    ),
    # reports
    _route(
        "GET",
        "/v1/reports/kpis",
        "get_kpis",
        "KPIs per interval and key over a range",
        tag="reports",
        roles=(SUPERVISOR,),
        params=(
            Param(
                "from",
                "query",
                "the range's start: a date (midnight in `tz`) or an ISO 8601 date-time (without an offset:"
                " in `tz`)",
            ),
            Param("to", "query", "the range's end (exclusive), written as `from`"),
            Param(
                "interval",
                "query",
                "the length of each row's interval (local to `tz`; `1d`: calendar days)",
                required=False,
                schema={"type": "string", "enum": ["15m", "30m", "1h", "1d"], "default": "1h"},
            ),
            Param(
                "group_by",
                "query",
                "one row per interval and queue, channel or agent; `none`: one row per interval",
                required=False,
                schema={"type": "string", "enum": ["queue", "channel", "agent", "none"], "default": "none"},
            ),
            Param(
                "tz",
                "query",
                "the IANA time zone of the intervals (default `[server] timezone`)",
                required=False,
            ),
            Param(
                "format",
                "query",
                "`csv` for a CSV download",
                required=False,
                schema={"type": "string", "enum": ["json", "csv"], "default": "json"},
            ),
        ),
        description="Offered, answered, abandoned, service level, ASA, AHT, abandonment, transfer and first"
        " contact resolution rates, time to resolution, occupancy (per agent), CSAT, NPS and CES, from"
        " PostgreSQL. Contacts count in the interval they arrived in; intervals with nothing are left out."
        " Each definition: `docs/reports.md`.",
        ok={
            200: Reply(
                "The report (`format=csv`: `text/csv`, one line per row, a header first).",
                model=c.KpiReport,
                media_type="text/csv",
                schema={"type": "string"},
            )
        },
        errors={422: _problem("A parameter is missing or invalid; `errors` names it.")},
    ),
    _route(
        "GET",
        "/v1/reports/forecast",
        "get_forecast",
        "Forecast arrivals and the staffing plan of a queue",
        tag="reports",
        roles=(SUPERVISOR,),
        params=(
            Param("queue", "query", "the queue's id"),
            Param(
                "interval",
                "query",
                "minutes per interval (local to `tz`)",
                required=False,
                schema={"type": "string", "enum": ["15", "30", "60"], "default": "30"},
            ),
            Param(
                "horizon_days",
                "query",
                "days forecast from today's local midnight",
                required=False,
                schema={"type": "integer", "minimum": 1, "maximum": 28, "default": 7},
            ),
            Param(
                "history_weeks",
                "query",
                "weeks of history fitted on, the last held out (default `[reports] forecast_history_weeks`)",
                required=False,
                schema={"type": "integer", "minimum": 3, "maximum": 104},
            ),
            Param(
                "tz",
                "query",
                "the IANA time zone of the intervals (default `[server] timezone`)",
                required=False,
            ),
            Param(
                "format",
                "query",
                "`csv` for the staffing plan as a CSV download",
                required=False,
                schema={"type": "string", "enum": ["json", "csv"], "default": "json"},
            ),
        ),
        description="Arrivals per interval forecast from the queue's recorded contacts (Holt-Winters with a"
        " weekly season), its backtest on the last whole week held out (WAPE against seasonal-naive), and"
        " the agents needed per interval for `[reports] service_level_target` within the queue's"
        " `service_level_seconds` (Erlang C, or Erlang A with the measured patience) with"
        " `[reports] shrinkage`. `docs/reports.md`.",
        ok={
            200: Reply(
                "The forecast (`format=csv`: `text/csv`, one line per interval, a header first).",
                model=c.ForecastReport,
                media_type="text/csv",
                schema={"type": "string"},
            )
        },
        errors={
            404: _problem("No queue has this id."),
            422: _problem("A parameter is invalid, or the queue has less than three weeks of history."),
            501: _problem("statsmodels (the `forecast` extra) is not installed."),
        },
    ),
    # message receipts
    _route(
        "POST",
        "/v1/messages/status",
        "post_status_by_external",
        "Record a provider receipt by provider message id",
        tag="messages",
        roles=(ADAPTER,),
        body=c.MessageStatusIn,
        description="Moves the outbound messages with this `external_id` forward (sent < delivered < read;"
        " failed always wins); a receipt that would move a status back changes nothing.",
        ok={200: _json("How many messages moved forward.", c.ReceiptsApplied)},
        errors={422: _problem("The body does not match the model, or has no `external_id`.")},
    ),
    _route(
        "POST",
        "/v1/messages/{id}/status",
        "post_message_status",
        "Report an outbound message's delivery",
        tag="messages",
        roles=(ADAPTER,),
        body=c.MessageStatusIn,
        ok={200: _json("The message's status after the report.", c.MessageStatusOut)},
        errors={
            404: _problem(
                "No message has this id, or the report would move its status back (a status never moves"
                " back, and failed is final)."
            ),
            409: _problem("The `external_id` is another message's on this channel; nothing changed."),
        },
    ),
    # operations
    _route(
        "GET",
        "/v1/meta",
        "meta",
        "The channel table and server facts",
        tag="operations",
        roles=(),
        backend=False,
        description="What every client reads before it draws anything: the channels, their labels,"
        " default capacities and capabilities.",
        ok={200: _json("The server's facts.", c.Meta)},
    ),
    _route(
        "GET",
        "/v1/openapi.json",
        "openapi",
        "This document",
        tag="operations",
        roles=(),
        backend=False,
        ok={
            200: Reply("The OpenAPI 3.1 document.", media_type="application/json", schema={"type": "object"})
        },
    ),
    _route(
        "GET",
        "/healthz",
        "healthz",
        "Health of PostgreSQL and Redis",
        tag="operations",
        roles=(),
        backend=False,
        ok={
            200: _json("PostgreSQL and Redis answer.", c.Health),
            503: _json("PostgreSQL or Redis does not answer; `checks` says which.", c.Health),
        },
    ),
    _route(
        "GET",
        "/metrics",
        "metrics",
        "Prometheus metrics",
        tag="operations",
        roles=(),
        ok={
            200: Reply(
                "The Prometheus text exposition; the metrics are listed in docs/metrics.md.",
                media_type="text/plain",
                schema={"type": "string"},
            )
        },
    ),
)

# Webhooks and the socket contract for integrators: handled by ``router.http.integrations``.
WEBHOOK_ID = Param("id", "path", "the webhook's id (from `POST /v1/webhooks` or `GET /v1/webhooks`)")
NO_WEBHOOK = _problem("No webhook has this id.")

INTEGRATION_ROUTES: tuple[Route, ...] = (
    _route(
        "POST",
        "/v1/webhooks",
        "post_webhook",
        "Subscribe a URL to events",
        tag="webhooks",
        roles=(ADMIN,),
        body=wh.WebhookIn,
        description="Events whose type matches one of `events` are posted to `url`, signed with `secret`"
        " (`docs/webhooks.md`). The secret is shown in this answer only; without one, one is made. A URL"
        " whose host resolves to a private, loopback, link-local or reserved address is refused unless"
        " `[webhooks] allow_private` is set.",
        ok={201: _json("The webhook was created; `secret` is shown this once.", wh.WebhookCreated)},
        errors={
            422: _problem(
                "The body does not match the model, the URL is not http(s), its host does not resolve, or"
                " it resolves to an address webhooks may not reach."
            )
        },
    ),
    _route(
        "GET",
        "/v1/webhooks",
        "list_webhooks",
        "Every webhook",
        tag="webhooks",
        roles=(ADMIN,),
        description="Never the secrets.",
        ok={200: _json("The webhooks, oldest first.", wh.WebhookOut, many=True)},
    ),
    _route(
        "DELETE",
        "/v1/webhooks/{id}",
        "delete_webhook",
        "Delete a webhook",
        tag="webhooks",
        roles=(ADMIN,),
        params=(WEBHOOK_ID,),
        description="Its pending deliveries are dropped with it.",
        ok={204: Reply("The webhook is deleted.")},
        errors={404: NO_WEBHOOK},
    ),
    _route(
        "GET",
        "/v1/webhooks/{id}/deliveries",
        "list_deliveries",
        "A webhook's deliveries",
        tag="webhooks",
        roles=(ADMIN,),
        params=(
            WEBHOOK_ID,
            Param(
                "after",
                "query",
                "only deliveries of events after this event id (`<ms>-<seq>`)",
                required=False,
                schema={"type": "string", "pattern": wh.EVENT_ID_PATTERN},
            ),
            Param(
                "status",
                "query",
                "only deliveries in this state",
                required=False,
                schema={"type": "string", "enum": list(wh.DELIVERY_STATUSES)},
            ),
            Param(
                "limit",
                "query",
                "at most this many (default 100, at most 1000)",
                required=False,
                schema={"type": "integer", "minimum": 1, "maximum": 1000},
            ),
        ),
        ok={200: _json("The deliveries in event order.", wh.DeliveryOut, many=True)},
        errors={404: NO_WEBHOOK, 422: _problem("`after`, `status` or `limit` is not valid.")},
    ),
    _route(
        "POST",
        "/v1/webhooks/{id}/replay",
        "replay_webhook",
        "Send a webhook's events again",
        tag="webhooks",
        roles=(ADMIN,),
        params=(WEBHOOK_ID,),
        body=wh.ReplayIn,
        description="Every delivery of the webhook for an event after `after` is queued again, delivered"
        " or not, and sent in order per interaction, as they were the first time.",
        ok={200: _json("How many deliveries were queued again.", wh.ReplayOut)},
        errors={404: NO_WEBHOOK},
    ),
    _route(
        "GET",
        "/v1/asyncapi.json",
        "asyncapi",
        "The socket protocols as an AsyncAPI document",
        tag="operations",
        roles=(),
        backend=False,
        description="The agent desktop's and the supervisor's websockets: every frame each side sends,"
        " generated from `agent_desktop/frames.py`.",
        ok={
            200: Reply("The AsyncAPI 3.0 document.", media_type="application/json", schema={"type": "object"})
        },
    ),
)

# The consent ledger: handled by ``router.http.consent``.
CONSENT_ROUTES: tuple[Route, ...] = (
    _route(
        "GET",
        "/v1/customers/{id}/consent",
        "get_consent",
        "The customer's consent to be contacted",
        tag="customers",
        roles=(SUPERVISOR, ADAPTER),
        description="The consent in force on each channel for each purpose, every change with who made it"
        " and when, and the purposes that need an opt-in (`[outbound] require_opt_in`).",
        ok={200: _json("The ledger.", cs.ConsentOut)},
        errors={404: _problem("No customer has this id.")},
    ),
    _route(
        "PUT",
        "/v1/customers/{id}/consent/{channel}",
        "put_consent",
        "Record a change of the customer's consent",
        tag="customers",
        roles=(SUPERVISOR, ADAPTER),
        params=(
            Param(
                "channel",
                "path",
                "where the customer is contacted",
                schema={"type": "string", "enum": list(cs.CONSENT_CHANNELS)},
            ),
        ),
        body=cs.ConsentIn,
        description="Appended to the ledger with the token that made it; nothing is ever overwritten. An"
        " opt-out by keyword (STOP by SMS or WhatsApp) is recorded by the router itself.",
        ok={200: _json("The ledger after the change.", cs.ConsentOut)},
        errors={
            404: _problem("No customer has this id."),
            422: _problem(
                "The body does not match the model, or the channel is not one consent is kept for."
            ),
        },
    ),
)

_UPGRADE = {
    101: Reply("Switching protocols: the websocket is open."),
    400: _problem("The request is not a websocket upgrade."),
}

SOCKET_ROUTES: tuple[Route, ...] = (
    _route(
        "GET",
        "/v1/agents/{agent_id}/socket",
        "agent_socket",
        "The agent desktop's websocket",
        tag="sockets",
        roles=(AGENT,),
        admin=False,
        websocket=True,
        description="JSON frames with a `type` (`agent_desktop/frames.py`). The server sends `hello`,"
        " `offer`, `offer_revoked`, `assigned`, `context`, `message`, `message_status`,"
        " `interaction_ended`, `wrapup_ended`, `state`, `whisper` (a supervisor's coaching), `collision`"
        " (another agent now holds live work of the same customer), `taken_over` (a supervisor took the"
        " work), `ack` and `error`. The agent sends `set_state`, `accept`, `reject`, `send_message`,"
        " `add_note`, `complete`, `transfer`, `end_wrapup`, `link_customer`, `callback_result` and"
        " `ping`. A malformed or refused frame gets an `error` frame and the socket stays open.",
        ok=_UPGRADE,
        errors={
            403: _problem("Not an agent token (an admin token is refused too), or another agent's token."),
            404: _problem("No agent has this id."),
        },
    ),
    _route(
        "GET",
        "/v1/supervisor/socket",
        "supervisor_socket",
        "The supervisor's live websocket",
        tag="sockets",
        roles=(SUPERVISOR,),
        websocket=True,
        params=(
            Param(
                "after",
                "query",
                "an event id (`<ms>-<seq>`): the raw events since then are replayed (`event` frames)"
                " before the snapshot. Anything else is answered with an `error` frame (code `invalid`,"
                ' `loc` `["query", "after"]`) and the socket goes on with the snapshot alone',
                required=False,
            ),
            Param(
                "events",
                "query",
                "`1` or `true`: stream the raw events live as well",
                required=False,
            ),
        ),
        description="A `snapshot` frame (every queue's statistics, every agent's state and load), then"
        " `queue` and `agent` frames whenever an event touches them. The client sends `ping`, and `watch`"
        " / `unwatch` (`interaction_id`) to follow one live interaction: every event about it comes as a"
        " `watched` frame (audited; neither agent nor customer is told); `whisper` (`interaction_id`,"
        " `body`) sends a `whisper` frame to the agent holding it only, kept in the audit; `barge`"
        " (`interaction_id`, `body`) writes to the customer as the supervisor; `take_over`"
        " (`interaction_id`, `agent_id`) moves the work to the supervisor's own agent desktop.",
        ok=_UPGRADE,
    ),
)

# Callbacks that keep their place: handled by ``router.http.callbacks``.
CALLBACK_ROUTES: tuple[Route, ...] = (
    _route(
        "POST",
        "/v1/interactions/{id}/callback",
        "post_callback",
        "Call the waiting customer back, keeping their place",
        tag="interactions",
        roles=(ADAPTER,),
        body=cb.CallbackIn,
        description="The waiting interaction becomes a callback: it keeps its rank in its queue and the"
        " customer may hang up without abandoning. When an agent accepts its offer (which carries"
        " `callback`), the voice adapter calls `number` and bridges the agent, who reports the outcome"
        " (`callback_result`). With `not_before` it is not offered before then, its place kept. Asking"
        " again changes the number or `not_before`. See docs/callbacks.md.",
        ok={200: _json("The callback and the interaction's place.", cb.CallbackOut)},
        errors={
            404: NO_INTERACTION,
            409: _problem("The interaction is not waiting (offered, assigned or over)."),
            422: _problem("The body does not match the model, or `number` is not a valid telephone number."),
        },
    ),
)

# Customers' preferences and campaigns: handled by ``router.http.campaigns``.
NO_CUSTOMER = _problem("No customer has this id.")
NO_CAMPAIGN = _problem("No campaign of this routing domain has this id.")


def _campaign_action(action: str, summary: str, description: str, refused: str) -> Route:
    return _route(
        "POST",
        f"/v1/campaigns/{{id}}/{action}",
        f"{action}_campaign",
        summary,
        tag="campaigns",
        roles=(SUPERVISOR,),
        description=description,
        ok={200: _json("The campaign after the change (a repeat changes nothing).", cp.CampaignOut)},
        errors={404: NO_CAMPAIGN, 409: _problem(refused)},
    )


CAMPAIGN_ROUTES: tuple[Route, ...] = (
    _route(
        "GET",
        "/v1/customers/{id}",
        "get_customer",
        "The customer's profile and contact preferences",
        tag="customers",
        roles=(SUPERVISOR,),
        description="With no time zone set, `timezone` is the one zone of the customer's phone number when"
        " libphonenumber knows exactly one (`timezone_source` `phone`), else null.",
        ok={200: _json("The customer.", cp.CustomerPreferencesOut)},
        errors={404: NO_CUSTOMER},
    ),
    _route(
        "PATCH",
        "/v1/customers/{id}",
        "patch_customer",
        "Set the customer's contact preferences",
        tag="customers",
        roles=(SUPERVISOR,),
        body=cp.PreferencesIn,
        description="`preferred_channel` (a channel of the channel table), `timezone` (IANA), `language`"
        " (BCP 47); only the fields given change, `null` clears one.",
        ok={200: _json("The customer after the change.", cp.CustomerPreferencesOut)},
        errors={
            404: NO_CUSTOMER,
            422: _problem(
                "The body does not match the model: an unknown channel or time zone, a language that is not"
                " a BCP 47 tag, or no field at all."
            ),
        },
    ),
    _route(
        "POST",
        "/v1/campaigns",
        "post_campaign",
        "Create a campaign",
        tag="campaigns",
        roles=(SUPERVISOR,),
        body=cp.CampaignIn,
        description="A draft: nothing is sent until `start`. Unknown customer ids and repeats are left out"
        " of the audience. See `docs/campaigns.md` for the channel choice, consent and quiet hours.",
        ok={201: _json("The campaign.", cp.CampaignOut)},
        errors={
            409: _problem("A campaign has this id already."),
            422: _problem(
                "The body does not match the model, a customer id is not a UUID, or `reply_queue` is not a"
                " queue."
            ),
        },
    ),
    _route(
        "GET",
        "/v1/campaigns/{id}",
        "get_campaign",
        "A campaign and its recipients' outcomes",
        tag="campaigns",
        roles=(SUPERVISOR,),
        ok={200: _json("The campaign with `counts` by outcome.", cp.CampaignOut)},
        errors={404: NO_CAMPAIGN},
    ),
    _campaign_action(
        "start",
        "Start (or resume) a campaign",
        "From `start_at` (or now), every router process's worker sends to due recipients at"
        " `rate_per_second` in all.",
        "The campaign was cancelled or has completed.",
    ),
    _campaign_action(
        "pause",
        "Pause a campaign",
        "Workers stop claiming its recipients until it is started again.",
        "The campaign was cancelled or has completed.",
    ),
    _campaign_action(
        "cancel",
        "Cancel a campaign",
        "Recipients not yet sent to stay `queued` (or deferred) and are never sent.",
        "The campaign has completed.",
    ),
    _route(
        "GET",
        "/v1/campaigns/{id}/recipients",
        "get_campaign_recipients",
        "A campaign's recipients",
        tag="campaigns",
        roles=(SUPERVISOR,),
        params=(
            Param(
                "status",
                "query",
                "only recipients with this outcome",
                required=False,
                schema={"type": "string", "enum": list(cp.OUTCOMES)},
            ),
            Param(
                "limit",
                "query",
                "at most this many (1 to 1000)",
                required=False,
                schema={"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
            ),
            Param(
                "offset",
                "query",
                "skip this many",
                required=False,
                schema={"type": "integer", "minimum": 0, "default": 0},
            ),
        ),
        ok={200: _json("Recipients in audience order.", cp.RecipientsOut)},
        errors={404: NO_CAMPAIGN, 422: _problem("A parameter is invalid; `errors` names it.")},
    ),
)

ROUTES: tuple[Route, ...] = (
    HTTP_ROUTES + INTEGRATION_ROUTES + CONSENT_ROUTES + CALLBACK_ROUTES + CAMPAIGN_ROUTES + SOCKET_ROUTES
)


def route_defs(routes: Iterable[Route], handler: Callable[[str], Handler]) -> list[web.RouteDef]:
    """aiohttp route definitions for these entries; ``handler`` maps a handler name to the handler. GET
    routes answer HEAD as well (aiohttp's default)."""
    defs = []
    for r in routes:
        fn = handler(r.handler)
        defs.append(web.get(r.path, fn) if r.method == "GET" else web.route(r.method, r.path, fn))
    return defs
