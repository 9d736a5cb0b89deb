-- Customers' contact preferences and proactive campaigns.
--
-- customer_preferences: the channel a customer wants to be contacted on, their IANA time zone and their
-- language (BCP 47), set by an admin or a supervisor; a missing time zone is derived from the customer's
-- phone number where that is unambiguous (router/service/preferences.py), never stored.
CREATE TABLE customer_preferences (
    customer_id uuid PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    preferred_channel text,
    timezone text,
    language text,
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- campaigns: one proactive message to a list of customers, in one routing domain. `spec` keeps the
-- message, the channel choice, the fallbacks, the quiet hours and the reply queue as they were posted.
CREATE TABLE campaigns (
    id text PRIMARY KEY,
    namespace text NOT NULL,
    purpose text NOT NULL,
    spec jsonb NOT NULL,
    rate_per_second double precision NOT NULL CHECK (rate_per_second > 0),
    start_at timestamptz,
    status text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'running', 'paused', 'cancelled', 'completed')),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz
);

CREATE INDEX campaigns_running ON campaigns (namespace) WHERE status = 'running';

-- campaign_recipients: one row per (campaign, customer), so no customer gets a campaign twice. A worker
-- claims a due row (status queued or deferred_quiet_hours, next_at passed) with FOR UPDATE SKIP LOCKED and,
-- in the same transaction, records what it decided: the message it created (status sending, with the
-- message and its interaction), or why not (skipped_no_consent, opted_out, deferred_quiet_hours with the
-- next_at the quiet hours end). `sending` becomes `sent` once the channel's adapter took the message; a
-- row left in `sending` by a process that died is closed as `failed` (at most once: docs/campaigns.md).
CREATE TABLE campaign_recipients (
    campaign_id text NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    position integer NOT NULL,
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'replied', 'skipped_no_consent',
                          'deferred_quiet_hours', 'opted_out')),
    channel text,
    next_at timestamptz NOT NULL DEFAULT now(),
    claimed_by text,
    claimed_at timestamptz,
    interaction_id uuid,
    message_id uuid,
    detail text,
    deferred_until timestamptz,
    sent_at timestamptz,
    replied_at timestamptz,
    reply_interaction_id uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, customer_id)
);

CREATE INDEX campaign_recipients_due ON campaign_recipients (campaign_id, next_at, position)
    WHERE status IN ('queued', 'deferred_quiet_hours');
CREATE INDEX campaign_recipients_message ON campaign_recipients (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX campaign_recipients_customer ON campaign_recipients (customer_id, sent_at)
    WHERE sent_at IS NOT NULL;
