-- name: agent_state_insert
-- One change of an agent's presence; a change already recorded (by another router process of the domain
-- reading the same event) is left as it is.
-- $1 namespace, $2 agent_id, $3 state, $4 reason, $5 at, $6 event_id
INSERT INTO agent_states (namespace, agent_id, state, reason, at, event_id) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (namespace, event_id) DO NOTHING;

-- name: agent_states_insert
-- A batch of changes of the domain's agents in one statement (the stream's order kept in the ids); a change
-- already recorded (the same event read again after a retry or a claim) is left as it is.
-- $1 namespace, $2 agent_ids, $3 states, $4 reasons, $5 ats, $6 event_ids (arrays of one length)
INSERT INTO agent_states (namespace, agent_id, state, reason, at, event_id)
SELECT $1, c.agent_id, c.state, c.reason, c.at, c.event_id
FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[]) WITH ORDINALITY
     AS c (agent_id, state, reason, at, event_id, n)
ORDER BY c.n
ON CONFLICT (namespace, event_id) DO NOTHING;

-- name: agent_state_totals
-- Seconds spent in each state and reason between $3 and $4: the state in force at $3 (the last change at
-- or before it) counts from $3, each change holds until the next one, and the last one until $4.
-- Time before the agent's first recorded change is not counted.
-- $1 namespace, $2 agent_id, $3 from, $4 to
WITH changes AS (
    (SELECT id, state, reason, at FROM agent_states
     WHERE namespace = $1 AND agent_id = $2 AND at <= $3 ORDER BY at DESC, id DESC LIMIT 1)
    UNION ALL
    (SELECT id, state, reason, at FROM agent_states
     WHERE namespace = $1 AND agent_id = $2 AND at > $3 AND at < $4)
), spans AS (
    SELECT state, reason, greatest(at, $3) AS start_at,
           coalesce(lead(at) OVER (ORDER BY at, id), $4) AS end_at
    FROM changes
)
SELECT state, reason, sum(extract(epoch FROM end_at - start_at))::float8 AS seconds
FROM spans GROUP BY state, reason ORDER BY state, reason;

-- name: agent_state_changes
-- The changes of an agent's presence between $3 and $4, oldest first, at most $5.
-- $1 namespace, $2 agent_id, $3 from, $4 to, $5 limit
SELECT state, reason, at FROM agent_states
WHERE namespace = $1 AND agent_id = $2 AND at >= $3 AND at < $4 ORDER BY at, id LIMIT $5;
