-- name: lock_key
-- Serialize work on one resolution key or external id for the rest of the transaction.
-- $1 key text
SELECT pg_advisory_xact_lock(hashtextextended($1, 0));

-- name: lock_keys
-- lock_key for each key, in the order given, in one round trip (a caller that locks several keys always
-- gives them in one order, so two such transactions never wait on each other in a cycle).
-- $1 keys text[]
SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM unnest($1::text[]) AS k;

-- name: identities_lookup
-- $1 kinds text[], $2 values text[] (pairwise)
SELECT i.kind, i.value, i.customer_id, c.created_at
FROM identities i JOIN customers c ON c.id = i.customer_id
WHERE (i.kind, i.value) IN (SELECT * FROM unnest($1::text[], $2::text[]))
ORDER BY c.created_at, c.id;

-- name: customer_insert
-- $1 id uuid, $2 name, $3 email, $4 phone, $5 anonymous boolean
INSERT INTO customers (id, name, email, phone, anonymous) VALUES ($1, $2, $3, $4, $5);

-- name: customer_insert_with_identities
-- A new customer and its identities in one statement (the identity rows' foreign key is checked at the
-- statement's end, once the customer is in). $1 id uuid, $2 name, $3 email, $4 phone, $5 anonymous boolean,
-- $6 identity kinds text[], $7 identity values text[] (pairwise)
WITH customer AS (
    INSERT INTO customers (id, name, email, phone, anonymous) VALUES ($1, $2, $3, $4, $5) RETURNING id
)
INSERT INTO identities (kind, value, customer_id)
SELECT k.kind, k.value, customer.id FROM customer, unnest($6::text[], $7::text[]) AS k(kind, value)
ON CONFLICT DO NOTHING;

-- name: customer_fill_profile
-- Fill profile fields that are still empty. $1 id, $2 name, $3 email, $4 phone
UPDATE customers SET
    name = COALESCE(name, $2), email = COALESCE(email, $3), phone = COALESCE(phone, $4),
    updated_at = now()
WHERE id = $1 AND ((name IS NULL AND $2::text IS NOT NULL) OR (email IS NULL AND $3::text IS NOT NULL)
                   OR (phone IS NULL AND $4::text IS NOT NULL));

-- name: identity_insert
-- $1 kind, $2 value, $3 customer_id
INSERT INTO identities (kind, value, customer_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING;

-- name: customer_get
-- $1 id
SELECT id, name, email, phone, anonymous, created_at FROM customers WHERE id = $1;

-- name: possible_match_insert
-- $1 customer_id, $2 candidate_id, $3 matched (the kind of key that pointed at the candidate)
INSERT INTO possible_matches (customer_id, candidate_id, matched) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING;

-- name: possible_matches_of_customer
-- Candidates of one customer, oldest first, with what matched. $1 customer_id
SELECT p.candidate_id AS customer_id, c.name, array_agg(p.matched ORDER BY p.matched) AS matched
FROM possible_matches p JOIN customers c ON c.id = p.candidate_id
WHERE p.customer_id = $1
GROUP BY p.candidate_id, c.name
ORDER BY min(p.created_at), p.candidate_id;

-- name: journey_event_insert
-- No row when the customer does not exist or was erased.
-- $1 id, $2 customer_id, $3 interaction_id (nullable), $4 type, $5 data jsonb, $6 at (nullable: now)
INSERT INTO journey_events (id, customer_id, interaction_id, type, data, at)
SELECT $1, c.id, $3, $4, $5, COALESCE($6, clock_timestamp())
FROM customers c WHERE c.id = $2 AND c.erased_at IS NULL
RETURNING id, type, data, interaction_id, at;

-- name: journey_event_insert_capped
-- An event at the current time, under the customer's journey lock, and the customer's oldest events
-- beyond the cap dropped, in one call (journey_add_capped, migration 0020). No row when the customer does
-- not exist or was erased (nothing is dropped then).
-- $1 id, $2 customer_id, $3 interaction_id (nullable), $4 type, $5 data jsonb, $6 cap
SELECT ev_id AS id, ev_type AS type, ev_data AS data, ev_interaction AS interaction_id, ev_at AS at
FROM journey_add_capped($1, $2, $3, $4, $5, $6);

-- name: journey_trim_locked
-- The customer's oldest journey events beyond the cap dropped, under the journey lock, in one call
-- (journey_trim_locked, migration 0020); how many. $1 customer_id, $2 cap
SELECT journey_trim_locked($1, $2);

-- name: context_record
-- The whole context record of one customer as JSON text (one round trip; an offer splices it into its
-- frame as it is); no row when there is no such customer. Its merges are those the customer took part in
-- (kept or merged away), oldest first; its collisions are the customer's held interactions (assigned or
-- in wrap-up) when two agents or more hold them. $1 customer_id (NULL: the customer of
-- interaction $4), $2 max interactions, $3 max journey events, $4 interaction id (nullable)
WITH c AS (
    SELECT id, name, email, phone, anonymous, created_at, merged_into FROM customers
    WHERE id = COALESCE($1::uuid, (SELECT customer_id FROM interactions WHERE id = $4::uuid))
)
SELECT json_build_object(
    'customer', to_json(c),
    'identities', COALESCE((SELECT json_agg(i ORDER BY i.created_at) FROM
        (SELECT kind, value, created_at FROM identities WHERE customer_id = c.id) i), '[]'),
    'interactions', COALESCE((SELECT json_agg(x ORDER BY x.created_at DESC) FROM (
        SELECT it.id, it.customer_id, it.conversation_id, it.parent_id, it.channel, it.external_id,
               it.queue_id AS queue, it.status, it.priority, it.attributes, it.subject, it.agent_id,
               it.disposition, it.summary, it.end_reason, it.created_at,
               to_timestamp(it.venq_ms / 1000.0) AS enqueued_at, it.assigned_at, it.ended_at,
               it.from_kind, it.from_value,
               COALESCE((SELECT json_agg(m ORDER BY m.created_at) FROM (
                   SELECT id, interaction_id, direction, body, agent_id, external_id, status, attachments,
                          created_at
                   FROM messages WHERE interaction_id = it.id ORDER BY created_at DESC LIMIT 500) m), '[]')
                   AS messages,
               COALESCE((SELECT json_agg(n ORDER BY n.created_at) FROM (
                   SELECT id, interaction_id, agent_id, body, created_at
                   FROM notes WHERE interaction_id = it.id) n), '[]') AS notes,
               COALESCE((SELECT json_agg(r ORDER BY r.created_at, r.id) FROM (
                   SELECT id, form_id, score, critical_failed, created_at
                   FROM quality_reviews WHERE interaction_id = it.id) r), '[]') AS reviews,
               (SELECT json_build_object('kind', s.kind, 'score', s.score, 'comment', s.comment,
                                         'answered_at', s.answered_at)
                FROM surveys s WHERE s.interaction_id = it.id) AS survey
        FROM interactions it WHERE it.customer_id = c.id ORDER BY it.created_at DESC LIMIT $2) x), '[]'),
    'events', COALESCE((SELECT json_agg(e ORDER BY e.at DESC) FROM (
        SELECT id, type, data, interaction_id, at FROM journey_events
        WHERE customer_id = c.id ORDER BY at DESC LIMIT $3) e), '[]'),
    'possible_matches', COALESCE((SELECT json_agg(json_build_object(
            'customer_id', pm.customer_id, 'name', pm.name, 'matched', pm.matched)
            ORDER BY pm.first_at, pm.customer_id) FROM (
        SELECT p.candidate_id AS customer_id, k.name, array_agg(p.matched ORDER BY p.matched) AS matched,
               min(p.created_at) AS first_at
        FROM possible_matches p JOIN customers k ON k.id = p.candidate_id
        WHERE p.customer_id = c.id GROUP BY p.candidate_id, k.name) pm), '[]'),
    'merges', COALESCE((SELECT json_agg(mg ORDER BY mg.merged_at, mg.id) FROM (
        SELECT id, customer_id, other_customer_id, reason, matched, merged_by, merged_at, unmerged_by,
               unmerged_at
        FROM customer_merges WHERE customer_id = c.id OR other_customer_id = c.id) mg), '[]'),
    'collisions', COALESCE((SELECT json_agg(json_build_object(
            'interaction_id', h.id, 'agent_id', h.agent_id, 'channel', h.channel)
            ORDER BY h.assigned_at, h.id)
        FROM interactions h
        WHERE h.customer_id = c.id AND h.status IN ('assigned', 'wrapup') AND h.agent_id IS NOT NULL
          AND (SELECT count(DISTINCT o.agent_id) FROM interactions o
               WHERE o.customer_id = c.id AND o.status IN ('assigned', 'wrapup')
                 AND o.agent_id IS NOT NULL) > 1), '[]')
)::text AS record
FROM c;

-- name: customer_fill_profile_unreached
-- Fill empty profile fields of a customer no contact has reached yet (one a journey event created before
-- the visitor's first contact): what that first contact says of itself, as a new customer would get it.
-- $1 id, $2 name, $3 email, $4 phone
UPDATE customers SET
    name = COALESCE(name, $2), email = COALESCE(email, $3), phone = COALESCE(phone, $4),
    updated_at = now()
WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM interactions WHERE customer_id = $1)
  AND ((name IS NULL AND $2::text IS NOT NULL) OR (email IS NULL AND $3::text IS NOT NULL)
       OR (phone IS NULL AND $4::text IS NOT NULL));
