-- Provider receipts that arrive before the provider's message id is known here (the provider's "delivered"
-- callback can overtake the adapter's own report of the id it got back). They wait here and are applied
-- when the id is recorded, so a receipt is never lost to that race.
CREATE TABLE early_receipts (
    external_id text NOT NULL,
    status text NOT NULL,
    detail text,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (external_id, status)
);
