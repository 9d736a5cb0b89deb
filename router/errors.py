"""One root exception; HTTP maps each kind to a problem+json status, sockets to an error frame."""

from __future__ import annotations

from typing import Any


class OmnirouteError(Exception):
    status = 500
    code = "internal"
    title = "Internal error"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class BadRequest(OmnirouteError):
    status, code, title = 422, "invalid", "Invalid request"


class Undecodable(OmnirouteError):
    """The body cannot be read as text at all (a broken ``Content-Encoding``, bytes that are not UTF-8)."""

    status, code, title = 400, "undecodable", "The body cannot be decoded"


class Unauthorized(OmnirouteError):
    status, code, title = 401, "unauthorized", "Missing or unknown token"


class Forbidden(OmnirouteError):
    status, code, title = 403, "forbidden", "Not allowed for this token"


class NotFound(OmnirouteError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(OmnirouteError):
    status, code, title = 409, "conflict", "Conflict with the current state"


class CapacityExceeded(Conflict):
    code, title = "capacity_exceeded", "Agent capacity exceeded"


class OfferGone(Conflict):
    code, title = "offer_gone", "The offer is no longer open"


class NotWaiting(Conflict):
    code, title = "not_waiting", "The interaction is not waiting"


class NotReady(OmnirouteError):
    status, code, title = 503, "not_ready", "The live routing index is being rebuilt; retry shortly"


class Unavailable(OmnirouteError):
    status, code, title = 503, "unavailable", "A backing service is unavailable"


class QueueFull(OmnirouteError):
    """The queue holds ``max_waiting`` interactions and names no ``overflow_queue``: a capacity limit of the
    service, so 503 rather than 429, which would blame one client's request rate."""

    status, code, title = 503, "queue_full", "The queue is full"
