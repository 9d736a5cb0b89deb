-- name: customer_lock
-- The customer's row, locked for the rest of the transaction (an erasure holds it). $1 customer_id
SELECT id, erased_at FROM customers WHERE id = $1 FOR UPDATE;

-- name: customer_live_work
-- How many of the customer's interactions are still live (waiting, offered, held or in wrap-up).
-- $1 customer_id
SELECT count(*) FROM interactions WHERE customer_id = $1 AND status IN ('queued', 'assigned', 'wrapup');

-- name: customer_interaction_ids
-- The customer's interactions in every routing domain, with the domain's namespace. $1 customer_id
SELECT id, namespace FROM interactions WHERE customer_id = $1 ORDER BY created_at;

-- name: customer_erase_messages
-- Blank the bodies, attachments and provider details of every message of the customer's interactions.
-- $1 customer_id
WITH done AS (
    UPDATE messages m SET body = '', attachments = '[]', status_detail = NULL,
        redacted_at = COALESCE(m.redacted_at, now())
    FROM interactions i
    WHERE i.customer_id = $1 AND m.interaction_id = i.id
      AND (m.body <> '' OR m.attachments <> '[]'::jsonb OR m.status_detail IS NOT NULL)
    RETURNING m.id
)
SELECT count(*) FROM done;

-- name: customer_erase_notes
-- Blank the bodies of the customer's notes. $1 customer_id
WITH done AS (
    UPDATE notes SET body = '', redacted_at = COALESCE(redacted_at, now())
    WHERE customer_id = $1 AND body <> ''
    RETURNING id
)
SELECT count(*) FROM done;

-- name: customer_erase_interactions
-- Drop what the interactions say about the person (the sender's address, collected attributes, subject,
-- summary, and the number a callback called); channel, queue, status, agent, disposition and times stay for
-- the reports. $1 customer_id
WITH callbacks AS (
    UPDATE interaction_callbacks c SET number = '' FROM interactions i
    WHERE i.customer_id = $1 AND c.interaction_id = i.id AND c.number <> ''
),
done AS (
    UPDATE interactions SET from_value = NULL, attributes = '{}', subject = NULL, summary = NULL
    WHERE customer_id = $1
    RETURNING id
)
SELECT count(*) FROM done;

-- name: customer_erase_survey_comments
-- Blank what the customer wrote with their survey answers; the kind and score stay for the reports.
-- $1 customer_id
WITH done AS (
    UPDATE surveys SET comment = NULL WHERE customer_id = $1 AND comment IS NOT NULL RETURNING interaction_id
)
SELECT count(*) FROM done;

-- name: customer_erase_journey
-- $1 customer_id
WITH done AS (DELETE FROM journey_events WHERE customer_id = $1 RETURNING id)
SELECT count(*) FROM done;

-- name: customer_erase_identities
-- $1 customer_id
WITH done AS (DELETE FROM identities WHERE customer_id = $1 RETURNING kind)
SELECT count(*) FROM done;

-- name: customer_erase_possible_matches
-- Both ways: whom the customer's contacts pointed at, and who pointed at the customer. $1 customer_id
WITH done AS (
    DELETE FROM possible_matches WHERE customer_id = $1 OR candidate_id = $1 RETURNING customer_id
)
SELECT count(*) FROM done;

-- name: customer_erase_merged
-- The customers merged into this one (at any depth) are the same person: their kept profiles go too.
-- $1 customer_id
WITH RECURSIVE merged AS (
    SELECT id FROM customers WHERE merged_into = $1
    UNION SELECT c.id FROM customers c JOIN merged m ON c.merged_into = m.id
), done AS (
    UPDATE customers SET name = NULL, email = NULL, phone = NULL, erased_at = COALESCE(erased_at, now()),
        updated_at = now()
    WHERE id IN (SELECT id FROM merged)
    RETURNING id
)
SELECT count(*) FROM done;

-- name: customer_erase_merge_records
-- The merge records of this customer keep who, when and the ids moved, not the reason typed nor the
-- identity keys moved (an unmerge after the erasure has no identities to give back). $1 customer_id
WITH done AS (
    UPDATE customer_merges SET reason = '', moved = jsonb_set(moved, '{identities}', '[]'::jsonb)
    WHERE customer_id = $1 OR other_customer_id = $1
    RETURNING id
)
SELECT count(*) FROM done;

-- name: customer_erase_profile
-- $1 customer_id
UPDATE customers SET name = NULL, email = NULL, phone = NULL, erased_at = now(), updated_at = now()
WHERE id = $1
RETURNING erased_at;

-- name: erasure_insert
-- $1 id, $2 customer_id, $3 erased_by, $4 counts jsonb
INSERT INTO erasures (id, customer_id, erased_by, counts) VALUES ($1, $2, $3, $4)
RETURNING id, customer_id, erased_by, erased_at, counts;

-- name: erasure_first
-- The customer's first erasure (a repeated erasure answers it). $1 customer_id
SELECT id, customer_id, erased_by, erased_at, counts FROM erasures WHERE customer_id = $1
ORDER BY erased_at, id LIMIT 1;

-- name: customer_export
-- Everything stored about one customer, as JSON text; no row when there is no such customer. Possible
-- matches name the other customer by id only: their name is their data, not this customer's.
-- $1 customer_id
WITH c AS (
    SELECT id, name, email, phone, anonymous, created_at, updated_at, erased_at FROM customers WHERE id = $1
)
SELECT json_build_object(
    'customer', to_json(c),
    'identities', COALESCE((SELECT json_agg(i ORDER BY i.created_at) FROM
        (SELECT kind, value, created_at FROM identities WHERE customer_id = c.id) i), '[]'),
    'interactions', COALESCE((SELECT json_agg(x ORDER BY x.created_at) FROM (
        SELECT it.id, it.customer_id, it.conversation_id, it.parent_id, it.channel, it.external_id,
               it.queue_id AS queue, it.status, it.priority, it.attributes, it.subject, it.agent_id,
               it.disposition, it.summary, it.end_reason, it.created_at,
               to_timestamp(it.venq_ms / 1000.0) AS enqueued_at, it.assigned_at, it.ended_at,
               it.from_kind, it.from_value
        FROM interactions it WHERE it.customer_id = c.id) x), '[]'),
    'history', COALESCE((SELECT json_agg(h ORDER BY h.at, h.id) FROM (
        SELECT ih.id, ih.interaction_id, ih.status, ih.agent_id, ih.detail, ih.at
        FROM interaction_history ih JOIN interactions it ON it.id = ih.interaction_id
        WHERE it.customer_id = c.id) h), '[]'),
    'messages', COALESCE((SELECT json_agg(m ORDER BY m.created_at, m.id) FROM (
        SELECT m.id, m.interaction_id, m.direction, m.body, m.agent_id, m.external_id, m.status,
               m.attachments, m.created_at, m.redacted_at
        FROM messages m JOIN interactions it ON it.id = m.interaction_id
        WHERE it.customer_id = c.id) m), '[]'),
    'notes', COALESCE((SELECT json_agg(n ORDER BY n.created_at, n.id) FROM (
        SELECT id, interaction_id, agent_id, body, created_at, redacted_at
        FROM notes WHERE customer_id = c.id) n), '[]'),
    'journey', COALESCE((SELECT json_agg(e ORDER BY e.at, e.id) FROM (
        SELECT id, type, data, interaction_id, at FROM journey_events WHERE customer_id = c.id) e), '[]'),
    'possible_matches', COALESCE((SELECT json_agg(p ORDER BY p.created_at, p.customer_id, p.matched) FROM (
        SELECT candidate_id AS customer_id, matched, created_at
        FROM possible_matches WHERE customer_id = c.id) p), '[]'),
    'merges', COALESCE((SELECT json_agg(g ORDER BY g.merged_at, g.id) FROM (
        SELECT id, customer_id, other_customer_id, reason, matched, merged_by, merged_at, unmerged_by,
               unmerged_at
        FROM customer_merges WHERE customer_id = c.id OR other_customer_id = c.id) g), '[]'),
    'surveys', COALESCE((SELECT json_agg(v ORDER BY v.answered_at, v.interaction_id) FROM (
        SELECT interaction_id, kind, score, comment, answered_at FROM surveys WHERE customer_id = c.id) v), '[]'),
    'survey_requests', COALESCE((SELECT json_agg(v ORDER BY v.sent_at, v.interaction_id) FROM (
        SELECT interaction_id, kind, channel, sent_at, closed_at
        FROM survey_requests WHERE customer_id = c.id) v), '[]'),
    'consent', COALESCE((SELECT json_agg(k ORDER BY k.id) FROM (
        SELECT id, channel, purpose, status, source, evidence, actor, created_at
        FROM consent_events WHERE customer_id = c.id) k), '[]'),
    'preferences', (SELECT to_json(p) FROM (
        SELECT preferred_channel, timezone, language, updated_by, updated_at
        FROM customer_preferences WHERE customer_id = c.id) p),
    'campaigns', COALESCE((SELECT json_agg(r ORDER BY r.campaign_id) FROM (
        SELECT campaign_id, status, channel, detail, deferred_until, sent_at, replied_at, interaction_id,
               reply_interaction_id
        FROM campaign_recipients WHERE customer_id = c.id) r), '[]'),
    'callbacks', COALESCE((SELECT json_agg(b ORDER BY b.requested_at, b.interaction_id) FROM (
        SELECT cb.interaction_id, cb.number, cb.not_before, cb.attempts, cb.last_outcome, cb.requested_at
        FROM interaction_callbacks cb JOIN interactions it ON it.id = cb.interaction_id
        WHERE it.customer_id = c.id) b), '[]'),
    'erasures', COALESCE((SELECT json_agg(r ORDER BY r.erased_at, r.id) FROM (
        SELECT id, erased_by, erased_at, counts FROM erasures WHERE customer_id = c.id) r), '[]')
)::text AS record
FROM c;

-- name: messages_purge_before
-- Retention: blank the bodies and attachments of up to $2 messages created before $1 (skipping those
-- another process is purging, and outbound ones not yet handed to their adapter); how many.
-- $1 before timestamptz, $2 batch size
WITH batch AS (
    SELECT id FROM messages
    WHERE created_at < $1 AND redacted_at IS NULL AND COALESCE(status, '') NOT IN ('pending', 'retrying')
    ORDER BY created_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), done AS (
    UPDATE messages m SET body = '', attachments = '[]', status_detail = NULL, redacted_at = now()
    FROM batch WHERE m.id = batch.id
    RETURNING m.id
)
SELECT count(*) FROM done;
