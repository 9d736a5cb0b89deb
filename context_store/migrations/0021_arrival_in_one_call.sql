-- The ingest's locks and what they guard in one call (as in 0020: each statement of a PL/pgSQL function
-- takes a fresh snapshot, so the look-up that follows the locks sees whatever committed while they
-- waited). The locks are taken in the order given: the provider's interaction id, then its message id,
-- then the customer's keys, sorted, so two ingests never wait on each other in a cycle.
--
-- Returns the interaction of this provider id in the domain, the message of this provider message id
-- (any domain) and the customers of the given keys as [kind, value, customer_id] triples (NULL: none
-- known); always one row.
CREATE FUNCTION arrival_locked_lookup(
    p_locks text[], p_namespace text, p_channel text, p_external_id text, p_message_external_id text,
    p_kinds text[], p_values text[]
) RETURNS TABLE (existing uuid, message_id uuid, message_interaction uuid, owners json)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM unnest(p_locks) AS k;
    RETURN QUERY
    SELECT
        (SELECT i.id FROM interactions i
         WHERE i.namespace = p_namespace AND i.channel = p_channel AND i.external_id = p_external_id),
        m.id, m.interaction_id,
        (SELECT json_agg(json_build_array(d.kind, d.value, d.customer_id)) FROM identities d
         WHERE (d.kind, d.value) IN (SELECT * FROM unnest(p_kinds, p_values)))
    FROM (SELECT 1) AS one
    LEFT JOIN messages m ON m.channel = p_channel AND m.external_id = p_message_external_id;
END $$;
