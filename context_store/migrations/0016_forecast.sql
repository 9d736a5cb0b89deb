-- Forecasts read one queue's arrivals over weeks to a year: one index range scan per queue (the
-- reports' index on created_at alone reads every queue's contacts of the range).
CREATE INDEX interactions_queue_created ON interactions (namespace, queue_id, created_at);
