"""Sockets opened with a stored token are closed when that token is revoked or expires.

Each process keeps the sockets it holds by token id. A ``token_revoked`` event (published by the process
that revoked the token, read by every process) drops the token from the process's token cache and closes
its sockets here; a timer closes a socket when its token's expiry passes. Both close with
:data:`TOKEN_REFUSED` through the socket's outbox (after the frames already queued, and bounded like
any close), so the desktop or wallboard can tell the user to sign in again. Should an event be lost
(Redis restarted empty before a process read it), :meth:`TokenSockets.run` asks PostgreSQL every
:data:`SWEEP_SECONDS` which of the tokens with open sockets here were revoked."""

from __future__ import annotations

import asyncio
import time
import uuid
import weakref

import asyncpg
import structlog

from context_store import tokens as token_store
from router.realtime.outbox import Outbox
from router.service.auth import Principal, TokenCache

log = structlog.get_logger("router.realtime.revocation")

TOKEN_REFUSED = 4003
"""The close code of a socket whose token was revoked (reason ``token revoked``) or expired (``token
expired``)."""

SWEEP_SECONDS = 5.0
"""How often the tokens of open sockets are checked against PostgreSQL (the net under lost events)."""

_REARM_SECONDS = 3600.0  # a far expiry is checked again hourly, so timers of closed sockets do not pile up


class TokenSockets:
    """The sockets of this process opened with a stored token, by token id."""

    def __init__(self, tokens: TokenCache) -> None:
        self.tokens = tokens
        self._by_token: dict[str, weakref.WeakSet[Outbox]] = {}
        self._revoked: set[str] = set()

    def watch(self, outbox: Outbox, principal: Principal) -> None:
        """Close the socket of ``outbox`` when the token it was opened with is revoked or expires (at once if
        that has happened since the token was checked)."""
        token_id = principal.token_id
        if token_id is None:  # the configured admin token or an internal one: never revoked
            return
        if token_id in self._revoked:
            self._close(outbox, "token revoked")
            return
        self._by_token.setdefault(token_id, weakref.WeakSet()).add(outbox)
        if principal.expires_at is not None:
            self._arm(weakref.ref(outbox), principal.expires_at)

    def revoked(self, token_id: str) -> None:
        """The token was revoked (here or on another process): refuse it and close its sockets."""
        self.tokens.forget(token_id)
        first = token_id not in self._revoked
        self._revoked.add(token_id)
        sockets = [outbox for outbox in self._by_token.pop(token_id, ()) if not outbox.closing]
        for outbox in sockets:
            self._close(outbox, "token revoked")
        if first or sockets:
            log.info("token.sockets_closed", token_id=token_id, sockets_closed=len(sockets))

    async def sweep(self) -> int:
        """Close the sockets of tokens revoked without this process hearing of it; how many tokens."""
        # a set: at 10,000 agent sockets a list made this membership test quadratic (seconds of CPU per
        # sweep, stalling the process every SWEEP_SECONDS)
        open_ids = {
            tid for tid, sockets in self._by_token.items() if any(not outbox.closing for outbox in sockets)
        }
        for tid in [tid for tid in self._by_token if tid not in open_ids]:
            del self._by_token[tid]  # only closed sockets left
        if not open_ids:
            return 0
        revoked = await token_store.revoked_among(
            self.tokens.pool, self.tokens.namespace, [uuid.UUID(t) for t in sorted(open_ids)]
        )
        for token_id in revoked:
            self.revoked(str(token_id))
        return len(revoked)

    async def run(self, interval: float = SWEEP_SECONDS) -> None:
        """:meth:`sweep` every ``interval`` seconds; a round that cannot reach PostgreSQL is skipped."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("token.sweep_failed", error=type(exc).__name__)

    def _arm(self, ref: weakref.ref[Outbox], expires_at: float) -> None:
        delay = min(max(0.0, expires_at - time.time()), _REARM_SECONDS)
        asyncio.get_running_loop().call_later(delay, self._expiry_due, ref, expires_at)

    def _expiry_due(self, ref: weakref.ref[Outbox], expires_at: float) -> None:
        outbox = ref()
        if outbox is None or outbox.closing:
            return
        if time.time() < expires_at:
            self._arm(ref, expires_at)
            return
        log.info("token.expired_socket_closed")
        self._close(outbox, "token expired")

    @staticmethod
    def _close(outbox: Outbox, reason: str) -> None:
        outbox.close(TOKEN_REFUSED, reason)
