-- A customer first reached with a withheld caller id: no number links to them.
ALTER TABLE customers ADD COLUMN anonymous boolean NOT NULL DEFAULT false;

-- Customers that a contact's unverified facts (or a second key of the contact) pointed at, kept beside the
-- customer the contact went to and not linked: an agent sees who they might be, never their history.
CREATE TABLE possible_matches (
    customer_id   uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    candidate_id  uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    matched       text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, candidate_id, matched),
    CHECK (customer_id <> candidate_id)
);
CREATE INDEX possible_matches_candidate ON possible_matches (candidate_id);
