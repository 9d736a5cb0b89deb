-- name: decision_insert
-- One routing decision, recorded once per event of the live index (a second recording is ignored).
-- $1 namespace, $2 event_id, $3 interaction_id, $4 kind, $5 agent_id, $6 detail jsonb, $7 at
INSERT INTO routing_decisions (namespace, event_id, interaction_id, kind, agent_id, detail, at)
SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM interactions WHERE id = $3 AND namespace = $1)
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
