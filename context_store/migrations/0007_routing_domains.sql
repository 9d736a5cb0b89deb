-- Routing domains: each `[routing] namespace` is its own domain on a shared database. Its queues, agents,
-- routing rules, tokens and interactions carry the namespace, and every query on them names it, so two
-- regions can both have a queue `support` or an agent `alice`. Customers and their context records
-- (identities, conversations, journey, notes, messages) are shared by every domain of the deployment.
-- Rows from before domains belong to the default namespace; afterwards each writer names its own (no
-- default, so a write that forgets the namespace fails instead of landing in the wrong domain).

ALTER TABLE queues ADD COLUMN namespace text NOT NULL DEFAULT 'omniroute';
ALTER TABLE queues ALTER COLUMN namespace DROP DEFAULT;
ALTER TABLE queues DROP CONSTRAINT queues_pkey;
ALTER TABLE queues ADD PRIMARY KEY (namespace, id);

ALTER TABLE agents ADD COLUMN namespace text NOT NULL DEFAULT 'omniroute';
ALTER TABLE agents ALTER COLUMN namespace DROP DEFAULT;
ALTER TABLE agents DROP CONSTRAINT agents_pkey;
ALTER TABLE agents ADD PRIMARY KEY (namespace, id);

ALTER TABLE routing_rules ADD COLUMN namespace text NOT NULL DEFAULT 'omniroute';
ALTER TABLE routing_rules ALTER COLUMN namespace DROP DEFAULT;
ALTER TABLE routing_rules DROP CONSTRAINT routing_rules_pkey;
ALTER TABLE routing_rules ADD PRIMARY KEY (namespace, position);

-- The same secret may be named in two domains' files (one company's admin token): one row per domain.
ALTER TABLE api_tokens ADD COLUMN namespace text NOT NULL DEFAULT 'omniroute';
ALTER TABLE api_tokens ALTER COLUMN namespace DROP DEFAULT;
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_pkey;
ALTER TABLE api_tokens ADD PRIMARY KEY (namespace, token_hash);

-- Ids stay unique everywhere (uuids); a provider id is unique within a domain.
ALTER TABLE interactions ADD COLUMN namespace text NOT NULL DEFAULT 'omniroute';
ALTER TABLE interactions ALTER COLUMN namespace DROP DEFAULT;
ALTER TABLE interactions DROP CONSTRAINT interactions_channel_external_id_key;
ALTER TABLE interactions ADD CONSTRAINT interactions_namespace_channel_external_id_key
    UNIQUE (namespace, channel, external_id);
DROP INDEX interactions_open;
CREATE INDEX interactions_open ON interactions (namespace, status)
    WHERE status IN ('queued', 'assigned', 'wrapup');
CREATE INDEX interactions_agent ON interactions (namespace, agent_id)
    WHERE status IN ('assigned', 'wrapup');
