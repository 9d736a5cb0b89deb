-- name: channel_service_level
-- Today's service level of one channel of a routing domain, for the blending rules: the contacts that
-- arrived since $3 on channel $2, answered within their queue's service_level_seconds, against those
-- answered, abandoned (a callback is not an abandon) or still waiting past the threshold (so a spike shows
-- at once, not only when its contacts are finally answered).
-- $1 namespace, $2 channel, $3 since timestamptz
SELECT count(*) FILTER (WHERE i.assigned_at IS NOT NULL
                        AND i.assigned_at - i.created_at <= make_interval(secs => q.service_level_seconds))
           AS answered_in_sl,
       count(*) FILTER (WHERE i.assigned_at IS NOT NULL) AS answered,
       count(*) FILTER (WHERE i.assigned_at IS NULL AND i.status = 'abandoned'
                        AND i.end_reason IS DISTINCT FROM 'callback') AS abandoned,
       count(*) FILTER (WHERE i.assigned_at IS NULL AND i.status = 'queued'
                        AND now() - i.created_at > make_interval(secs => q.service_level_seconds))
           AS waiting_late
FROM interactions i LEFT JOIN queues q ON q.namespace = i.namespace AND q.id = i.queue_id
WHERE i.namespace = $1 AND i.channel = $2 AND i.created_at >= $3;
