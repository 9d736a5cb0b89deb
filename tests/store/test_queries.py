"""Every named query against the migrated schema: it prepares, its header lists exactly the ``$1..$n``
it takes, and the columns of each query that yields a record are that record's fields, with matching
types. A typo in a query, a column renamed by a migration or a record out of step fails here, not in
a request."""

from __future__ import annotations

import re
import types
import typing
import uuid
from datetime import datetime
from typing import Any

import asyncpg

from context_store import records
from context_store.db import QUERIES

RECORD_OF: dict[str, type[Any]] = {
    "interaction_get": records.Interaction,
    "interaction_create": records.Interaction,
    "interaction_insert": records.Interaction,
    "interaction_assign_recorded": records.Interaction,
    "interaction_messages": records.Message,
    "message_insert": records.Message,
    "message_insert_held": records.Message,
    "message_get": records.Message,
    "message_get_by_external": records.Message,
    "interaction_notes": records.Note,
    "note_insert": records.Note,
    "interactions_open": records.OpenInteraction,
    "interaction_close": records.Closed,
    "interaction_customer_ended": records.Closed,
    "callback_upsert": records.Callback,
    "callback_get": records.Callback,
    "callback_attempt": records.Callback,
    "callbacks_open": records.Callback,
    "callback_close": records.Closed,
    "queue_day_stats": records.QueueDayCounts,
    "queue_day_metrics": records.QueueDayMetrics,
    "message_set_status": records.MessageStatus,
    "message_status_by_external": records.MessageStatus,
    "conversation_external_ids": records.ThreadRef,
    "conversation_get": records.Conversation,
    "customer_get": records.Customer,
    "identities_of_customer": records.Identity,
    "possible_matches_of_customer": records.PossibleMatch,
    "customer_merge_insert": records.Merge,
    "customer_merge_undone": records.Merge,
    "customer_merges_of": records.Merge,
    "customers_held_work": records.HeldWork,
    "journey_event_insert": records.JourneyEvent,
    "journey_event_insert_capped": records.JourneyEvent,
    "erasure_insert": records.Erasure,
    "erasure_first": records.Erasure,
    "queues_all": records.QueueRecord,
    "agents_all": records.AgentRecord,
    "rules_all": records.RuleRecord,
    "agent_state_totals": records.StateTotal,
    "agent_state_changes": records.StateChange,
    "token_get": records.TokenRecord,
    "token_insert": records.TokenInfo,
    "token_file_upsert": records.TokenInfo,
    "tokens_file_revoke_missing": records.TokenInfo,
    "tokens_all": records.TokenInfo,
    "token_revoke": records.TokenInfo,
    "webhook_insert": records.Webhook,
    "webhooks_all": records.Webhook,
    "webhook_get": records.Webhook,
    "webhook_subscriptions": records.WebhookSubscription,
    "webhook_deliveries_claim": records.DeliveryClaim,
    "webhook_deliveries_list": records.DeliveryInfo,
    "consent_insert": records.ConsentEvent,
    "consent_history": records.ConsentEvent,
    "consent_current": records.ConsentEvent,
    "preferences_get": records.CustomerPreferences,
    "preferences_upsert": records.CustomerPreferences,
    "campaign_insert": records.CampaignRecord,
    "campaign_get": records.CampaignRecord,
    "campaign_set_status": records.CampaignRecord,
    "campaign_recipients_list": records.RecipientRecord,
    "campaign_reply_target": records.ReplyTarget,
    "quality_form_get": records.QualityForm,
    "quality_forms_all": records.QualityForm,
    "quality_review_insert": records.QualityReview,
    "quality_reviews_of_interaction": records.QualityReview,
    "quality_reviews_of_agent": records.QualityReview,
    "quality_report": records.QualityReportRow,
    "quality_sample": records.SampledInteraction,
    "audit_insert": records.AuditEntry,
    "audit_of_interaction": records.AuditEntry,
    "interactions_in_status": records.LiveRow,
    "kpi_counts": records.KpiCounts,
    "kpi_agent_busy": records.AgentBusy,
    "forecast_arrivals": records.ArrivalCount,
    "forecast_handling": records.HandlingTotals,
    "survey_insert": records.Survey,
    "survey_get": records.Survey,
    "survey_request_insert": records.SurveyRequest,
    "survey_request_open": records.SurveyRequest,
    "channel_service_level": records.ChannelServiceCounts,
}

PG_TYPES: dict[str, type[Any]] = {
    "uuid": uuid.UUID,
    "text": str,
    "int2": int,
    "int4": int,
    "int8": int,
    "float8": float,
    "bool": bool,
    "timestamptz": datetime,
    "text[]": list,
}


def _header_params(sql: str) -> set[int]:
    header = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        header.append(line)
    return {int(n) for n in re.findall(r"\$(\d+)", "\n".join(header))}


def _python_type(hint: Any) -> type[Any]:
    """``X | None`` → X; ``list[str]`` → list."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        (hint,) = [a for a in typing.get_args(hint) if a is not type(None)]
    return typing.get_origin(hint) or hint


async def test_every_query_prepares_and_lists_its_arguments(pool: asyncpg.Pool) -> None:
    assert len(QUERIES) > 40
    async with pool.acquire() as conn:
        for name, sql in QUERIES.items():
            stmt = await conn.prepare(sql)
            taken = len(stmt.get_parameters())
            assert _header_params(sql) == set(range(1, taken + 1)), (
                f"{name}: the header must list $1..${taken}"
            )


async def test_record_fields_are_the_columns_of_their_queries(pool: asyncpg.Pool) -> None:
    assert set(RECORD_OF) <= set(QUERIES)
    async with pool.acquire() as conn:
        for name, cls in RECORD_OF.items():
            attrs = (await conn.prepare(QUERIES[name])).get_attributes()
            assert tuple(a.name for a in attrs) == records.field_names(cls), name
            hints = typing.get_type_hints(cls)
            for a in attrs:
                want = _python_type(hints[a.name])
                if a.type.name in ("json", "jsonb"):
                    assert want in (dict, list), f"{name}.{a.name} is JSON, typed {want}"
                else:
                    assert PG_TYPES[a.type.name] is want, f"{name}.{a.name}: {a.type.name} typed {want}"
