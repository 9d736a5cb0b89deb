-- name: interaction_by_external
-- $1 channel, $2 external_id, $3 namespace
SELECT id FROM interactions WHERE namespace = $3 AND channel = $1 AND external_id = $2;

-- name: conversation_by_refs
-- The conversation holding any of these provider message ids (e-mail threading).
-- $1 external ids text[]
SELECT conversation_id FROM messages WHERE external_id = ANY($1::text[]) ORDER BY created_at DESC LIMIT 1;

-- name: arrival_lookup
-- What an arriving contact's ingest reads, under its locks, in one round trip: the locks are taken first,
-- in the order given, then the interaction of this provider id in the domain, the message of this provider
-- message id (any domain), and the customers of its linking and claimed keys as [kind, value,
-- customer_id] triples (NULL: none known) are read (arrival_locked_lookup, migration 0021).
-- $1 namespace, $2 channel, $3 external_id, $4 message external id (nullable), $5 kinds text[],
-- $6 values text[] (pairwise), $7 lock keys text[]
SELECT existing, message_id, message_interaction, owners
FROM arrival_locked_lookup($7::text[], $1, $2, $3, $4, $5::text[], $6::text[]);

-- name: open_interaction_for
-- The customer's open (waiting or assigned) interaction on a channel, newest first; optionally in one
-- conversation; in this domain only. $1 customer_id, $2 channel, $3 conversation_id (nullable), $4 namespace
SELECT id FROM interactions
WHERE namespace = $4 AND customer_id = $1 AND channel = $2 AND status IN ('queued', 'assigned')
  AND ($3::uuid IS NULL OR conversation_id = $3)
ORDER BY created_at DESC LIMIT 1;

-- name: conversation_get
-- $1 id
SELECT id, customer_id FROM conversations WHERE id = $1;

-- name: interaction_insert
-- $1 id, $2 customer_id, $3 conversation_id, $4 parent_id, $5 channel, $6 external_id, $7 from_kind,
-- $8 from_value, $9 queue_id, $10 priority, $11 attributes, $12 subject, $13 venq_ms, $14 namespace
INSERT INTO interactions (namespace, id, customer_id, conversation_id, parent_id, channel, external_id,
                          from_kind, from_value, queue_id, status, priority, attributes, subject, venq_ms)
VALUES ($14, $1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', $10, $11, $12, $13)
RETURNING id, customer_id, conversation_id, parent_id, channel, external_id, from_kind, from_value,
          queue_id AS queue, status, priority, attributes, subject, agent_id, disposition, summary, end_reason,
          created_at, to_timestamp(venq_ms / 1000.0) AS enqueued_at, venq_ms, assigned_at, wrapup_until,
          ended_at;

-- name: interaction_create
-- A new interaction with its conversation (when new), its first status and its journey event: one
-- statement, one round trip (foreign keys are checked at its end, when every row is there).
-- $1 id, $2 customer_id, $3 conversation_id, $4 conversation is new (bool), $5 channel, $6 external_id,
-- $7 from_kind, $8 from_value, $9 queue_id, $10 priority, $11 attributes, $12 subject, $13 venq_ms,
-- $14 journey event id, $15 journey event data, $16 history detail, $17 namespace
WITH conv AS (
    INSERT INTO conversations (id, customer_id) SELECT $3, $2 WHERE $4::boolean
),
it AS (
    INSERT INTO interactions (namespace, id, customer_id, conversation_id, channel, external_id, from_kind,
                              from_value, queue_id, status, priority, attributes, subject, venq_ms)
    VALUES ($17, $1, $2, $3, $5, $6, $7, $8, $9, 'queued', $10, $11, $12, $13)
    RETURNING id, customer_id, conversation_id, parent_id, channel, external_id, from_kind, from_value,
              queue_id AS queue, status, priority, attributes, subject, agent_id, disposition, summary, end_reason,
              created_at, to_timestamp(venq_ms / 1000.0) AS enqueued_at, venq_ms, assigned_at, wrapup_until,
              ended_at
),
h AS (
    INSERT INTO interaction_history (interaction_id, status, detail) SELECT id, 'queued', $16 FROM it
),
j AS (
    INSERT INTO journey_events (id, customer_id, interaction_id, type, data)
    SELECT $14, customer_id, id, 'interaction.created', $15 FROM it
)
SELECT * FROM it;

-- name: history_insert
-- $1 interaction_id, $2 status, $3 agent_id, $4 detail jsonb
INSERT INTO interaction_history (interaction_id, status, agent_id, detail) VALUES ($1, $2, $3, $4);

-- name: interaction_get
-- $1 id, $2 namespace
SELECT id, customer_id, conversation_id, parent_id, channel, external_id, from_kind, from_value,
       queue_id AS queue, status, priority, attributes, subject, agent_id, disposition, summary, end_reason,
       created_at, to_timestamp(venq_ms / 1000.0) AS enqueued_at, venq_ms, assigned_at, wrapup_until, ended_at
FROM interactions WHERE namespace = $2 AND id = $1;

-- name: interaction_messages
-- $1 interaction_id
SELECT id, interaction_id, direction, body, agent_id, external_id, status, attachments, created_at
FROM messages WHERE interaction_id = $1 ORDER BY created_at;

-- name: interaction_notes
-- $1 interaction_id
SELECT id, interaction_id, agent_id, body, created_at FROM notes WHERE interaction_id = $1 ORDER BY created_at;

-- name: interaction_assign
-- $1 id, $2 agent_id, $3 namespace
UPDATE interactions SET status = 'assigned', agent_id = $2, assigned_at = COALESCE(assigned_at, now())
WHERE namespace = $3 AND id = $1 AND status IN ('queued', 'assigned') RETURNING id;

-- name: interaction_assign_recorded
-- Assigned to the agent and its history row written, in one statement (one round trip on the accept's
-- path); the interaction as it is now (interaction_get's columns), no row when it is no longer waiting or
-- assigned (the customer left; no history row then). With $5 false, the target's copy of a warm transfer
-- is left alone too (no row): its accept closes the sender's interaction in the same transaction.
-- $1 id, $2 agent_id, $3 namespace, $4 history detail jsonb, $5 a warm transfer's copy too
WITH assigned AS (
    UPDATE interactions SET status = 'assigned', agent_id = $2, assigned_at = COALESCE(assigned_at, now())
    WHERE namespace = $3 AND id = $1 AND status IN ('queued', 'assigned')
      AND ($5 OR parent_id IS NULL OR attributes->>'transfer_mode' IS DISTINCT FROM 'warm')
    RETURNING *
), history AS (
    INSERT INTO interaction_history (interaction_id, status, agent_id, detail)
    SELECT id, 'assigned', $2, $4 FROM assigned
)
SELECT id, customer_id, conversation_id, parent_id, channel, external_id, from_kind, from_value,
       queue_id AS queue, status, priority, attributes, subject, agent_id, disposition, summary, end_reason,
       created_at, to_timestamp(venq_ms / 1000.0) AS enqueued_at, venq_ms, assigned_at, wrapup_until, ended_at
FROM assigned;

-- name: interaction_finish
-- The agent's completion in one call (interaction_finish_recorded, migration 0020): into wrap-up until $6,
-- or (no wrap-up, $6 NULL) completed at once, as interaction_wrapup then interaction_close would leave it
-- (an earlier disposition or summary is kept when given NULL), with its history row ('wrapup' or
-- 'completed', detail {"disposition": $4}) and the customer's `interaction.completed` journey event.
-- Returns the new status; NULL, writing nothing, unless it was assigned or in wrap-up.
-- $1 id, $2 namespace, $3 agent_id, $4 disposition, $5 summary, $6 wrapup_until (NULL: none),
-- $7 journey event id, $8 journey event data jsonb, $9 journey cap
SELECT interaction_finish_recorded($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- name: interaction_requeue
-- Back to waiting (agent gone past its grace period). $1 id, $2 namespace
UPDATE interactions SET status = 'queued', agent_id = NULL, assigned_at = NULL
WHERE namespace = $2 AND id = $1 AND status = 'assigned' RETURNING id;

-- name: interaction_move_queue
-- An open interaction the live index moved to another queue (an overflow, a bot's move): the record
-- follows, once; a move reported late (the record already left that queue) changes nothing.
-- $1 id, $2 namespace, $3 the queue it left, $4 the queue it went to
UPDATE interactions SET queue_id = $4
WHERE namespace = $2 AND id = $1 AND queue_id = $3 AND status IN ('queued', 'assigned', 'wrapup')
RETURNING id;

-- name: interaction_patch_waiting
-- What a bot collected while the customer waited: attributes merged (a key given replaces), and another
-- queue when one is named; only while it waits. $1 id, $2 namespace, $3 attributes jsonb,
-- $4 queue_id (NULL: unchanged)
UPDATE interactions SET attributes = attributes || $3, queue_id = COALESCE($4, queue_id)
WHERE namespace = $2 AND id = $1 AND status = 'queued' RETURNING id;

-- name: interaction_wrapup
-- $1 id, $2 disposition, $3 summary, $4 wrapup_until, $5 namespace
UPDATE interactions SET status = 'wrapup', disposition = COALESCE($2, disposition),
    summary = COALESCE($3, summary), wrapup_until = $4, ended_at = COALESCE(ended_at, now())
WHERE namespace = $5 AND id = $1 AND status IN ('assigned', 'wrapup') RETURNING id;

-- name: interaction_close
-- Final state. $1 id, $2 status, $3 end_reason (nullable), $4 namespace
UPDATE interactions SET status = $2, end_reason = COALESCE($3, end_reason), ended_at = COALESCE(ended_at, now()),
    wrapup_until = NULL, closed_at = now()
WHERE namespace = $4 AND id = $1 AND status IN ('queued', 'assigned', 'wrapup') RETURNING id, status;

-- name: interaction_customer_ended
-- The customer left: abandoned while waiting, ended while with an agent (the agent completes it). A
-- waiting callback (interaction_callbacks) is neither: the customer hung up to be called back.
-- $1 id, $2 reason, $3 namespace
UPDATE interactions SET
    status = CASE WHEN status = 'queued' THEN 'abandoned' ELSE status END,
    closed_at = CASE WHEN status = 'queued' THEN now() ELSE closed_at END,
    end_reason = COALESCE(end_reason, $2), ended_at = COALESCE(ended_at, now())
WHERE namespace = $3 AND id = $1 AND status IN ('queued', 'assigned', 'wrapup')
  AND NOT (status = 'queued' AND EXISTS (SELECT 1 FROM interaction_callbacks c WHERE c.interaction_id = $1))
RETURNING id, status;

-- name: interactions_open
-- Everything of this domain not ended: what its live index is rebuilt and repaired from. $1 namespace
SELECT i.id, i.queue_id, i.channel, i.status, i.priority, i.venq_ms, i.agent_id, i.customer_id,
       (extract(epoch FROM i.created_at) * 1000)::float8 AS created_ms,
       extract(epoch FROM i.wrapup_until)::float8 AS wrapup_until,
       (SELECT extract(epoch FROM max(h.at)) * 1000 FROM interaction_history h
        WHERE h.interaction_id = i.id)::float8 AS changed_ms,
       i.avoid_agents,
       (SELECT coalesce(jsonb_object_agg(e.agent_id, (extract(epoch FROM e.until) * 1000)::float8), '{}')
        FROM offer_exclusions e WHERE e.interaction_id = i.id AND e.until > now()) AS exclusions
FROM interactions i WHERE i.namespace = $1 AND i.status IN ('queued', 'assigned', 'wrapup');

-- name: interaction_statuses
-- $1 ids uuid[], $2 namespace
SELECT id, status FROM interactions WHERE namespace = $2 AND id = ANY($1::uuid[]);

-- name: interactions_of_agent
-- $1 agent_id, $2 namespace
SELECT id FROM interactions WHERE namespace = $2 AND agent_id = $1 AND status IN ('assigned', 'wrapup') ORDER BY assigned_at;

-- name: live_interaction_in_conversation
-- The newest interaction of a conversation that is not closed, in this domain. $1 conversation_id,
-- $2 namespace
SELECT id FROM interactions WHERE namespace = $2 AND conversation_id = $1 AND status IN ('queued', 'assigned', 'wrapup')
ORDER BY created_at DESC LIMIT 1;

-- name: agent_serves_customer
-- Does the agent of this domain hold (assigned or in wrap-up) work of this customer? $1 agent_id,
-- $2 customer_id, $3 namespace
SELECT EXISTS (SELECT 1 FROM interactions WHERE namespace = $3 AND agent_id = $1 AND customer_id = $2
               AND status IN ('assigned', 'wrapup'));

-- name: interaction_set_subject
-- $1 id, $2 subject, $3 namespace
UPDATE interactions SET subject = $2 WHERE namespace = $3 AND id = $1;

-- name: identities_of_customer
-- Newest last, so a dict keeps the latest of each kind. $1 customer_id
SELECT kind, value FROM identities WHERE customer_id = $1 ORDER BY created_at;

-- name: interaction_customers
-- $1 ids uuid[], $2 namespace
SELECT id, customer_id FROM interactions WHERE namespace = $2 AND id = ANY($1::uuid[]);

-- name: queue_day_stats
-- Per-queue counts of this domain since $1 (start of the day). $1 since timestamptz, $2 namespace
SELECT queue_id,
       count(*) FILTER (WHERE assigned_at IS NOT NULL) AS answered,
       count(*) FILTER (WHERE assigned_at IS NOT NULL AND
                        extract(epoch FROM assigned_at) * 1000 - venq_ms
                        <= (SELECT service_level_seconds * 1000 FROM queues q
                            WHERE q.namespace = $2 AND q.id = queue_id)) AS answered_in_sl,
       count(*) FILTER (WHERE status = 'abandoned') AS abandoned
FROM interactions WHERE namespace = $2 AND created_at >= $1 GROUP BY queue_id;

-- name: queue_day_metrics
-- Per queue of the domain, the interactions that arrived since $1 (the start of the day): arrived,
-- answered (accepted by an agent), abandoned (the customer left while waiting), and the average speed of
-- answer (arrival to acceptance, seconds) of the answered ones. $1 since timestamptz, $2 namespace
SELECT queue_id,
       count(*) AS arrived,
       count(*) FILTER (WHERE assigned_at IS NOT NULL) AS answered,
       count(*) FILTER (WHERE status = 'abandoned') AS abandoned,
       (avg(extract(epoch FROM assigned_at - created_at)) FILTER (WHERE assigned_at IS NOT NULL))::float8
           AS asa_seconds
FROM interactions WHERE namespace = $2 AND created_at >= $1 GROUP BY queue_id;
