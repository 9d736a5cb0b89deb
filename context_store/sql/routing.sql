-- name: decision_insert
-- One routing decision, recorded once per event of the live index (a second recording is ignored).
-- $1 namespace, $2 event_id, $3 interaction_id, $4 kind, $5 agent_id, $6 detail jsonb, $7 at
INSERT INTO routing_decisions (namespace, event_id, interaction_id, kind, agent_id, detail, at)
SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM interactions WHERE id = $3 AND namespace = $1)
ON CONFLICT (namespace, event_id) DO NOTHING;

-- name: routing_events_insert
-- A batch of the domain's event stream in one statement: its routing decisions (each as decision_insert
-- records one) and its agents' changes of presence (as agent_states_insert records them), the stream's
-- order kept in the ids of each table. An event recorded before (read again after a retry or a claim)
-- is left as it is.
-- $1 namespace; decisions: $2 event_ids, $3 interaction_ids, $4 kinds, $5 agent_ids, $6 details (JSON
-- text), $7 ats; changes: $8 agent_ids, $9 states, $10 reasons, $11 ats, $12 event_ids
WITH decided AS (
    INSERT INTO routing_decisions (namespace, event_id, interaction_id, kind, agent_id, detail, at)
    SELECT $1, d.event_id, d.interaction_id, d.kind, d.agent_id, d.detail::jsonb, d.at
    FROM unnest($2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::timestamptz[]) WITH ORDINALITY
         AS d (event_id, interaction_id, kind, agent_id, detail, at, n)
    WHERE EXISTS (SELECT 1 FROM interactions i WHERE i.id = d.interaction_id AND i.namespace = $1)
    ORDER BY d.n
    ON CONFLICT (namespace, event_id) DO NOTHING
)
INSERT INTO agent_states (namespace, agent_id, state, reason, at, event_id)
SELECT $1, c.agent_id, c.state, c.reason, c.at, c.event_id
FROM unnest($8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::text[]) WITH ORDINALITY
     AS c (agent_id, state, reason, at, event_id, n)
ORDER BY c.n
ON CONFLICT (namespace, event_id) DO NOTHING;

-- name: decisions_of_interaction
-- $1 interaction_id
SELECT id, interaction_id, kind, agent_id, detail, at FROM routing_decisions
WHERE interaction_id = $1 ORDER BY at, id;

-- name: missed_counts
-- Offers each agent of a domain let time out since a time. $1 since, $2 namespace
SELECT agent_id, count(*)::int AS missed FROM routing_decisions
WHERE namespace = $2 AND kind = 'missed' AND at >= $1 AND agent_id IS NOT NULL
GROUP BY agent_id ORDER BY agent_id;

-- name: exclusion_put
-- $1 interaction_id, $2 agent_id, $3 until
INSERT INTO offer_exclusions (interaction_id, agent_id, until) VALUES ($1, $2, $3)
ON CONFLICT (interaction_id, agent_id) DO UPDATE SET until = greatest(offer_exclusions.until, $3);

-- name: interaction_set_avoid
-- $1 id, $2 avoid_agents text[]
UPDATE interactions SET avoid_agents = $2 WHERE id = $1;

-- name: last_agent_of_customer
-- The agent of this domain who last held work of the customer, on any channel.
-- $1 customer_id, $2 namespace
SELECT agent_id FROM interactions
WHERE namespace = $2 AND customer_id = $1 AND agent_id IS NOT NULL
ORDER BY coalesce(assigned_at, created_at) DESC LIMIT 1;
