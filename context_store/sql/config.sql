-- name: queue_upsert
-- $1 id, $2 name, $3 skills jsonb, $4 channels text[], $5 priority, $6 offer_timeout_seconds,
-- $7 wrapup_seconds, $8 service_level_seconds, $9 strategy, $10 steps jsonb, $11 reject_cooldown_seconds,
-- $12 last_agent_seconds
INSERT INTO queues (id, name, skills, channels, priority, offer_timeout_seconds, wrapup_seconds,
                    service_level_seconds, strategy, steps, reject_cooldown_seconds, last_agent_seconds)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (id) DO UPDATE SET name = $2, skills = $3, channels = $4, priority = $5,
    offer_timeout_seconds = $6, wrapup_seconds = $7, service_level_seconds = $8, strategy = $9, steps = $10,
    reject_cooldown_seconds = $11, last_agent_seconds = $12, updated_at = now();

-- name: queues_all
SELECT id, name, skills, channels, priority, offer_timeout_seconds, wrapup_seconds, service_level_seconds,
       strategy, steps, reject_cooldown_seconds, last_agent_seconds
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
-- $1 token_hash, $2 role, $3 agent_id, $4 name, $5 expires_at
INSERT INTO api_tokens (token_hash, role, agent_id, name, expires_at) VALUES ($1, $2, $3, $4, $5)
RETURNING id, role, agent_id, name, created_at, expires_at, revoked_at, source;

-- name: token_file_upsert
-- A token named in the configuration file. A revoked token stays revoked: the file does not revive it.
-- $1 token_hash, $2 role, $3 agent_id, $4 name
INSERT INTO api_tokens (token_hash, role, agent_id, name, source) VALUES ($1, $2, $3, $4, 'file')
ON CONFLICT (token_hash) DO UPDATE SET role = $2, agent_id = $3, name = $4, source = 'file'
RETURNING id, role, agent_id, name, created_at, expires_at, revoked_at, source;

-- name: tokens_file_revoke_missing
-- Revokes the file tokens whose hashes are not among $1 (the tokens the file names now).
-- $1 token_hashes
UPDATE api_tokens SET revoked_at = now()
WHERE source = 'file' AND revoked_at IS NULL AND NOT (token_hash = ANY($1::text[]))
RETURNING id, role, agent_id, name, created_at, expires_at, revoked_at, source;

-- name: token_get
-- A token that may be used: not revoked, not expired.
-- $1 token_hash
SELECT id, role, agent_id, expires_at FROM api_tokens
WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now());

-- name: tokens_all
SELECT id, role, agent_id, name, created_at, expires_at, revoked_at, source
FROM api_tokens ORDER BY created_at, id;

-- name: token_revoke
-- Revokes a token (a token already revoked keeps its first revocation time); no row: unknown id.
-- $1 id
UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1
RETURNING id, role, agent_id, name, created_at, expires_at, revoked_at, source;

-- name: tokens_not_usable
-- Of these token ids, those revoked or no longer stored (expiry is not considered).
-- $1 ids
SELECT t.id FROM unnest($1::uuid[]) AS t (id)
WHERE NOT EXISTS (SELECT 1 FROM api_tokens a WHERE a.id = t.id AND a.revoked_at IS NULL);
