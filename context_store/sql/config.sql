-- name: queue_upsert
-- $1 id, $2 name, $3 skills jsonb, $4 channels text[], $5 priority, $6 offer_timeout_seconds,
-- $7 wrapup_seconds, $8 service_level_seconds
INSERT INTO queues (id, name, skills, channels, priority, offer_timeout_seconds, wrapup_seconds,
                    service_level_seconds)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (id) DO UPDATE SET name = $2, skills = $3, channels = $4, priority = $5,
    offer_timeout_seconds = $6, wrapup_seconds = $7, service_level_seconds = $8, updated_at = now();

-- name: queues_all
SELECT id, name, skills, channels, priority, offer_timeout_seconds, wrapup_seconds, service_level_seconds
FROM queues ORDER BY id;

-- name: agent_upsert
-- $1 id, $2 name, $3 skills jsonb, $4 capacity jsonb, $5 voice_blocks_other_channels, $6 address
INSERT INTO agents (id, name, skills, capacity, voice_blocks_other_channels, address)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO UPDATE SET name = $2, skills = $3, capacity = $4, voice_blocks_other_channels = $5,
    address = $6, updated_at = now();

-- name: agents_all
SELECT id, name, skills, capacity, voice_blocks_other_channels, address FROM agents ORDER BY id;

-- name: rules_replace_delete
DELETE FROM routing_rules;

-- name: rule_insert
-- $1 position, $2 when jsonb, $3 queue_id
INSERT INTO routing_rules (position, "when", queue_id) VALUES ($1, $2, $3);

-- name: rules_all
SELECT position, "when", queue_id FROM routing_rules ORDER BY position;

-- name: token_insert
-- $1 token_hash, $2 role, $3 agent_id, $4 name
INSERT INTO api_tokens (token_hash, role, agent_id, name) VALUES ($1, $2, $3, $4)
ON CONFLICT (token_hash) DO UPDATE SET role = $2, agent_id = $3, name = $4;

-- name: token_get
-- $1 token_hash
SELECT role, agent_id FROM api_tokens WHERE token_hash = $1;
