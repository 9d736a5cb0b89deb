-- Callbacks that keep their place (migration 0015).

-- name: callback_upsert
-- Mark a waiting interaction of the domain as a callback (or change its number and not_before); nothing
-- when it is not waiting. $1 interaction_id, $2 number, $3 not_before (nullable), $4 namespace
INSERT INTO interaction_callbacks (interaction_id, namespace, number, not_before, held_until)
SELECT id, namespace, $2, $3, CASE WHEN $3 > now() THEN $3 END FROM interactions
WHERE namespace = $4 AND id = $1 AND status = 'queued'
ON CONFLICT (interaction_id) DO UPDATE SET number = $2, not_before = $3,
    held_until = CASE WHEN $3 > now() THEN $3 END, updated_at = now()
RETURNING interaction_id, number, not_before, attempts, last_outcome, held_until, requested_at;

-- name: callback_get
-- $1 interaction_id, $2 namespace
SELECT interaction_id, number, not_before, attempts, last_outcome, held_until, requested_at
FROM interaction_callbacks WHERE namespace = $2 AND interaction_id = $1;

-- name: callback_attempt
-- One call of a callback ended with an outcome; held_until is the retry time (null: not held).
-- $1 interaction_id, $2 outcome, $3 held_until (nullable), $4 namespace
UPDATE interaction_callbacks SET attempts = attempts + 1, last_outcome = $2, held_until = $3, updated_at = now()
WHERE namespace = $4 AND interaction_id = $1
RETURNING interaction_id, number, not_before, attempts, last_outcome, held_until, requested_at;

-- name: callbacks_open
-- Callbacks of the domain's interactions not ended, for the rebuild of the live index. $1 namespace
SELECT c.interaction_id, c.number, c.not_before, c.attempts, c.last_outcome, c.held_until, c.requested_at
FROM interaction_callbacks c JOIN interactions i ON i.id = c.interaction_id
WHERE c.namespace = $1 AND i.status IN ('queued', 'assigned', 'wrapup');

-- name: callback_requeue
-- A callback call that did not reach the customer: the agent's hold ends and the interaction waits again
-- (its venq_ms, so its rank, unchanged). $1 id, $2 namespace
UPDATE interactions SET status = 'queued', agent_id = NULL, assigned_at = NULL
WHERE namespace = $2 AND id = $1 AND status = 'assigned' RETURNING id;

-- name: callback_close
-- A callback whose last call attempt did not reach the customer ends: status 'ended' with the reason
-- given, never 'abandoned', and not answered (assigned_at cleared). $1 id, $2 end_reason, $3 namespace
UPDATE interactions SET status = 'ended', end_reason = $2, assigned_at = NULL, wrapup_until = NULL,
    ended_at = now(), closed_at = now()
WHERE namespace = $3 AND id = $1 AND status = 'assigned' RETURNING id, status;
