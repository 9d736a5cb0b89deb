-- name: ping
-- Is PostgreSQL answering? (health checks)
SELECT 1;
