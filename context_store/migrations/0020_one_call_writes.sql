-- Writes that take a lock and then read or write under it, in one call. A statement's snapshot is taken
-- before any lock it waits for, so a single statement that locked and then trimmed could miss rows
-- committed while it waited; each statement of a PL/pgSQL function takes a fresh snapshot, so one that
-- follows the lock inside the function sees them. One round trip for the caller, and no BEGIN and
-- COMMIT around it when the caller has no transaction of its own.

-- A journey event at the current time, under the customer's journey lock, and the customer's oldest
-- events beyond the cap dropped (the DELETE sees the rows as they were before this INSERT, so it keeps
-- the newest p_cap - 1 of them and the new event makes p_cap). No row when the customer does not exist
-- or was erased (nothing is dropped then).
CREATE FUNCTION journey_add_capped(
    p_id uuid, p_customer uuid, p_interaction uuid, p_type text, p_data jsonb, p_cap int
) RETURNS TABLE (ev_id uuid, ev_type text, ev_data jsonb, ev_interaction uuid, ev_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('journey:' || p_customer::text, 0));
    RETURN QUERY
    WITH added AS (
        INSERT INTO journey_events (id, customer_id, interaction_id, type, data, at)
        SELECT p_id, c.id, p_interaction, p_type, p_data, clock_timestamp()
        FROM customers c WHERE c.id = p_customer AND c.erased_at IS NULL
        RETURNING journey_events.id, journey_events.type, journey_events.data,
                  journey_events.interaction_id, journey_events.at
    ), dropped AS (
        DELETE FROM journey_events WHERE journey_events.id IN (
            SELECT j.id FROM journey_events j
            WHERE j.customer_id = p_customer AND EXISTS (SELECT 1 FROM added)
            ORDER BY j.at DESC, j.id DESC OFFSET GREATEST(p_cap - 1, 0)
        )
    )
    SELECT a.id, a.type, a.data, a.interaction_id, a.at FROM added a;
END $$;

-- The customer's oldest journey events beyond the cap dropped, under the journey lock (for events other
-- statements wrote, such as a new interaction's `interaction.created`). How many were dropped.
CREATE FUNCTION journey_trim_locked(p_customer uuid, p_cap int) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_dropped bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('journey:' || p_customer::text, 0));
    WITH done AS (
        DELETE FROM journey_events WHERE journey_events.id IN (
            SELECT j.id FROM journey_events j WHERE j.customer_id = p_customer
            ORDER BY j.at DESC, j.id DESC OFFSET p_cap
        )
        RETURNING 1
    )
    SELECT count(*) INTO v_dropped FROM done;
    RETURN v_dropped;
END $$;

-- The agent's completion: into wrap-up until p_until, or (p_until NULL) completed at once; an earlier
-- disposition or summary is kept when given NULL. Its history row ('wrapup' or 'completed', detail
-- {"disposition": ...}) and the customer's `interaction.completed` journey event (p_event_id, p_event_data,
-- capped at p_cap) are written with it. Returns the new status; NULL, writing nothing, unless it was
-- assigned or in wrap-up.
CREATE FUNCTION interaction_finish_recorded(
    p_id uuid, p_namespace text, p_agent text, p_disposition text, p_summary text, p_until timestamptz,
    p_event_id uuid, p_event_data jsonb, p_cap int
) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_status text;
    v_customer uuid;
BEGIN
    UPDATE interactions SET
        status = CASE WHEN p_until IS NULL THEN 'completed' ELSE 'wrapup' END,
        disposition = COALESCE(p_disposition, disposition), summary = COALESCE(p_summary, summary),
        wrapup_until = p_until, ended_at = COALESCE(ended_at, now()),
        closed_at = CASE WHEN p_until IS NULL THEN now() ELSE closed_at END
    WHERE namespace = p_namespace AND id = p_id AND status IN ('assigned', 'wrapup')
    RETURNING status, customer_id INTO v_status, v_customer;
    IF v_status IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO interaction_history (interaction_id, status, agent_id, detail)
    VALUES (p_id, v_status, p_agent, jsonb_build_object('disposition', p_disposition));
    PERFORM journey_add_capped(p_event_id, v_customer, p_id, 'interaction.completed', p_event_data, p_cap);
    RETURN v_status;
END $$;
