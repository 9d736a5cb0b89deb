-- name: quality_form_upsert
-- Create or replace a form; `created` tells which. $1 namespace, $2 id, $3 name, $4 questions jsonb
INSERT INTO quality_forms AS f (namespace, id, name, questions) VALUES ($1, $2, $3, $4)
ON CONFLICT (namespace, id) DO UPDATE SET name = EXCLUDED.name, questions = EXCLUDED.questions,
    updated_at = now()
RETURNING id, name, questions, created_at, updated_at, (xmax = 0) AS created;

-- name: quality_form_get
-- $1 namespace, $2 id
SELECT id, name, questions, created_at, updated_at FROM quality_forms WHERE namespace = $1 AND id = $2;

-- name: quality_forms_all
-- Every form of the domain, by id. $1 namespace
SELECT id, name, questions, created_at, updated_at FROM quality_forms WHERE namespace = $1 ORDER BY id;

-- name: quality_review_insert
-- A review and its audit row, one statement. $1 id, $2 namespace, $3 interaction_id, $4 form_id,
-- $5 form jsonb, $6 reviewer_role, $7 reviewer_id, $8 agent_id, $9 queue_id, $10 answers jsonb,
-- $11 score, $12 critical_failed, $13 comment, $14 audit detail jsonb
WITH r AS (
    INSERT INTO quality_reviews (id, namespace, interaction_id, form_id, form, reviewer_role, reviewer_id,
                                 agent_id, queue_id, answers, score, critical_failed, comment)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
    RETURNING id, interaction_id, form_id, form, reviewer_role, reviewer_id, agent_id, queue_id, answers,
              score, critical_failed, comment, created_at
),
a AS (
    INSERT INTO supervisor_audit (namespace, interaction_id, action, actor_role, actor_id, detail)
    SELECT $2, interaction_id, 'review', $6, $7, $14 FROM r
)
SELECT * FROM r;

-- name: quality_reviews_of_interaction
-- Oldest first. $1 namespace, $2 interaction_id
SELECT id, interaction_id, form_id, form, reviewer_role, reviewer_id, agent_id, queue_id, answers, score,
       critical_failed, comment, created_at
FROM quality_reviews WHERE namespace = $1 AND interaction_id = $2 ORDER BY created_at, id;

-- name: quality_reviews_of_agent
-- An agent's reviews, newest first. $1 namespace, $2 agent_id, $3 limit
SELECT id, interaction_id, form_id, form, reviewer_role, reviewer_id, agent_id, queue_id, answers, score,
       critical_failed, comment, created_at
FROM quality_reviews WHERE namespace = $1 AND agent_id = $2 ORDER BY created_at DESC, id LIMIT $3;

-- name: quality_report
-- Reviews made in [from, to), grouped by the reviewed agent or the interaction's queue.
-- $1 namespace, $2 from, $3 to, $4 group_by ('agent' or 'queue')
SELECT CASE WHEN $4::text = 'agent' THEN agent_id ELSE queue_id END AS key,
       count(*)::int8 AS reviews,
       avg(score)::float8 AS average_score,
       min(score)::float8 AS min_score,
       max(score)::float8 AS max_score,
       (count(*) FILTER (WHERE critical_failed))::int8 AS critical_failures
FROM quality_reviews
WHERE namespace = $1 AND created_at >= $2 AND created_at < $3
GROUP BY 1
ORDER BY 1 NULLS LAST;

-- name: quality_sample
-- Up to $4 completed interactions per agent, drawn at random among those that ended in [from, to).
-- $1 namespace, $2 from, $3 to, $4 per agent
SELECT interaction_id, agent_id, customer_id, channel, queue_id, ended_at, reviews FROM (
    SELECT i.id AS interaction_id, i.agent_id, i.customer_id, i.channel, i.queue_id, i.ended_at,
           (SELECT count(*) FROM quality_reviews r WHERE r.interaction_id = i.id)::int8 AS reviews,
           row_number() OVER (PARTITION BY i.agent_id ORDER BY random()) AS n
    FROM interactions i
    WHERE i.namespace = $1 AND i.status = 'completed' AND i.agent_id IS NOT NULL
      AND i.ended_at >= $2 AND i.ended_at < $3
) s
WHERE n <= $4
ORDER BY agent_id, ended_at, interaction_id;

-- name: audit_insert
-- $1 namespace, $2 interaction_id, $3 action, $4 actor_role, $5 actor_id, $6 detail jsonb
INSERT INTO supervisor_audit (namespace, interaction_id, action, actor_role, actor_id, detail)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, interaction_id, action, actor_role, actor_id, detail, at;

-- name: audit_of_interaction
-- Oldest first. $1 namespace, $2 interaction_id
SELECT id, interaction_id, action, actor_role, actor_id, detail, at
FROM supervisor_audit WHERE namespace = $1 AND interaction_id = $2 ORDER BY id;

-- name: interactions_in_status
-- The domain's interactions in one status, longest with an agent (then waiting) first.
-- $1 namespace, $2 status, $3 limit
SELECT i.id, i.channel, i.queue_id, i.status, i.agent_id, i.customer_id, c.name AS customer_name,
       i.from_value, i.subject, i.created_at, i.assigned_at,
       extract(epoch FROM clock_timestamp() - i.assigned_at)::float8 AS seconds_in_work
FROM interactions i JOIN customers c ON c.id = i.customer_id
WHERE i.namespace = $1 AND i.status = $2
ORDER BY i.assigned_at NULLS LAST, i.created_at, i.id
LIMIT $3;
