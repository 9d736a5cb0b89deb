-- Merges of two customers, and their undoing. A merge moves everything of the other customer (identities,
-- conversations, interactions, notes, journey events, possible matches) to the customer kept, and records
-- who merged, when, why, what matched, and the ids of every row it moved: an unmerge moves exactly those
-- rows back. The other customer's row stays, with its profile as it was, marked merged_into.
ALTER TABLE customers ADD COLUMN merged_into uuid REFERENCES customers (id) ON DELETE SET NULL;

CREATE TABLE customer_merges (
    id                 uuid PRIMARY KEY,
    customer_id        uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    other_customer_id  uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    reason             text NOT NULL,
    matched            text[] NOT NULL DEFAULT '{}',
    merged_by          text NOT NULL,
    merged_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- {"identities": [[kind, value]…], "conversations": [id…], "interactions": [id…], "notes": [id…],
    --  "journey_events": [id…], "possible_matches_removed": [row…], "possible_matches_added": [row…]}
    moved              jsonb NOT NULL,
    unmerged_by        text,
    unmerged_at        timestamptz,
    CHECK (customer_id <> other_customer_id)
);
CREATE INDEX customer_merges_customer ON customer_merges (customer_id, merged_at);
CREATE INDEX customer_merges_other ON customer_merges (other_customer_id, merged_at);
