"""The services behind the API: ingest, work, outbound delivery and the reconciler. Each writes
PostgreSQL first, then Redis."""
