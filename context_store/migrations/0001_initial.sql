-- omniroute schema, version 1.
-- Customers and their identities, conversations, interactions with their status history,
-- messages, notes, journey events, and the routing configuration (queues, agents, rules, tokens).

CREATE TABLE customers (
    id          uuid PRIMARY KEY,
    name        text,
    email       text,
    phone       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Resolution keys: kind is normalized (phone numbers of any channel are kind 'phone', E.164).
CREATE TABLE identities (
    kind         text NOT NULL,
    value        text NOT NULL,
    customer_id  uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, value)
);
CREATE INDEX identities_customer ON identities (customer_id);

CREATE TABLE conversations (
    id           uuid PRIMARY KEY,
    customer_id  uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_customer ON conversations (customer_id);

CREATE TABLE queues (
    id                     text PRIMARY KEY,
    name                   text,
    skills                 jsonb NOT NULL DEFAULT '{}',
    channels               text[] NOT NULL,
    priority               integer NOT NULL DEFAULT 0,
    offer_timeout_seconds  double precision NOT NULL DEFAULT 20,
    wrapup_seconds         double precision NOT NULL DEFAULT 30,
    service_level_seconds  double precision NOT NULL DEFAULT 20,
    updated_at             timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agents (
    id                           text PRIMARY KEY,
    name                         text NOT NULL,
    skills                       jsonb NOT NULL DEFAULT '{}',
    capacity                     jsonb NOT NULL DEFAULT '{}',
    voice_blocks_other_channels  boolean NOT NULL DEFAULT true,
    address                      text,
    updated_at                   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE routing_rules (
    position  integer PRIMARY KEY,
    "when"    jsonb NOT NULL,
    queue_id  text NOT NULL
);

CREATE TABLE api_tokens (
    token_hash  text PRIMARY KEY,
    role        text NOT NULL CHECK (role IN ('admin', 'adapter', 'agent', 'supervisor')),
    agent_id    text,
    name        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'agent') = (agent_id IS NOT NULL))
);

CREATE TABLE interactions (
    id               uuid PRIMARY KEY,
    customer_id      uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    conversation_id  uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    parent_id        uuid REFERENCES interactions (id),
    channel          text NOT NULL,
    external_id      text NOT NULL,
    from_kind        text,
    from_value       text,
    queue_id         text NOT NULL,
    status           text NOT NULL,
    priority         integer NOT NULL DEFAULT 0,
    attributes       jsonb NOT NULL DEFAULT '{}',
    subject          text,
    -- virtual enqueue time, unix milliseconds: kept through requeues and transfers
    venq_ms          bigint NOT NULL,
    agent_id         text,
    disposition      text,
    summary          text,
    end_reason       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    assigned_at      timestamptz,
    wrapup_until     timestamptz,
    ended_at         timestamptz,
    UNIQUE (channel, external_id)
);
CREATE INDEX interactions_customer ON interactions (customer_id, created_at DESC);
CREATE INDEX interactions_conversation ON interactions (conversation_id);
CREATE INDEX interactions_open ON interactions (status) WHERE status IN ('queued', 'assigned', 'wrapup');

CREATE TABLE interaction_history (
    id              bigserial PRIMARY KEY,
    interaction_id  uuid NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    status          text NOT NULL,
    agent_id        text,
    detail          jsonb NOT NULL DEFAULT '{}',
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX interaction_history_interaction ON interaction_history (interaction_id, id);

CREATE TABLE messages (
    id               uuid PRIMARY KEY,
    interaction_id   uuid NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    conversation_id  uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    channel          text NOT NULL,
    direction        text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    body             text NOT NULL,
    agent_id         text,
    external_id      text,
    status           text,
    status_detail    text,
    attachments      jsonb NOT NULL DEFAULT '[]',
    attempts         integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX messages_interaction ON messages (interaction_id, created_at);
CREATE UNIQUE INDEX messages_external ON messages (channel, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX messages_pending ON messages (status) WHERE status IN ('pending', 'retrying');

CREATE TABLE notes (
    id              uuid PRIMARY KEY,
    customer_id     uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    interaction_id  uuid REFERENCES interactions (id) ON DELETE CASCADE,
    agent_id        text,
    body            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX notes_customer ON notes (customer_id);

CREATE TABLE journey_events (
    id              uuid PRIMARY KEY,
    customer_id     uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    interaction_id  uuid REFERENCES interactions (id) ON DELETE CASCADE,
    type            text NOT NULL,
    data            jsonb NOT NULL DEFAULT '{}',
    at              timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX journey_events_customer ON journey_events (customer_id, at DESC);
