-- name: record_size
-- The database's size in bytes and exact row counts of the record's main tables (the soak's check that
-- the record grows with the work and nothing else). No arguments.
SELECT pg_database_size(current_database()) AS db_bytes,
       (SELECT count(*) FROM customers) AS customers,
       (SELECT count(*) FROM identities) AS identities,
       (SELECT count(*) FROM interactions) AS interactions,
       (SELECT count(*) FROM interaction_history) AS interaction_history,
       (SELECT count(*) FROM messages) AS messages,
       (SELECT count(*) FROM routing_decisions) AS routing_decisions,
       (SELECT count(*) FROM agent_states) AS agent_states,
       (SELECT count(*) FROM journey_events) AS journey_events;
