-- name: forecast_arrivals
-- Contacts that arrived in one queue (transfers into it included), per local wall-clock interval of
-- $6 seconds in time zone $5 (each day cut from local midnight; on the night clocks go back the repeated
-- hour is one interval), its start as a timestamptz. Intervals with no arrival are left out. Reads index interactions_queue_created.
-- $1 namespace, $2 queue id, $3 from timestamptz, $4 to timestamptz (exclusive), $5 time zone name,
-- $6 interval seconds
SELECT date_bin(make_interval(secs => $6::integer), i.created_at AT TIME ZONE $5::text,
                timestamp '2000-01-01') AT TIME ZONE $5::text AS interval_start,
       count(*) AS arrivals
FROM interactions i
WHERE i.namespace = $1 AND i.queue_id = $2 AND i.created_at >= $3 AND i.created_at < $4
GROUP BY 1
ORDER BY 1;

-- name: forecast_handling
-- What staffing needs from one queue's history: handle time (acceptance to the end of wrap-up, over
-- contacts handled to their end, as the KPIs' AHT), and for the customers' patience every contact's
-- wait (arrival to acceptance, or to leaving; callbacks left out: they did not run out of patience) and
-- the abandons. A queue that is not configured has no row.
-- $1 namespace, $2 queue id, $3 from timestamptz, $4 to timestamptz (exclusive)
SELECT q.service_level_seconds,
       count(*) FILTER (WHERE i.assigned_at IS NOT NULL AND i.closed_at IS NOT NULL
                        AND i.status IN ('completed', 'transferred', 'ended')) AS handled,
       (sum(extract(epoch FROM i.closed_at - i.assigned_at)) FILTER (
           WHERE i.assigned_at IS NOT NULL AND i.closed_at IS NOT NULL
             AND i.status IN ('completed', 'transferred', 'ended')))::float8 AS handle_seconds,
       count(*) FILTER (WHERE i.status = 'abandoned' AND i.end_reason IS DISTINCT FROM 'callback') AS abandoned,
       (sum(extract(epoch FROM i.ended_at - i.created_at)) FILTER (
           WHERE i.status = 'abandoned' AND i.end_reason IS DISTINCT FROM 'callback'
             AND i.ended_at IS NOT NULL))::float8 AS abandon_wait_seconds,
       (sum(extract(epoch FROM i.assigned_at - i.created_at)) FILTER (WHERE i.assigned_at IS NOT NULL))::float8
           AS answer_wait_seconds
FROM queues q
     LEFT JOIN interactions i ON i.namespace = q.namespace AND i.queue_id = q.id
                             AND i.created_at >= $3 AND i.created_at < $4
WHERE q.namespace = $1 AND q.id = $2
GROUP BY q.service_level_seconds;
