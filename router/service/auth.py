"""Bearer tokens, one role each: admin, adapter, agent (bound to one agent id), supervisor.

Tokens are stored as SHA-256 hashes, each in the routing domain (namespace) that created it or whose
configuration file names it, and are accepted only there; the admin token from ``OMNIROUTE_ADMIN_TOKEN``
is never stored and is accepted as given by every server it is given to, whatever its domain.

Browsers cannot set headers on a websocket, so sockets also take ``?token=``; the access log never records
query strings, so the token does not reach the logs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import asyncpg
from aiohttp import web

from context_store import tokens as token_store
from router.contracts import Role
from router.errors import Forbidden, Unauthorized

CACHE_SECONDS = 10.0


@dataclass
class Principal:
    """Who a request or socket acts as: a role, and for an agent token its agent id. A stored token also
    has its id (by which it is revoked) and its expiry (seconds since the epoch), if it has one."""

    role: Role
    agent_id: str | None = None
    token_id: str | None = None
    expires_at: float | None = None

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (time.time() if now is None else now)


def _raw(token: str) -> bytes:
    """A token's bytes, whatever characters a client sent (``hmac.compare_digest`` takes ASCII text
    only; a header may carry any)."""
    return token.encode("utf-8", "surrogatepass")


def hash_token(token: str) -> str:
    return hashlib.sha256(_raw(token)).hexdigest()


def new_token() -> str:
    return "or_" + secrets.token_urlsafe(24)


class TokenCache:
    """Resolves bearer tokens: the configured admin token, this process's internal tokens (the in-process
    adapters'), and the stored tokens of this process's routing domain (cached for ``CACHE_SECONDS``).

    The cache never serves an expired token, and :meth:`forget` drops a revoked one at once (every
    process calls it on the ``token_revoked`` event). A lookup that was reading PostgreSQL while a
    revocation arrived does not cache what it read."""

    def __init__(self, pool: asyncpg.Pool, namespace: str, admin_token: str | None) -> None:
        self.pool = pool
        self.namespace = namespace
        self.admin_token = admin_token
        self._internal: dict[str, Principal] = {}
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._generation = 0

    def add_internal(self, token: str, principal: Principal) -> None:
        self._internal[token] = principal

    def forget(self, token_id: str) -> None:
        """A token was revoked: never serve it from the cache again."""
        self._generation += 1
        for key, (_, principal) in list(self._cache.items()):
            if principal is not None and principal.token_id == token_id:
                del self._cache[key]

    async def lookup(self, token: str) -> Principal | None:
        if self.admin_token and hmac.compare_digest(_raw(token), _raw(self.admin_token)):
            return Principal(Role.admin)
        internal = self._internal.get(token)
        if internal is not None:
            return internal
        key = hash_token(token)
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            principal = hit[1]
            return None if principal is not None and principal.expired() else principal
        generation = self._generation
        found = await token_store.get(self.pool, self.namespace, key)
        principal = (
            Principal(
                Role(found.role),
                found.agent_id,
                str(found.id),
                found.expires_at.timestamp() if found.expires_at else None,
            )
            if found
            else None
        )
        if generation == self._generation:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now + CACHE_SECONDS, principal)
        return None if principal is not None and principal.expired() else principal


def bearer(request: web.Request, *, allow_query: bool = False) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer " and header[7:].strip():
        return header[7:].strip()
    if allow_query:
        return request.query.get("token") or None
    return None


async def authenticate(
    request: web.Request, cache: TokenCache, *roles: Role, allow_query: bool = False
) -> Principal:
    token = bearer(request, allow_query=allow_query)
    if not token:
        raise Unauthorized("send Authorization: Bearer <token>")
    principal = await cache.lookup(token)
    if principal is None:
        raise Unauthorized("unknown token")
    if roles and principal.role not in roles and principal.role != Role.admin:
        raise Forbidden(f"this needs one of the roles: {', '.join(r.value for r in roles)}")
    return principal


TOKENS = web.AppKey("tokens", TokenCache)
