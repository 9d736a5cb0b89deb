"""Surveys: the requests sent after interactions (with the per-customer cooldown) and the answers."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from context_store.db import Conn, as_uuid, lock_key, q
from context_store.records import Survey, SurveyRequest, from_row_or_none

SCALES: dict[str, tuple[int, int]] = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
"""Each kind's scale, lowest and highest score (the table's CHECK holds the same)."""


async def answer(
    conn: Conn,
    interaction_id: uuid.UUID,
    customer_id: uuid.UUID,
    kind: str,
    score: int,
    comment: str | None,
) -> Survey | None:
    """Store the answer; None when the interaction's survey was answered already (the first answer
    stands)."""
    row = await conn.fetchrow(q("survey_insert"), interaction_id, customer_id, kind, score, comment)
    return from_row_or_none(Survey, row)


async def get(conn: Conn, interaction_id: uuid.UUID | str) -> Survey | None:
    return from_row_or_none(Survey, await conn.fetchrow(q("survey_get"), as_uuid(interaction_id)))


async def request(
    conn: asyncpg.Connection,
    interaction_id: uuid.UUID,
    customer_id: uuid.UUID,
    kind: str,
    channel: str,
    cooldown_days: int,
) -> SurveyRequest | None:
    """Record a survey sent after the interaction, unless the customer was sent one within
    ``cooldown_days``; None: do not send. Must run in a transaction: the customer's lock makes
    concurrent completions of one customer's work send at most one survey."""
    await lock_key(conn, f"survey:{customer_id}")
    row = await conn.fetchrow(
        q("survey_request_insert"), interaction_id, customer_id, kind, channel, cooldown_days
    )
    return from_row_or_none(SurveyRequest, row)


async def open_request(
    conn: Conn, namespace: str, customer_id: uuid.UUID, channel: str, since: datetime
) -> SurveyRequest | None:
    """The customer's newest open request on the channel sent since ``since`` about an interaction of the
    routing domain ``namespace`` (customers are the deployment's; a domain reads only its own surveys)."""
    row = await conn.fetchrow(q("survey_request_open"), customer_id, channel, since, namespace)
    return from_row_or_none(SurveyRequest, row)


async def close_requests(conn: Conn, customer_id: uuid.UUID) -> None:
    """The customer answered, or wrote something that is no answer: no open request reads a reply."""
    await conn.execute(q("survey_requests_close"), customer_id)
