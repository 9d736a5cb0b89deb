-- Quality programs and supervision: review forms, reviews of handled interactions, and the audit of what
-- supervisors did in an interaction. Forms belong to a routing domain (two domains may both have a form
-- `standard`); reviews and audit rows hang off an interaction (a uuid, unique everywhere) and carry its
-- domain, so every query names the domain as the interaction queries do.

CREATE TABLE quality_forms (
    namespace   text NOT NULL,
    id          text NOT NULL,
    name        text,
    questions   jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, id)
);

CREATE TABLE quality_reviews (
    id               uuid PRIMARY KEY,
    namespace        text NOT NULL,
    interaction_id   uuid NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    form_id          text NOT NULL,
    -- the form as it was scored: a later change of the form never changes a stored score
    form             jsonb NOT NULL,
    reviewer_role    text NOT NULL,
    reviewer_id      text,
    agent_id         text,
    queue_id         text NOT NULL,
    answers          jsonb NOT NULL,
    score            double precision NOT NULL CHECK (score >= 0 AND score <= 100),
    critical_failed  boolean NOT NULL,
    comment          text,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX quality_reviews_interaction ON quality_reviews (interaction_id, created_at);
CREATE INDEX quality_reviews_range ON quality_reviews (namespace, created_at);

CREATE TABLE supervisor_audit (
    id              bigserial PRIMARY KEY,
    namespace       text NOT NULL,
    interaction_id  uuid NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    action          text NOT NULL,
    actor_role      text NOT NULL,
    actor_id        text,
    detail          jsonb NOT NULL DEFAULT '{}',
    at              timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX supervisor_audit_interaction ON supervisor_audit (interaction_id, id);

-- the sample of completed work per agent and week reads completed interactions by end time
CREATE INDEX interactions_ended ON interactions (namespace, ended_at) WHERE status = 'completed';
