-- Merges of two customers, and their undoing. A merge moves everything of the other customer (identities,
-- conversations, interactions, notes, journey events, possible matches) to the customer kept, and records
-- who merged, when, why, what matched, and the ids of every row it moved: an unmerge moves exactly those
-- rows back. The other customer's row stays, with its profile as it was, marked merged_into.
ALTER TABLE customers ADD COLUMN merged_into uuid REFERENCES customers (id) ON DELETE SET NULL;

CREATE TABLE customer_merges (
    id                 uuid PRIMARY KEY,
    customer_id        uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    other_customer_id  uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    reason             text NOT NULL,
    matched            text[] NOT NULL DEFAULT '{}',
    merged_by          text NOT NULL,
    merged_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- {"identities": [[kind, value]…], "conversations": [id…], "interactions": [id…], "notes": [id…],
    --  "journey_events": [id…], "possible_matches_removed": [row…], "possible_matches_added": [row…]}
    moved              jsonb NOT NULL,
    unmerged_by        text,
    unmerged_at        timestamptz,
    CHECK (customer_id <> other_customer_id)
);
CREATE INDEX customer_merges_customer ON customer_merges (customer_id, merged_at);
CREATE INDEX customer_merges_other ON customer_merges (other_customer_id, merged_at);

-- A row goes to the customer of its parent and, when that customer has been merged away, to the customer it
-- was merged into: a writer that read the customer before a merge or an unmerge (an agent's note, a
-- transfer's new interaction, a journey event) must not leave its row where no context record shows it. A
-- note or journey event of an interaction belongs to that interaction's customer, an interaction to its
-- conversation's (a parent inserted by the same statement is not seen yet: the row keeps its customer).
-- FOR SHARE waits for a merge in progress (it holds the customer's row), then reads where it went.
CREATE FUNCTION follow_customer_merge() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owner uuid;
    target uuid;
    hops integer := 0;
BEGIN
    IF TG_TABLE_NAME IN ('notes', 'journey_events') THEN
        IF NEW.interaction_id IS NOT NULL THEN
            SELECT customer_id INTO owner FROM interactions WHERE id = NEW.interaction_id;
        END IF;
    ELSIF TG_TABLE_NAME = 'interactions' THEN
        SELECT customer_id INTO owner FROM conversations WHERE id = NEW.conversation_id;
    END IF;
    IF owner IS NOT NULL THEN
        NEW.customer_id := owner;
    END IF;
    LOOP
        SELECT merged_into INTO target FROM customers WHERE id = NEW.customer_id FOR SHARE;
        EXIT WHEN target IS NULL OR hops >= 16;
        NEW.customer_id := target;
        hops := hops + 1;
    END LOOP;
    RETURN NEW;
END
$$;
CREATE TRIGGER conversations_follow_merge BEFORE INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION follow_customer_merge();
CREATE TRIGGER interactions_follow_merge BEFORE INSERT ON interactions
    FOR EACH ROW EXECUTE FUNCTION follow_customer_merge();
CREATE TRIGGER notes_follow_merge BEFORE INSERT ON notes
    FOR EACH ROW EXECUTE FUNCTION follow_customer_merge();
CREATE TRIGGER journey_events_follow_merge BEFORE INSERT ON journey_events
    FOR EACH ROW EXECUTE FUNCTION follow_customer_merge();
