-- Webhooks: subscriptions of other systems to the event stream, and the outbox of their deliveries.
-- A router process copies each stream event into webhook_deliveries (one row per subscribed webhook)
-- and moves the stream cursor of webhook_cursors in the same transaction, so an event is queued
-- exactly once however many processes run and whenever one of them stops. Deliveries are claimed
-- with FOR UPDATE SKIP LOCKED and a lease; only the oldest pending delivery of each ordering key
-- (an interaction, an agent) of a webhook can be claimed, so each interaction's events arrive in order.
-- A webhook belongs to one routing domain (`[routing] namespace`): it gets that domain's events only, and
-- only that domain's admin tokens see it.
CREATE TABLE webhooks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    namespace text NOT NULL,
    url text NOT NULL,
    events text[] NOT NULL,
    secret text NOT NULL,
    description text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhooks_namespace ON webhooks (namespace, created_at);

CREATE TABLE webhook_cursors (
    stream text PRIMARY KEY,
    last_id text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
    seq bigserial PRIMARY KEY,
    webhook_id uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id text NOT NULL,
    event_ms bigint NOT NULL,
    event_seq bigint NOT NULL,
    type text NOT NULL,
    order_key text NOT NULL,
    body text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    generation integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    retry_until timestamptz NOT NULL,
    leased_until timestamptz,
    last_status integer,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    UNIQUE (webhook_id, event_id)
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_key ON webhook_deliveries (webhook_id, order_key, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (webhook_id, event_ms, event_seq);

-- The consent ledger: every change of a customer's consent to be contacted on a channel for a purpose,
-- appended with who made it, from where and when (no query updates or deletes a row). A customer's
-- consent on a channel for a purpose is the latest row of that triple.
CREATE TABLE consent_events (
    id bigserial PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    channel text NOT NULL,
    purpose text NOT NULL,
    status text NOT NULL CHECK (status IN ('opted_in', 'opted_out')),
    source text NOT NULL,
    evidence jsonb,
    actor text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX consent_events_current ON consent_events (customer_id, channel, purpose, id DESC);
