-- Tokens can be listed, revoked and made to expire: each gets an id (the secret is never shown again),
-- an optional expiry, a revocation time, and where it came from (the API, or the configuration file:
-- a file token no longer in the file is revoked at the next start).
ALTER TABLE api_tokens ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_id_key UNIQUE (id);
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
ALTER TABLE api_tokens ADD COLUMN revoked_at timestamptz;
ALTER TABLE api_tokens ADD COLUMN source text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'file'));
