-- When the router handed an outbound message to its adapter. The adapter then retries with the provider
-- itself and reports `retrying`; only a message never handed over is the router's to send again after a
-- restart (a `retrying` of the adapter's is not: sending it again sent the customer the reply twice).
ALTER TABLE messages ADD COLUMN handed_at timestamptz;
