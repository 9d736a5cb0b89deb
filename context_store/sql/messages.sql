-- name: message_insert
-- $1 id, $2 interaction_id, $3 conversation_id, $4 channel, $5 direction, $6 body, $7 agent_id,
-- $8 external_id, $9 status, $10 attachments jsonb
INSERT INTO messages (id, interaction_id, conversation_id, channel, direction, body, agent_id, external_id,
                      status, attachments)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (channel, external_id) WHERE external_id IS NOT NULL DO NOTHING
RETURNING id, interaction_id, direction, body, agent_id, external_id, status, attachments, created_at;

-- name: message_insert_held
-- An agent's reply, stored only while that agent holds the interaction (assigned or in wrap-up). The
-- interaction's row is share-locked, so a transfer or completion running at the same moment either ends
-- before (and nothing is stored) or waits until the message is in. No row: not held, or a retry of a
-- provider id already stored on the channel.
-- $1 id, $2 interaction_id, $3 agent_id, $4 body, $5 external_id, $6 attachments jsonb, $7 namespace (agent
-- ids are the domain's)
WITH held AS (
    SELECT id, conversation_id, channel FROM interactions
    WHERE namespace = $7 AND id = $2 AND agent_id = $3 AND status IN ('assigned', 'wrapup')
    FOR SHARE
)
INSERT INTO messages (id, interaction_id, conversation_id, channel, direction, body, agent_id, external_id,
                      status, attachments)
SELECT $1, held.id, held.conversation_id, held.channel, 'outbound', $4, $3, $5, 'pending', $6 FROM held
ON CONFLICT (channel, external_id) WHERE external_id IS NOT NULL DO NOTHING
RETURNING id, interaction_id, direction, body, agent_id, external_id, status, attachments, created_at;

-- name: message_get
-- $1 id
SELECT id, interaction_id, direction, body, agent_id, external_id, status, attachments, created_at
FROM messages WHERE id = $1;

-- name: message_get_by_external
-- $1 channel, $2 external_id
SELECT id, interaction_id, direction, body, agent_id, external_id, status, attachments, created_at
FROM messages WHERE channel = $1 AND external_id = $2;

-- name: message_set_status
-- Delivery progress of an outbound message. A status never moves back: the in-flight states (pending,
-- retrying, queued) never overwrite sent < delivered < read, and failed is final.
-- `queued` is the router's hand-over to the adapter: handed_at records the first one.
-- $1 id, $2 status, $3 detail, $4 external_id (nullable: keep)
UPDATE messages SET status = $2, status_detail = $3, external_id = COALESCE($4, external_id),
    attempts = attempts + CASE WHEN $2 IN ('retrying', 'failed') THEN 1 ELSE 0 END,
    handed_at = COALESCE(handed_at, CASE WHEN $2 = 'queued' THEN now() END)
WHERE id = $1
  AND (CASE $2 WHEN 'failed' THEN 9 WHEN 'read' THEN 5 WHEN 'delivered' THEN 4 WHEN 'sent' THEN 3 ELSE 0 END) >=
      (CASE status WHEN 'failed' THEN 10 WHEN 'read' THEN 5 WHEN 'delivered' THEN 4 WHEN 'sent' THEN 3 ELSE 0 END)
RETURNING id, interaction_id, status, agent_id;

-- name: message_status_by_external
-- A provider receipt. Statuses only move forward (sent < delivered < read); failed always wins.
-- $1 external_id, $2 status, $3 detail
UPDATE messages SET status = $2, status_detail = $3
WHERE external_id = $1 AND direction = 'outbound'
  AND (CASE $2 WHEN 'failed' THEN 9 WHEN 'read' THEN 4 WHEN 'delivered' THEN 3 WHEN 'sent' THEN 2 ELSE 1 END) >
      (CASE status WHEN 'failed' THEN 9 WHEN 'read' THEN 4 WHEN 'delivered' THEN 3 WHEN 'sent' THEN 2 ELSE 1 END)
RETURNING id, interaction_id, status, agent_id;

-- name: message_external_known
-- Whether any outbound message carries this provider id. $1 external_id
SELECT EXISTS (SELECT 1 FROM messages WHERE external_id = $1 AND direction = 'outbound');

-- name: early_receipt_park
-- A receipt for a provider id not known yet, kept until the id is recorded. $1 external_id, $2 status,
-- $3 detail
INSERT INTO early_receipts (external_id, status, detail) VALUES ($1, $2, $3)
ON CONFLICT (external_id, status) DO NOTHING;

-- name: early_receipts_take
-- The receipts waiting for this provider id, oldest first, removed. $1 external_id
DELETE FROM early_receipts WHERE external_id = $1 RETURNING status, detail, received_at;

-- name: messages_pending
-- Outbound messages of this domain's interactions not yet handed to an adapter (for redelivery after a
-- restart: each domain delivers through its own adapters). A `retrying` message already handed over is
-- the adapter's retry with its provider, not the router's. Campaign messages are the campaign worker's:
-- it hands each over once (docs/campaigns.md). $1 namespace
SELECT m.id FROM messages m JOIN interactions i ON i.id = m.interaction_id
WHERE i.namespace = $1 AND m.direction = 'outbound' AND m.status IN ('pending', 'retrying')
  AND m.handed_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.message_id = m.id)
ORDER BY m.created_at LIMIT 500;

-- name: conversation_external_ids
-- Provider ids of a conversation's messages, oldest first (e-mail References). $1 conversation_id
SELECT external_id, direction FROM messages WHERE conversation_id = $1 AND external_id IS NOT NULL
ORDER BY created_at;

-- name: note_insert
-- $1 id, $2 customer_id, $3 interaction_id, $4 agent_id, $5 body
INSERT INTO notes (id, customer_id, interaction_id, agent_id, body) VALUES ($1, $2, $3, $4, $5)
RETURNING id, interaction_id, agent_id, body, created_at;

-- name: message_channel
-- The channel a message goes by: its interaction's, or another (a survey texted after a call).
-- $1 id
SELECT channel FROM messages WHERE id = $1;
