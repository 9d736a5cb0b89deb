-- Routing that does not strand a customer: a strategy, widening steps, a reject cooldown and a last-agent
-- window per queue; who an interaction must never be offered to; every routing decision of an interaction
-- (the offer events' "why", misses, rejects, step changes, preference windows ending, transfers); and the
-- reject cooldowns still running, so a rebuilt live index keeps them and forgets the ended ones.
ALTER TABLE queues
    ADD COLUMN strategy text NOT NULL DEFAULT 'longest_idle'
        CHECK (strategy IN ('longest_idle', 'most_skilled', 'least_occupied')),
    ADD COLUMN steps jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN reject_cooldown_seconds double precision NOT NULL DEFAULT 30,
    ADD COLUMN last_agent_seconds double precision NOT NULL DEFAULT 0;

ALTER TABLE interactions ADD COLUMN avoid_agents text[] NOT NULL DEFAULT '{}';

-- One row per routing event of a domain's live index, recorded once (by event id) whichever process reads it.
CREATE TABLE routing_decisions (
    id              bigserial PRIMARY KEY,
    namespace       text NOT NULL,
    event_id        text NOT NULL,
    interaction_id  uuid NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    kind            text NOT NULL,
    agent_id        text,
    detail          jsonb NOT NULL DEFAULT '{}',
    at              timestamptz NOT NULL,
    UNIQUE (namespace, event_id)
);
CREATE INDEX routing_decisions_interaction ON routing_decisions (interaction_id, at, id);
CREATE INDEX routing_decisions_missed ON routing_decisions (agent_id, at) WHERE kind = 'missed';

-- An agent who rejected an interaction is not offered it again until "until".
CREATE TABLE offer_exclusions (
    interaction_id  uuid NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    agent_id        text NOT NULL,
    until           timestamptz NOT NULL,
    PRIMARY KEY (interaction_id, agent_id)
);
