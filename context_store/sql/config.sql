-- name: queue_upsert
-- $1 id, $2 name, $3 skills jsonb, $4 channels text[], $5 priority, $6 offer_timeout_seconds,
-- $7 wrapup_seconds, $8 service_level_seconds, $9 strategy, $10 steps jsonb, $11 reject_cooldown_seconds,
-- $12 last_agent_seconds, $13 namespace, $14 survey jsonb (nullable), $15 dispositions text[],
-- $16 callback jsonb (retry_seconds, attempts, offer_after_seconds), $17 wait_rules jsonb
INSERT INTO queues (namespace, id, name, skills, channels, priority, offer_timeout_seconds, wrapup_seconds,
                    service_level_seconds, strategy, steps, reject_cooldown_seconds, last_agent_seconds, survey,
                    dispositions, callback, wait_rules)
VALUES ($13, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $14, $15, $16, $17)
ON CONFLICT (namespace, id) DO UPDATE SET name = $2, skills = $3, channels = $4, priority = $5,
    offer_timeout_seconds = $6, wrapup_seconds = $7, service_level_seconds = $8, strategy = $9, steps = $10,
    reject_cooldown_seconds = $11, last_agent_seconds = $12, survey = $14, dispositions = $15,
    callback = $16, wait_rules = $17, updated_at = now();

-- name: queues_all
-- $1 namespace
SELECT id, name, skills, channels, priority, offer_timeout_seconds, wrapup_seconds, service_level_seconds,
       dispositions, strategy, steps, reject_cooldown_seconds, last_agent_seconds, survey, callback, wait_rules
FROM queues WHERE namespace = $1 ORDER BY id;

-- name: agent_upsert
-- $1 id, $2 name, $3 skills jsonb, $4 capacity jsonb, $5 voice_blocks_other_channels, $6 address,
-- $7 namespace, $8 groups text[]
INSERT INTO agents (namespace, id, name, skills, capacity, voice_blocks_other_channels, address, groups)
VALUES ($7, $1, $2, $3, $4, $5, $6, $8)
ON CONFLICT (namespace, id) DO UPDATE SET name = $2, skills = $3, capacity = $4, voice_blocks_other_channels = $5,
    address = $6, groups = $8, updated_at = now();

-- name: agents_all
-- $1 namespace
SELECT id, name, skills, capacity, voice_blocks_other_channels, address, groups FROM agents
WHERE namespace = $1 ORDER BY id;

-- name: rules_replace_lock
-- $1 namespace; held to the end of the transaction: routers starting together replace the list in turn
-- (each one's DELETE cannot see the other's uncommitted rows, so both would insert position 0)
SELECT pg_advisory_xact_lock(hashtextextended('routing_rules:' || $1, 0));

-- name: rules_replace_delete
-- $1 namespace
DELETE FROM routing_rules WHERE namespace = $1;

-- name: rule_insert
-- $1 position, $2 when jsonb, $3 queue_id, $4 namespace
INSERT INTO routing_rules (namespace, position, "when", queue_id) VALUES ($4, $1, $2, $3);

-- name: rules_all
-- $1 namespace
SELECT position, "when", queue_id FROM routing_rules WHERE namespace = $1 ORDER BY position;

-- name: token_insert
-- $1 token_hash, $2 role, $3 agent_id, $4 name, $5 expires_at, $6 namespace
INSERT INTO api_tokens (namespace, token_hash, role, agent_id, name, expires_at)
VALUES ($6, $1, $2, $3, $4, $5)
RETURNING id, role, agent_id, name, created_at, expires_at, revoked_at, source;

-- name: token_file_upsert
-- A token named in the configuration file. A revoked token stays revoked: the file does not revive it.
-- $1 token_hash, $2 role, $3 agent_id, $4 name, $5 namespace
INSERT INTO api_tokens (namespace, token_hash, role, agent_id, name, source)
VALUES ($5, $1, $2, $3, $4, 'file')
ON CONFLICT (namespace, token_hash) DO UPDATE SET role = $2, agent_id = $3, name = $4, source = 'file'
RETURNING id, role, agent_id, name, created_at, expires_at, revoked_at, source;

-- name: tokens_file_revoke_missing
-- Revokes the domain's file tokens whose hashes are not among $1 (the tokens its file names now): another
-- domain's file tokens are its own file's business.
-- $1 token_hashes, $2 namespace
UPDATE api_tokens SET revoked_at = now()
WHERE namespace = $2 AND source = 'file' AND revoked_at IS NULL AND NOT (token_hash = ANY($1::text[]))
RETURNING id, role, agent_id, name, created_at, expires_at, revoked_at, source;

-- name: token_get
-- A token that may be used: not revoked, not expired.
-- $1 token_hash, $2 namespace
SELECT id, role, agent_id, expires_at FROM api_tokens
WHERE namespace = $2 AND token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now());

-- name: tokens_all
-- $1 namespace
SELECT id, role, agent_id, name, created_at, expires_at, revoked_at, source
FROM api_tokens WHERE namespace = $1 ORDER BY created_at, id;

-- name: token_revoke
-- Revokes a token (a token already revoked keeps its first revocation time); no row: unknown id.
-- $1 id, $2 namespace
UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE namespace = $2 AND id = $1
RETURNING id, role, agent_id, name, created_at, expires_at, revoked_at, source;

-- name: tokens_not_usable
-- Of these token ids, those revoked or no longer stored (expiry is not considered).
-- $1 ids, $2 namespace
SELECT t.id FROM unnest($1::uuid[]) AS t (id)
WHERE NOT EXISTS (SELECT 1 FROM api_tokens a WHERE a.namespace = $2 AND a.id = t.id AND a.revoked_at IS NULL);
