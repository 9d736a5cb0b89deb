-- Every change of an agent's presence (state and not-ready reason), as the live index made it: the agent
-- chose it, the router decided it (a missed offer), or the desktop connected or went away. A state holds
-- from its row's `at` until the agent's next row. Agents belong to a routing domain (`namespace`), and so
-- does the event stream: `event_id` is the id of the change on the domain's stream. Every router process of
-- the domain reads the stream and records the change; the first one wins.
CREATE TABLE agent_states (
    id          bigserial PRIMARY KEY,
    namespace   text NOT NULL,
    agent_id    text NOT NULL,
    state       text NOT NULL CHECK (state IN ('available', 'away', 'offline')),
    reason      text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL,
    event_id    text NOT NULL,
    UNIQUE (namespace, event_id)
);
CREATE INDEX agent_states_agent_at ON agent_states (namespace, agent_id, at);

-- A queue's disposition codes: `complete` takes only one of these when the list is not empty.
ALTER TABLE queues ADD COLUMN dispositions text[] NOT NULL DEFAULT '{}';
