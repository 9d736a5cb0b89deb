-- name: consent_insert
-- $1 customer_id, $2 channel, $3 purpose, $4 status, $5 source, $6 evidence, $7 actor
INSERT INTO consent_events (customer_id, channel, purpose, status, source, evidence, actor)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id, customer_id, channel, purpose, status, source, evidence, actor, created_at;

-- name: consent_history
-- Every change of the customer's consent, oldest first, with the changes recorded on customers merged
-- into this one (an unmerge separates them again: nothing is moved).
-- $1 customer_id
WITH RECURSIVE members (id) AS (
    SELECT $1::uuid
    UNION
    SELECT c.id FROM customers c JOIN members m ON c.merged_into = m.id
)
SELECT id, customer_id, channel, purpose, status, source, evidence, actor, created_at
FROM consent_events WHERE customer_id IN (SELECT id FROM members) ORDER BY id;

-- name: consent_current
-- The customer's consent now: the latest change of each channel and purpose, on this customer or one
-- merged into it.
-- $1 customer_id
WITH RECURSIVE members (id) AS (
    SELECT $1::uuid
    UNION
    SELECT c.id FROM customers c JOIN members m ON c.merged_into = m.id
)
SELECT DISTINCT ON (channel, purpose) id, customer_id, channel, purpose, status, source, evidence, actor, created_at
FROM consent_events WHERE customer_id IN (SELECT id FROM members) ORDER BY channel, purpose, id DESC;
