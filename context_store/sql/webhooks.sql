-- name: webhook_insert
-- $1 url, $2 events, $3 secret, $4 description, $5 namespace
INSERT INTO webhooks (url, events, secret, description, namespace) VALUES ($1, $2, $3, $4, $5)
RETURNING id, url, events, description, created_at;

-- name: webhooks_all
-- Every webhook of the domain, oldest first; never the secret.
-- $1 namespace
SELECT id, url, events, description, created_at FROM webhooks WHERE namespace = $1 ORDER BY created_at, id;

-- name: webhook_get
-- $1 id, $2 namespace
SELECT id, url, events, description, created_at FROM webhooks WHERE id = $1 AND namespace = $2;

-- name: webhook_delete
-- Deletes the webhook and (by cascade) its deliveries; no row: unknown id (in this domain).
-- $1 id, $2 namespace
DELETE FROM webhooks WHERE id = $1 AND namespace = $2 RETURNING id;

-- name: webhook_subscriptions
-- What the fan-out matches each event of the domain's stream against.
-- $1 namespace
SELECT id, events FROM webhooks WHERE namespace = $1 ORDER BY id;

-- name: webhook_cursor_init
-- The stream's cursor starts at the stream's end when the first process starts (an existing one stays).
-- $1 stream, $2 last_id
INSERT INTO webhook_cursors (stream, last_id) VALUES ($1, $2) ON CONFLICT (stream) DO NOTHING;

-- name: webhook_cursor_lock
-- The stream's cursor, locked for the rest of the transaction; no row while another process holds it.
-- $1 stream
SELECT last_id FROM webhook_cursors WHERE stream = $1 FOR UPDATE SKIP LOCKED;

-- name: webhook_cursor_set
-- $1 stream, $2 last_id
UPDATE webhook_cursors SET last_id = $2, updated_at = now() WHERE stream = $1;

-- name: webhook_deliveries_enqueue
-- One delivery per (webhook, event); an event already queued for a webhook is not queued again.
-- $1 webhook_ids, $2 event_ids, $3 event_ms, $4 event_seqs, $5 types, $6 order_keys, $7 bodies,
-- $8 retry_for_seconds
INSERT INTO webhook_deliveries
    (webhook_id, event_id, event_ms, event_seq, type, order_key, body, retry_until)
SELECT w, e, m, s, t, k, b, now() + make_interval(secs => $8::float8)
FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[])
    AS d (w, e, m, s, t, k, b)
ORDER BY m, s, w
ON CONFLICT (webhook_id, event_id) DO NOTHING;

-- name: webhook_deliveries_claim
-- Leases up to $1 due deliveries for $2 seconds: each the oldest pending one of its webhook and ordering
-- key (a later event of an interaction waits for the earlier one), skipping rows another process is
-- claiming at the same moment. Counts the attempt.
-- $1 limit, $2 lease_seconds
WITH picked AS (
    SELECT d.seq FROM webhook_deliveries d
    WHERE d.status = 'pending' AND d.next_attempt_at <= now()
      AND (d.leased_until IS NULL OR d.leased_until < now())
      AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries e
          WHERE e.webhook_id = d.webhook_id AND e.order_key = d.order_key
            AND e.status = 'pending' AND e.seq < d.seq
      )
    ORDER BY d.seq
    LIMIT $1
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries d
SET leased_until = now() + make_interval(secs => $2::float8), attempts = d.attempts + 1
FROM picked, webhooks w
WHERE d.seq = picked.seq AND w.id = d.webhook_id
RETURNING d.seq, d.webhook_id, d.generation, d.event_id, d.type, d.body, d.attempts, w.url, w.secret;

-- name: webhook_delivery_done
-- The receiver answered 2xx. A delivery replayed meanwhile (another generation) is left pending.
-- $1 seq, $2 generation, $3 last_status
UPDATE webhook_deliveries
SET status = 'delivered', delivered_at = now(), leased_until = NULL, last_status = $3, last_error = NULL
WHERE seq = $1 AND generation = $2;

-- name: webhook_delivery_retry
-- The attempt failed: try again in $3 seconds, or give up when that is past the delivery's retry window.
-- $1 seq, $2 generation, $3 delay_seconds, $4 last_status, $5 last_error
UPDATE webhook_deliveries
SET next_attempt_at = now() + make_interval(secs => $3::float8), leased_until = NULL,
    last_status = $4, last_error = $5,
    status = CASE WHEN now() + make_interval(secs => $3::float8) > retry_until THEN 'failed' ELSE 'pending' END
WHERE seq = $1 AND generation = $2
RETURNING status;

-- name: webhook_deliveries_list
-- A webhook's deliveries in event order, after an event ($2, $3: its milliseconds and sequence), of one
-- status or any ($4 NULL).
-- $1 webhook_id, $2 after_ms, $3 after_seq, $4 status, $5 limit
SELECT event_id, type, status, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at
FROM webhook_deliveries
WHERE webhook_id = $1 AND (event_ms, event_seq) > ($2, $3) AND ($4::text IS NULL OR status = $4)
ORDER BY event_ms, event_seq
LIMIT $5;

-- name: webhook_deliveries_replay
-- Queues again every delivery of the webhook after an event, whatever became of it; an attempt in
-- flight now cannot mark it done (the generation moves on).
-- $1 webhook_id, $2 after_ms, $3 after_seq, $4 retry_for_seconds
WITH replayed AS (
    UPDATE webhook_deliveries
    SET status = 'pending', attempts = 0, generation = generation + 1, next_attempt_at = now(),
        leased_until = NULL, retry_until = now() + make_interval(secs => $4::float8), delivered_at = NULL
    WHERE webhook_id = $1 AND (event_ms, event_seq) > ($2, $3)
    RETURNING seq
)
SELECT count(*)::int8 FROM replayed;

-- name: webhook_deliveries_prune
-- Forgets up to $2 deliveries that are over (delivered or failed) and older than $1 seconds; how many.
-- $1 keep_seconds, $2 limit
WITH old AS (
    SELECT seq FROM webhook_deliveries
    WHERE status <> 'pending' AND created_at < now() - make_interval(secs => $1::float8)
    ORDER BY seq LIMIT $2
), gone AS (
    DELETE FROM webhook_deliveries d USING old WHERE d.seq = old.seq RETURNING d.seq
)
SELECT count(*)::int8 FROM gone;
