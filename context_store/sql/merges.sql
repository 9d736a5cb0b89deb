-- name: customer_identity_keys
-- The customer's resolution keys, sorted (the order they are locked in). $1 customer_id
SELECT kind, value FROM identities WHERE customer_id = $1 ORDER BY kind, value;

-- name: customers_lock
-- Lock customers' rows for a merge or an unmerge, in id order, so two merges of the same customers
-- never deadlock; FOR NO KEY UPDATE lets a contact's interaction that references one of them be inserted
-- meanwhile (that contact holds its key's lock, which the merge takes first). $1 ids uuid[]
SELECT id, merged_into FROM customers WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE;

-- name: customer_merge_move
-- Move every row of customer $2 to customer $1. Answers what moved (the ids an unmerge moves back; the
-- possible matches removed and the ones put in their place, naming $1 for $2) and the kinds of key by
-- which either customer had named the other as a possible match. $1 kept customer_id, $2 other customer_id
WITH ids AS (
    UPDATE identities SET customer_id = $1::uuid WHERE customer_id = $2::uuid RETURNING kind, value
), convs AS (
    UPDATE conversations SET customer_id = $1 WHERE customer_id = $2 RETURNING id
), its AS (
    UPDATE interactions SET customer_id = $1 WHERE customer_id = $2 RETURNING id
), ns AS (
    UPDATE notes SET customer_id = $1 WHERE customer_id = $2 RETURNING id
), evs AS (
    UPDATE journey_events SET customer_id = $1 WHERE customer_id = $2 RETURNING id
), svs AS (
    -- survey answers and requests follow their interaction (an unmerge moves them back with it)
    UPDATE surveys SET customer_id = $1 WHERE customer_id = $2 RETURNING interaction_id
), sreqs AS (
    UPDATE survey_requests SET customer_id = $1 WHERE customer_id = $2 RETURNING interaction_id
), pm_removed AS (
    DELETE FROM possible_matches WHERE customer_id = $2 OR candidate_id = $2
    RETURNING customer_id, candidate_id, matched, created_at
), pm_added AS (
    INSERT INTO possible_matches (customer_id, candidate_id, matched, created_at)
    SELECT x.customer_id, x.candidate_id, x.matched, min(x.created_at) FROM (
        SELECT CASE WHEN r.customer_id = $2 THEN $1 ELSE r.customer_id END AS customer_id,
               CASE WHEN r.candidate_id = $2 THEN $1 ELSE r.candidate_id END AS candidate_id,
               r.matched, r.created_at
        FROM pm_removed r) x
    WHERE x.customer_id <> x.candidate_id
    GROUP BY x.customer_id, x.candidate_id, x.matched
    ON CONFLICT DO NOTHING
    RETURNING customer_id, candidate_id, matched
)
SELECT jsonb_build_object(
    'identities', COALESCE((SELECT jsonb_agg(jsonb_build_array(kind, value) ORDER BY kind, value) FROM ids),
                           '[]'),
    'conversations', COALESCE((SELECT jsonb_agg(id ORDER BY id) FROM convs), '[]'),
    'interactions', COALESCE((SELECT jsonb_agg(id ORDER BY id) FROM its), '[]'),
    'notes', COALESCE((SELECT jsonb_agg(id ORDER BY id) FROM ns), '[]'),
    'journey_events', COALESCE((SELECT jsonb_agg(id ORDER BY id) FROM evs), '[]'),
    'possible_matches_removed', COALESCE((SELECT jsonb_agg(to_jsonb(r)) FROM pm_removed r), '[]'),
    'possible_matches_added', COALESCE((SELECT jsonb_agg(to_jsonb(a)) FROM pm_added a), '[]')
) AS moved,
ARRAY(SELECT DISTINCT r.matched FROM pm_removed r
      WHERE (r.customer_id = $1 AND r.candidate_id = $2) OR (r.customer_id = $2 AND r.candidate_id = $1)
      ORDER BY 1) AS matched;

-- name: customer_unmerge_move
-- Move back to customer $2 the rows a merge moved from it to customer $1, with what grew from them since
-- (interactions of its conversations, notes and journey events of its interactions), and restore the
-- possible matches as they were. $1 kept customer_id, $2 other customer_id, $3 moved jsonb (the merge's)
WITH m AS (
    SELECT $3::jsonb AS moved
), back AS (
    SELECT it.id FROM interactions it, m
    WHERE it.customer_id = $1::uuid AND (
        it.id IN (SELECT jsonb_array_elements_text(m.moved -> 'interactions')::uuid)
        OR it.conversation_id IN (SELECT jsonb_array_elements_text(m.moved -> 'conversations')::uuid))
), ids AS (
    UPDATE identities SET customer_id = $2::uuid
    WHERE customer_id = $1 AND (kind, value) IN (
        SELECT e ->> 0, e ->> 1 FROM m, jsonb_array_elements(m.moved -> 'identities') e)
    RETURNING kind
), convs AS (
    UPDATE conversations SET customer_id = $2
    WHERE customer_id = $1 AND id IN (
        SELECT jsonb_array_elements_text(m.moved -> 'conversations')::uuid FROM m)
    RETURNING id
), its AS (
    UPDATE interactions SET customer_id = $2 WHERE id IN (SELECT id FROM back) RETURNING id
), ns AS (
    UPDATE notes SET customer_id = $2
    WHERE customer_id = $1 AND (
        id IN (SELECT jsonb_array_elements_text(m.moved -> 'notes')::uuid FROM m)
        OR interaction_id IN (SELECT id FROM back))
    RETURNING id
), evs AS (
    UPDATE journey_events SET customer_id = $2
    WHERE customer_id = $1 AND (
        id IN (SELECT jsonb_array_elements_text(m.moved -> 'journey_events')::uuid FROM m)
        OR interaction_id IN (SELECT id FROM back))
    RETURNING id
), svs AS (
    UPDATE surveys SET customer_id = $2 WHERE customer_id = $1 AND interaction_id IN (SELECT id FROM back)
    RETURNING interaction_id
), sreqs AS (
    UPDATE survey_requests SET customer_id = $2
    WHERE customer_id = $1 AND interaction_id IN (SELECT id FROM back)
    RETURNING interaction_id
), pm_gone AS (
    DELETE FROM possible_matches p
    USING m, jsonb_array_elements(m.moved -> 'possible_matches_added') a
    WHERE p.customer_id = (a ->> 'customer_id')::uuid AND p.candidate_id = (a ->> 'candidate_id')::uuid
      AND p.matched = a ->> 'matched'
    RETURNING p.customer_id
), pm_back AS (
    INSERT INTO possible_matches (customer_id, candidate_id, matched, created_at)
    SELECT (r ->> 'customer_id')::uuid, (r ->> 'candidate_id')::uuid, r ->> 'matched',
           (r ->> 'created_at')::timestamptz
    FROM m, jsonb_array_elements(m.moved -> 'possible_matches_removed') r
    WHERE EXISTS (SELECT 1 FROM customers k WHERE k.id = (r ->> 'customer_id')::uuid)
      AND EXISTS (SELECT 1 FROM customers k WHERE k.id = (r ->> 'candidate_id')::uuid)
    ON CONFLICT DO NOTHING
    RETURNING customer_id
)
SELECT jsonb_build_object(
    'identities', (SELECT count(*) FROM ids), 'conversations', (SELECT count(*) FROM convs),
    'interactions', (SELECT count(*) FROM its), 'notes', (SELECT count(*) FROM ns),
    'journey_events', (SELECT count(*) FROM evs), 'possible_matches_removed', (SELECT count(*) FROM pm_gone),
    'possible_matches_restored', (SELECT count(*) FROM pm_back)
) AS moved_back;

-- name: customer_set_merged_into
-- $1 customer_id, $2 merged_into (NULL: no longer merged away)
UPDATE customers SET merged_into = $2, updated_at = now() WHERE id = $1;

-- name: customer_merge_insert
-- $1 id, $2 customer_id (kept), $3 other_customer_id, $4 reason, $5 matched text[], $6 merged_by,
-- $7 moved jsonb
INSERT INTO customer_merges (id, customer_id, other_customer_id, reason, matched, merged_by, moved)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id, customer_id, other_customer_id, reason, matched, merged_by, merged_at, unmerged_by, unmerged_at;

-- name: customer_merge_lock
-- A merge with what it moved, locked for its unmerge. $1 merge id
SELECT customer_id, other_customer_id, unmerged_at, moved FROM customer_merges WHERE id = $1 FOR UPDATE;

-- name: customer_merge_undone
-- $1 merge id, $2 unmerged_by
UPDATE customer_merges SET unmerged_by = $2, unmerged_at = clock_timestamp() WHERE id = $1
RETURNING id, customer_id, other_customer_id, reason, matched, merged_by, merged_at, unmerged_by, unmerged_at;

-- name: customer_merges_of
-- The merges a customer took part in (kept or merged away), oldest first. $1 customer_id
SELECT id, customer_id, other_customer_id, reason, matched, merged_by, merged_at, unmerged_by, unmerged_at
FROM customer_merges WHERE customer_id = $1 OR other_customer_id = $1
ORDER BY merged_at, id;

-- name: customers_held_work
-- The interactions of these customers that an agent of one routing domain holds now (assigned or in
-- wrap-up): their desktops are shown the new context after a merge or an unmerge.
-- $1 customer ids uuid[], $2 namespace
SELECT id, agent_id FROM interactions
WHERE customer_id = ANY($1::uuid[]) AND namespace = $2 AND status IN ('assigned', 'wrapup')
  AND agent_id IS NOT NULL
ORDER BY id;
