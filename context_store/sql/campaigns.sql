-- name: preferences_get
-- A customer's contact preferences. $1 customer_id
SELECT customer_id, preferred_channel, timezone, language, updated_by, updated_at
FROM customer_preferences WHERE customer_id = $1;

-- name: preferences_upsert
-- Set the preferences named in $6 (the others keep their value; a named one set to null is cleared).
-- $1 customer_id, $2 preferred_channel, $3 timezone, $4 language, $5 updated_by, $6 fields text[]
INSERT INTO customer_preferences AS p (customer_id, preferred_channel, timezone, language, updated_by)
VALUES ($1,
        CASE WHEN 'preferred_channel' = ANY($6::text[]) THEN $2 END,
        CASE WHEN 'timezone' = ANY($6::text[]) THEN $3 END,
        CASE WHEN 'language' = ANY($6::text[]) THEN $4 END,
        $5)
ON CONFLICT (customer_id) DO UPDATE SET
    preferred_channel = CASE WHEN 'preferred_channel' = ANY($6::text[]) THEN $2 ELSE p.preferred_channel END,
    timezone = CASE WHEN 'timezone' = ANY($6::text[]) THEN $3 ELSE p.timezone END,
    language = CASE WHEN 'language' = ANY($6::text[]) THEN $4 ELSE p.language END,
    updated_by = $5, updated_at = now()
RETURNING customer_id, preferred_channel, timezone, language, updated_by, updated_at;

-- name: campaign_insert
-- A new campaign (draft until started); nothing when the id is taken.
-- $1 id, $2 namespace, $3 purpose, $4 spec jsonb, $5 rate_per_second, $6 start_at, $7 created_by
INSERT INTO campaigns (id, namespace, purpose, spec, rate_per_second, start_at, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO NOTHING
RETURNING id, namespace, purpose, spec, rate_per_second, start_at, status, created_by, created_at, started_at,
          finished_at;

-- name: campaign_get
-- $1 id, $2 namespace
SELECT id, namespace, purpose, spec, rate_per_second, start_at, status, created_by, created_at, started_at,
       finished_at
FROM campaigns WHERE id = $1 AND namespace = $2;

-- name: campaign_set_status
-- Move a campaign to $3 when it is in one of $4; started_at is set the first time it runs, finished_at
-- when it is cancelled or completed. $1 id, $2 namespace, $3 status, $4 from statuses text[]
UPDATE campaigns SET status = $3,
    started_at = CASE WHEN $3 = 'running' THEN COALESCE(started_at, now()) ELSE started_at END,
    finished_at = CASE WHEN $3 IN ('cancelled', 'completed') THEN now() ELSE finished_at END
WHERE id = $1 AND namespace = $2 AND status = ANY($4::text[])
RETURNING id, namespace, purpose, spec, rate_per_second, start_at, status, created_by, created_at, started_at,
          finished_at;

-- name: campaign_recipients_insert
-- The audience, in the order given (duplicates and unknown customers left out).
-- $1 campaign_id, $2 customer_ids uuid[]
INSERT INTO campaign_recipients (campaign_id, customer_id, position)
SELECT $1, a.customer_id, min(a.n)::integer
FROM unnest($2::uuid[]) WITH ORDINALITY AS a (customer_id, n)
JOIN customers c ON c.id = a.customer_id
GROUP BY a.customer_id
ON CONFLICT DO NOTHING;

-- name: campaigns_due
-- Running campaigns of this domain whose start time has come. $1 namespace
SELECT id FROM campaigns
WHERE namespace = $1 AND status = 'running' AND (start_at IS NULL OR start_at <= now())
ORDER BY created_at;

-- name: campaign_claim
-- One due recipient, locked for the caller's transaction; rows another process holds are skipped.
-- $1 campaign_id
SELECT customer_id, status FROM campaign_recipients
WHERE campaign_id = $1 AND status IN ('queued', 'deferred_quiet_hours') AND next_at <= now()
ORDER BY next_at, position
LIMIT 1
FOR UPDATE SKIP LOCKED;

-- name: campaign_recipient_decide
-- What the worker decided for a claimed recipient that gets no message now.
-- $1 campaign_id, $2 customer_id, $3 status, $4 channel, $5 detail, $6 next_at, $7 deferred_until
UPDATE campaign_recipients SET status = $3, channel = $4, detail = $5, next_at = COALESCE($6, next_at),
    deferred_until = COALESCE($7, deferred_until), updated_at = now()
WHERE campaign_id = $1 AND customer_id = $2;

-- name: campaign_recipient_sending
-- A claimed recipient's message is stored; the hand-over to the adapter comes next.
-- $1 campaign_id, $2 customer_id, $3 channel, $4 interaction_id, $5 message_id, $6 claimed_by
UPDATE campaign_recipients SET status = 'sending', channel = $3, interaction_id = $4, message_id = $5,
    claimed_by = $6, claimed_at = now(), detail = NULL, updated_at = now()
WHERE campaign_id = $1 AND customer_id = $2;

-- name: campaign_recipient_handed
-- After the hand-over: sent when the adapter took the message, failed when it did not.
-- $1 message_id, $2 status ('sent' | 'failed'), $3 detail
UPDATE campaign_recipients SET status = $2, detail = $3,
    sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END, updated_at = now()
WHERE message_id = $1 AND status = 'sending';

-- name: campaign_recipients_interrupted
-- Recipients a process left in `sending` (it died between storing the message and the hand-over): sent
-- when the message was handed over after all, otherwise failed and not sent again (at most once).
-- $1 campaign_id, $2 lease seconds
UPDATE campaign_recipients r SET
    status = CASE WHEN m.status IN ('queued', 'sent', 'delivered', 'read') THEN 'sent' ELSE 'failed' END,
    sent_at = CASE WHEN m.status IN ('queued', 'sent', 'delivered', 'read') THEN now() END,
    detail = CASE WHEN m.status IN ('queued', 'sent', 'delivered', 'read') THEN NULL
                  ELSE 'interrupted before the hand-over was recorded; not sent again' END,
    updated_at = now()
FROM messages m
WHERE r.campaign_id = $1 AND r.status = 'sending' AND m.id = r.message_id
  AND r.claimed_at < now() - make_interval(secs => $2)
RETURNING r.customer_id, r.status;

-- name: campaign_recipients_left
-- How many recipients still wait or are being sent. $1 campaign_id
SELECT count(*) FROM campaign_recipients
WHERE campaign_id = $1 AND status IN ('queued', 'deferred_quiet_hours', 'sending');

-- name: campaign_counts
-- Recipients by outcome: a sent message's delivery receipts (delivered, read, failed) show through, and
-- one being handed over counts as queued. $1 campaign_id
SELECT o.outcome, count(*) AS n FROM (
    SELECT CASE
        WHEN r.status = 'sent' AND m.status IN ('delivered', 'read', 'failed') THEN m.status
        WHEN r.status = 'sending' THEN 'queued'
        ELSE r.status END AS outcome
    FROM campaign_recipients r LEFT JOIN messages m ON m.id = r.message_id
    WHERE r.campaign_id = $1
) o GROUP BY o.outcome;

-- name: campaign_recipients_list
-- Recipients in audience order, with their outcome (as campaign_counts reads it); $2 null: all.
-- $1 campaign_id, $2 outcome, $3 limit, $4 offset
SELECT campaign_id, customer_id, position, outcome AS status, channel, detail, deferred_until, sent_at,
       replied_at, interaction_id, message_id, reply_interaction_id, message_status, updated_at
FROM (
    SELECT r.*, m.status AS message_status, CASE
        WHEN r.status = 'sent' AND m.status IN ('delivered', 'read', 'failed') THEN m.status
        WHEN r.status = 'sending' THEN 'queued'
        ELSE r.status END AS outcome
    FROM campaign_recipients r LEFT JOIN messages m ON m.id = r.message_id
    WHERE r.campaign_id = $1
) x
WHERE $2::text IS NULL OR outcome = $2
ORDER BY position
LIMIT $3 OFFSET $4;

-- name: campaign_reply_target
-- The campaign message a customer's new contact answers: the latest sent within $3 hours, of a campaign
-- of this domain with a reply queue, locked so two contacts do not both count as the reply.
-- $1 customer_id, $2 namespace, $3 hours
SELECT r.campaign_id, c.spec ->> 'reply_queue' AS reply_queue, r.interaction_id, m.body
FROM campaign_recipients r
JOIN campaigns c ON c.id = r.campaign_id
JOIN messages m ON m.id = r.message_id
WHERE r.customer_id = $1 AND c.namespace = $2 AND r.status = 'sent'
  AND r.sent_at > now() - make_interval(secs => $3 * 3600) AND c.spec ->> 'reply_queue' IS NOT NULL
ORDER BY r.sent_at DESC
LIMIT 1
FOR UPDATE OF r;

-- name: campaign_recipient_replied
-- $1 campaign_id, $2 customer_id, $3 reply_interaction_id
UPDATE campaign_recipients SET status = 'replied', replied_at = now(), reply_interaction_id = $3,
    updated_at = now()
WHERE campaign_id = $1 AND customer_id = $2 AND status = 'sent';

-- name: campaign_recipient_opted_out
-- A recipient who opts out of the campaign's purpose after the message counts as opted out.
-- $1 customer_id, $2 namespace, $3 purposes text[]
UPDATE campaign_recipients r SET status = 'opted_out', detail = 'opted out after the message',
    updated_at = now()
FROM campaigns c
WHERE c.id = r.campaign_id AND c.namespace = $2 AND r.customer_id = $1 AND r.status = 'sent'
  AND c.status IN ('running', 'paused') AND c.purpose = ANY($3::text[])
RETURNING r.campaign_id;

-- name: whatsapp_last_inbound
-- When the customer last wrote by WhatsApp (the 24-hour window for free-form messages). $1 customer_id
SELECT max(m.created_at) FROM messages m JOIN interactions i ON i.id = m.interaction_id
WHERE i.customer_id = $1 AND i.from_kind = 'whatsapp' AND m.direction = 'inbound';

-- name: customer_erase_preferences
-- An erasure drops the customer's contact preferences; how many rows (0 or 1). $1 customer_id
WITH done AS (DELETE FROM customer_preferences WHERE customer_id = $1 RETURNING 1)
SELECT count(*) FROM done;
