-- Callbacks that keep their place: a waiting interaction whose customer asked to be called back. The
-- interaction stays queued (its rank, its virtual enqueue time) while the customer is off the line; this
-- row says it is a callback, to which number, how many calls were tried and what became of the last one.
-- A queue's callback settings (retry_seconds, attempts, offer_after_seconds) are one JSON object.

CREATE TABLE interaction_callbacks (
    interaction_id  uuid PRIMARY KEY REFERENCES interactions (id) ON DELETE CASCADE,
    namespace       text NOT NULL,
    number          text NOT NULL,
    not_before      timestamptz,
    -- calls placed so far, and the outcome of the last one (connected | no_answer | busy | failed)
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_outcome    text,
    -- held back (not offered) until then: the requested not_before, or the next retry
    held_until      timestamptz,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE queues ADD COLUMN callback jsonb NOT NULL DEFAULT '{}';
