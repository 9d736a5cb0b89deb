-- name: kpi_counts
-- Counts and sums per interval and key, from which router/service/reports.py computes each KPI
-- (docs/reports.md defines them). An interaction counts in the interval of its arrival in its queue
-- (created_at) in time zone $3; intervals are local: $4 seconds long from local midnight, or calendar days.
-- One indexed range read serves the report and first contact resolution: each contact's next contact from
-- the same customer (a transfer's or escalation's continuation is none) is found among the contacts up to
-- a day past the range's FCR window; only a contact whose own window reaches past that is looked up alone.
-- $1 from timestamptz, $2 to timestamptz (exclusive), $3 time zone name, $4 interval seconds
-- (86400: calendar days), $5 group_by ('queue', 'channel', 'agent', 'none'), $6 FCR window seconds,
-- $7 namespace (the routing domain reported on; a repeat contact in any domain counts against FCR)
WITH scope AS (
    SELECT i.id, i.namespace, i.customer_id, i.queue_id, i.channel, i.agent_id, i.status, i.end_reason, i.created_at,
           i.assigned_at, i.ended_at, i.closed_at, i.venq_ms,
           min(i.created_at) FILTER (WHERE i.parent_id IS NULL) OVER (
               PARTITION BY i.customer_id ORDER BY i.created_at, i.id
               ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_contact
    FROM interactions i
    WHERE i.created_at >= $1 AND i.created_at < $2::timestamptz + make_interval(secs => $6::integer + 86400)
),
base AS (
    SELECT c.*, q.service_level_seconds,
           CASE WHEN $4::integer >= 86400 THEN date_trunc('day', c.created_at AT TIME ZONE $3::text)
                ELSE date_bin(make_interval(secs => $4::integer), c.created_at AT TIME ZONE $3::text,
                              timestamp '2000-01-01') END AS bucket,
           CASE $5::text WHEN 'queue' THEN c.queue_id WHEN 'channel' THEN c.channel
                         WHEN 'agent' THEN c.agent_id ELSE 'all' END AS key,
           c.status = 'completed'
           AND COALESCE(c.next_contact > w.window_end, true)
           AND (w.window_end < $2::timestamptz + make_interval(secs => $6::integer + 86400) OR NOT EXISTS (
               SELECT 1 FROM interactions o
               WHERE o.customer_id = c.customer_id AND o.parent_id IS NULL
                 AND o.created_at >= $2::timestamptz + make_interval(secs => $6::integer + 86400)
                 AND o.created_at <= w.window_end)) AS first_resolved
    FROM scope c
         CROSS JOIN LATERAL (SELECT COALESCE(c.ended_at, c.created_at) + make_interval(secs => $6::integer)
                             AS window_end) w
         LEFT JOIN queues q ON q.namespace = c.namespace AND q.id = c.queue_id
    WHERE c.namespace = $7 AND c.created_at < $2 AND ($5::text <> 'agent' OR c.agent_id IS NOT NULL)
      AND c.status <> 'closed'  -- arrived while its queue was closed (rejected): never offered
)
SELECT b.bucket AT TIME ZONE $3::text AS interval_start, b.key,
       count(*) AS offered,
       count(*) FILTER (WHERE b.assigned_at IS NOT NULL) AS answered,
       count(*) FILTER (WHERE b.status = 'abandoned' AND b.end_reason IS DISTINCT FROM 'callback') AS abandoned,
       count(*) FILTER (WHERE b.assigned_at IS NOT NULL
                        AND b.assigned_at - b.created_at <= make_interval(secs => b.service_level_seconds))
           AS answered_in_sl,
       (sum(extract(epoch FROM b.assigned_at - b.created_at)) FILTER (WHERE b.assigned_at IS NOT NULL))::float8
           AS wait_seconds,
       count(*) FILTER (WHERE b.assigned_at IS NOT NULL AND b.closed_at IS NOT NULL
                        AND b.status IN ('completed', 'transferred', 'ended')) AS handled,
       (sum(extract(epoch FROM b.closed_at - b.assigned_at)) FILTER (
           WHERE b.assigned_at IS NOT NULL AND b.closed_at IS NOT NULL
             AND b.status IN ('completed', 'transferred', 'ended')))::float8 AS handle_seconds,
       count(*) FILTER (WHERE b.status = 'transferred') AS transferred,
       count(*) FILTER (WHERE b.status = 'completed') AS resolved,
       count(*) FILTER (WHERE b.first_resolved) AS resolved_first,
       -- from the original arrival (venq_ms: kept through transfers and escalations) to the end
       (sum(extract(epoch FROM b.ended_at) - b.venq_ms / 1000.0) FILTER (WHERE b.status = 'completed'))::float8
           AS resolution_seconds,
       count(s.score) FILTER (WHERE s.kind = 'csat') AS csat_answers,
       count(s.score) FILTER (WHERE s.kind = 'csat' AND s.score >= 4) AS csat_satisfied,
       count(s.score) FILTER (WHERE s.kind = 'nps') AS nps_answers,
       count(s.score) FILTER (WHERE s.kind = 'nps' AND s.score >= 9) AS nps_promoters,
       count(s.score) FILTER (WHERE s.kind = 'nps' AND s.score <= 6) AS nps_detractors,
       count(s.score) FILTER (WHERE s.kind = 'ces') AS ces_answers,
       COALESCE(sum(s.score) FILTER (WHERE s.kind = 'ces'), 0)::int8 AS ces_total
FROM base b LEFT JOIN surveys s ON s.interaction_id = b.id
GROUP BY b.bucket, b.key
ORDER BY b.bucket, b.key;

-- name: kpi_agent_busy
-- Per agent and interval, the two terms of occupancy: busy_seconds, the seconds inside the interval during
-- which the agent held work (acceptance to the end of wrap-up, work still held counted up to now; work held
-- at once counts once, whatever the agent's presence), and idle_seconds, the seconds the agent was
-- available (the presence history: a state holds from its change until the agent's next one, the state in
-- force at $1 from $1, the last one up to $2 or now) while holding no work.
-- $1 from timestamptz, $2 to timestamptz (exclusive), $3 time zone name, $4 interval seconds
-- (86400: calendar days), $5 namespace
WITH handling AS (
    SELECT agent_id,
           range_agg(tstzrange(greatest(assigned_at, $1), least(COALESCE(closed_at, now()), $2))) AS spans
    FROM interactions
    WHERE namespace = $5 AND agent_id IS NOT NULL AND assigned_at IS NOT NULL
      AND tstzrange(assigned_at, greatest(assigned_at, COALESCE(closed_at, 'infinity'::timestamptz)))
          && tstzrange($1, $2)
      AND greatest(assigned_at, $1) < least(COALESCE(closed_at, now()), $2)
    GROUP BY agent_id
),
changes AS (
    SELECT agent_id, state, at, lead(at) OVER (PARTITION BY agent_id ORDER BY at, id) AS next_at
    FROM (
        SELECT s.id, a.id AS agent_id, s.state, s.at
        FROM agents a
             CROSS JOIN LATERAL (SELECT id, state, at FROM agent_states
                                 WHERE namespace = $5 AND agent_id = a.id AND at <= $1
                                 ORDER BY at DESC, id DESC LIMIT 1) s
        WHERE a.namespace = $5
        UNION ALL
        SELECT id, agent_id, state, at FROM agent_states WHERE namespace = $5 AND at > $1 AND at < $2
    ) c
),
available AS (
    SELECT agent_id, range_agg(tstzrange(greatest(at, $1), least(COALESCE(next_at, $2), $2, now()))) AS spans
    FROM changes
    WHERE state = 'available' AND greatest(at, $1) < least(COALESCE(next_at, $2), $2, now())
    GROUP BY agent_id
),
terms AS (
    SELECT agent_id, COALESCE(h.spans, '{}'::tstzmultirange) AS busy,
           COALESCE(av.spans, '{}'::tstzmultirange) - COALESCE(h.spans, '{}'::tstzmultirange) AS idle
    FROM handling h FULL JOIN available av USING (agent_id)
),
pieces AS (
    SELECT agent_id, true AS busy, lower(r) AS s, upper(r) AS e FROM terms, unnest(busy) AS r
    UNION ALL
    SELECT agent_id, false, lower(r), upper(r) FROM terms, unnest(idle) AS r
),
steps AS (
    SELECT CASE WHEN $4::integer >= 86400 THEN interval '1 day' ELSE make_interval(secs => $4::integer) END
        AS step
),
cut AS (
    SELECT p.agent_id, p.busy, g.bucket,
           extract(epoch FROM least(p.e, (g.bucket + st.step) AT TIME ZONE $3::text)
                              - greatest(p.s, g.bucket AT TIME ZONE $3::text)) AS seconds
    FROM pieces p CROSS JOIN steps st,
         LATERAL generate_series(
             CASE WHEN $4::integer >= 86400 THEN date_trunc('day', p.s AT TIME ZONE $3::text)
                  ELSE date_bin(st.step, p.s AT TIME ZONE $3::text, timestamp '2000-01-01') END,
             p.e AT TIME ZONE $3::text, st.step) AS g (bucket)
)
SELECT bucket AT TIME ZONE $3::text AS interval_start, agent_id AS key,
       COALESCE(sum(seconds) FILTER (WHERE busy), 0)::float8 AS busy_seconds,
       COALESCE(sum(seconds) FILTER (WHERE NOT busy), 0)::float8 AS idle_seconds
FROM cut WHERE seconds > 0
GROUP BY bucket, agent_id
ORDER BY bucket, agent_id;

-- name: survey_insert
-- The answer to an interaction's survey; no row when it was answered already.
-- $1 interaction_id, $2 customer_id, $3 kind, $4 score, $5 comment (nullable)
INSERT INTO surveys (interaction_id, customer_id, kind, score, comment) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (interaction_id) DO NOTHING
RETURNING interaction_id, customer_id, kind, score, comment, answered_at;

-- name: survey_get
-- $1 interaction_id
SELECT interaction_id, customer_id, kind, score, comment, answered_at FROM surveys WHERE interaction_id = $1;

-- name: survey_request_insert
-- A survey request for the interaction, unless the customer was sent one less than $5 days ago (the
-- caller holds the customer's lock, so two completions cannot both pass); no row: not sent.
-- $1 interaction_id, $2 customer_id, $3 kind, $4 channel, $5 cooldown days
INSERT INTO survey_requests (interaction_id, customer_id, kind, channel)
SELECT $1, $2, $3, $4
WHERE NOT EXISTS (SELECT 1 FROM survey_requests
                  WHERE customer_id = $2 AND sent_at > now() - make_interval(days => $5::integer))
ON CONFLICT (interaction_id) DO NOTHING
RETURNING interaction_id, customer_id, kind, channel, sent_at, closed_at;

-- name: survey_request_open
-- The customer's newest request still open on a channel, sent since $3, about an interaction of domain $4.
-- $1 customer_id, $2 channel, $3 since timestamptz, $4 namespace
SELECT r.interaction_id, r.customer_id, r.kind, r.channel, r.sent_at, r.closed_at
FROM survey_requests r JOIN interactions i ON i.id = r.interaction_id AND i.namespace = $4
WHERE r.customer_id = $1 AND r.channel = $2 AND r.closed_at IS NULL AND r.sent_at >= $3
ORDER BY r.sent_at DESC LIMIT 1;

-- name: survey_requests_close
-- Close the customer's open requests (answered, or the customer wrote something else).
-- $1 customer_id
UPDATE survey_requests SET closed_at = now() WHERE customer_id = $1 AND closed_at IS NULL;

-- name: report_work_mem
-- Memory for this transaction's sorts and hashes: a month of contacts sorts in memory, not on disk.
-- $1 size ('64MB')
SELECT set_config('work_mem', $1, true);
