-- Every change of an agent's presence (state and not-ready reason), as the live index made it: the agent
-- chose it, the router decided it (a missed offer), or the desktop connected or went away. A state holds
-- from its row's `at` until the agent's next row. `event_id` is the event stream's id of the change: every
-- router process reads the stream and records it, and the first one wins.
CREATE TABLE agent_states (
    id          bigserial PRIMARY KEY,
    agent_id    text NOT NULL,
    state       text NOT NULL CHECK (state IN ('available', 'away', 'offline')),
    reason      text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL,
    event_id    text NOT NULL UNIQUE
);
CREATE INDEX agent_states_agent_at ON agent_states (agent_id, at);

-- A queue's disposition codes: `complete` takes only one of these when the list is not empty.
ALTER TABLE queues ADD COLUMN dispositions text[] NOT NULL DEFAULT '{}';
