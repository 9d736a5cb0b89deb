-- Personal data on request, and bounded retention.
-- An erased customer keeps its row (its interactions, and the counts reports read from them, stay), but
-- no name, e-mail, phone, identities, journey, nor any message or note body: erased_at says when.
ALTER TABLE customers ADD COLUMN erased_at timestamptz;

-- A message or note whose body (and a message's attachments) was blanked by an erasure or by the
-- retention purge ([retention] message_days): when.
ALTER TABLE messages ADD COLUMN redacted_at timestamptz;
ALTER TABLE notes ADD COLUMN redacted_at timestamptz;
CREATE INDEX messages_unredacted ON messages (created_at) WHERE redacted_at IS NULL;

-- Each erasure: when, who asked (a token's role and id, never a secret), and how many rows of each kind
-- were erased. No personal data.
CREATE TABLE erasures (
    id           uuid PRIMARY KEY,
    customer_id  uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    erased_by    text NOT NULL,
    erased_at    timestamptz NOT NULL DEFAULT now(),
    counts       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX erasures_customer ON erasures (customer_id);
