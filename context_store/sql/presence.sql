-- name: agent_state_insert
-- One change of an agent's presence; a change already recorded (by another router process reading the
-- same event) is left as it is.
-- $1 agent_id, $2 state, $3 reason, $4 at, $5 event_id
INSERT INTO agent_states (agent_id, state, reason, at, event_id) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (event_id) DO NOTHING;

-- name: agent_state_totals
-- Seconds spent in each state and reason between $2 and $3: the state in force at $2 (the last change at
-- or before it) counts from $2, each change holds until the next one, and the last one until $3.
-- Time before the agent's first recorded change is not counted.
-- $1 agent_id, $2 from, $3 to
WITH changes AS (
    (SELECT id, state, reason, at FROM agent_states
     WHERE agent_id = $1 AND at <= $2 ORDER BY at DESC, id DESC LIMIT 1)
    UNION ALL
    (SELECT id, state, reason, at FROM agent_states WHERE agent_id = $1 AND at > $2 AND at < $3)
), spans AS (
    SELECT state, reason, greatest(at, $2) AS start_at,
           coalesce(lead(at) OVER (ORDER BY at, id), $3) AS end_at
    FROM changes
)
SELECT state, reason, sum(extract(epoch FROM end_at - start_at))::float8 AS seconds
FROM spans GROUP BY state, reason ORDER BY state, reason;

-- name: agent_state_changes
-- The changes of an agent's presence between $2 and $3, oldest first, at most $4.
-- $1 agent_id, $2 from, $3 to, $4 limit
SELECT state, reason, at FROM agent_states
WHERE agent_id = $1 AND at >= $2 AND at < $3 ORDER BY at, id LIMIT $4;
