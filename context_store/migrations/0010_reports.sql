-- Reports and surveys.
--
-- closed_at: when an interaction reached its final status (the end of wrap-up for completed work, the
-- transfer, the abandon). Handle time is assigned_at → closed_at (talk plus wrap-up); earlier rows take
-- it from their status history.
ALTER TABLE interactions ADD COLUMN closed_at timestamptz;
UPDATE interactions i SET closed_at = COALESCE(
    (SELECT max(h.at) FROM interaction_history h
     WHERE h.interaction_id = i.id AND h.status IN ('completed', 'transferred', 'abandoned', 'ended')),
    i.ended_at)
WHERE i.status NOT IN ('queued', 'assigned', 'wrapup');

-- Reports read interactions by arrival time.
CREATE INDEX interactions_created ON interactions (created_at);


-- A queue's survey: {"kind": "csat" | "nps" | "ces", "channel": "same"} or NULL.
ALTER TABLE queues ADD COLUMN survey jsonb;

-- A customer's answer to the survey about one interaction (one answer per interaction).
CREATE TABLE surveys (
    interaction_id  uuid PRIMARY KEY REFERENCES interactions (id) ON DELETE CASCADE,
    customer_id     uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    kind            text NOT NULL,
    score           integer NOT NULL,
    comment         text,
    answered_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'csat' AND score BETWEEN 1 AND 5) OR (kind = 'nps' AND score BETWEEN 0 AND 10)
           OR (kind = 'ces' AND score BETWEEN 1 AND 7))
);
CREATE INDEX surveys_customer ON surveys (customer_id, answered_at DESC);

-- A survey sent after an interaction: where it went (a reply from that address on that channel is read
-- as the answer while the request is open) and when (at most one per customer per cooldown).
CREATE TABLE survey_requests (
    interaction_id  uuid PRIMARY KEY REFERENCES interactions (id) ON DELETE CASCADE,
    customer_id     uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('csat', 'nps', 'ces')),
    channel         text NOT NULL,
    sent_at         timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz
);
CREATE INDEX survey_requests_customer ON survey_requests (customer_id, sent_at DESC);

-- Occupancy reads who was handling work when: the handle span of each assigned interaction (to the end
-- of wrap-up; still open: without end), found by overlap with the report's range.
CREATE INDEX interactions_handle_span ON interactions
    USING gist (tstzrange(assigned_at, greatest(assigned_at, COALESCE(closed_at, 'infinity'::timestamptz))))
    WHERE agent_id IS NOT NULL AND assigned_at IS NOT NULL;
