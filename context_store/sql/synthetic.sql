-- name: synthetic_seed
-- Make the synthetic history repeatable. $1 seed (-1 to 1)
SELECT setseed($1);

-- name: synthetic_customers
-- Customers 0..$1-1 of a synthetic history (ids derived from their number).
-- $1 count
INSERT INTO customers (id, name, phone, created_at)
SELECT md5('synthetic-customer-' || n)::uuid, 'Customer ' || n, '+1555' || lpad(n::text, 7, '0'),
       timestamptz '2000-01-01'
FROM generate_series(0, $1::integer - 1) AS n;

-- name: synthetic_interactions
-- A synthetic history for benchmarks: interactions $8+1 .. $8+$1 of $9, arriving in order (as a center's
-- rows are written) evenly over $3 days from $2, each its own
-- conversation, from one of $4 customers, in one of the queues $5 and channels $6. 6 % abandon after 0-90 s;
-- the rest are answered after 0-90 s by one of $7 agents ('agent-001'…), handled 60-600 s plus 30 s of
-- wrap-up; 4 % of all are transferred, the others completed.
-- $1 count, $2 start timestamptz, $3 days, $4 customers, $5 queue ids text[], $6 channels text[], $7 agents,
-- $8 number of the first interaction minus one (the loader writes in chunks), $9 interactions in all,
-- $10 namespace (the routing domain they belong to)
WITH g AS (
    SELECT n, (n * 2654435761) % $4::bigint AS cust, random() AS r1, random() AS r2, random() AS r3,
           random() AS r4, random() AS r5, random() AS r6
    FROM generate_series($8::bigint + 1, $8::bigint + $1::bigint) AS n
),
t AS (
    SELECT g.*, $2::timestamptz + (n - 1 + r1) / $9::bigint * $3::integer * interval '1 day' AS at,
           r6 * interval '90 seconds' AS wait, (60 + r5 * 540) * interval '1 second' AS talk
    FROM g
),
conv AS (
    INSERT INTO conversations (id, customer_id, created_at)
    SELECT md5('synthetic-conversation-' || n)::uuid, md5('synthetic-customer-' || cust)::uuid, at FROM t
)
INSERT INTO interactions (namespace, id, customer_id, conversation_id, channel, external_id, from_kind, from_value,
                          queue_id, status, priority, venq_ms, agent_id, end_reason, created_at, assigned_at,
                          ended_at, closed_at)
SELECT $10::text, md5('synthetic-interaction-' || n)::uuid, md5('synthetic-customer-' || cust)::uuid,
       md5('synthetic-conversation-' || n)::uuid,
       ($6::text[])[1 + floor(r2 * cardinality($6::text[]))::integer], 'synthetic-' || n, 'phone',
       '+1555' || lpad(cust::text, 7, '0'),
       ($5::text[])[1 + floor(r3 * cardinality($5::text[]))::integer],
       CASE WHEN r4 < 0.06 THEN 'abandoned' WHEN r4 < 0.10 THEN 'transferred' ELSE 'completed' END,
       0, (extract(epoch FROM at) * 1000)::bigint,
       CASE WHEN r4 < 0.06 THEN NULL ELSE 'agent-' || lpad((1 + floor(r5 * $7::integer))::text, 3, '0') END,
       CASE WHEN r4 < 0.06 THEN 'hangup' END,
       at,
       CASE WHEN r4 < 0.06 THEN NULL ELSE at + wait END,
       CASE WHEN r4 < 0.06 THEN at + wait ELSE at + wait + talk END,
       CASE WHEN r4 < 0.06 THEN at + wait WHEN r4 < 0.10 THEN at + wait + talk
            ELSE at + wait + talk + interval '30 seconds' END
FROM t;

-- name: synthetic_surveys
-- Answers for a share $1 (0-1) of the completed synthetic interactions, kinds in turn, scores spread over
-- each scale. $1 share
INSERT INTO surveys (interaction_id, customer_id, kind, score, answered_at)
SELECT id, customer_id, k.kind,
       CASE k.kind WHEN 'csat' THEN 1 + floor(random() * 5) WHEN 'nps' THEN floor(random() * 11)
                   ELSE 1 + floor(random() * 7) END,
       closed_at + interval '10 minutes'
FROM interactions i,
     LATERAL (SELECT (ARRAY['csat', 'nps', 'ces'])[1 + (abs(hashtext(i.external_id)) % 3)] AS kind) k
WHERE i.status = 'completed' AND i.external_id LIKE 'synthetic-%' AND random() < $1::float8;

-- name: synthetic_analyze
-- Fresh planner statistics after a bulk load.
ANALYZE;

-- name: synthetic_interaction_count
SELECT count(*) FROM interactions;

-- name: synthetic_queue_contacts
-- Contacts of one queue at the given arrival times, for tests and the forecast benchmark: each its own
-- customer and conversation (ids from the external id), answered after its wait and handled for its
-- handle time (talk plus wrap-up), or abandoned after its wait when its handle time is NULL.
-- $1 namespace, $2 queue id, $3 channel, $4 external ids text[], $5 arrivals timestamptz[],
-- $6 waits in seconds float8[], $7 handle times in seconds float8[] (NULL: abandoned)
WITH c AS (
    SELECT x.ext, x.at, x.wait * interval '1 second' AS wait, x.handle * interval '1 second' AS handle,
           md5('synthetic-customer-' || x.ext)::uuid AS customer_id,
           md5('synthetic-conversation-' || x.ext)::uuid AS conversation_id
    FROM unnest($4::text[], $5::timestamptz[], $6::float8[], $7::float8[]) AS x (ext, at, wait, handle)
),
cust AS (
    INSERT INTO customers (id, name, created_at)
    SELECT customer_id, 'Customer ' || ext, at FROM c
),
conv AS (
    INSERT INTO conversations (id, customer_id, created_at) SELECT conversation_id, customer_id, at FROM c
)
INSERT INTO interactions (namespace, id, customer_id, conversation_id, channel, external_id, queue_id, status,
                          venq_ms, agent_id, end_reason, created_at, assigned_at, ended_at, closed_at)
SELECT $1::text, md5('synthetic-interaction-' || ext)::uuid, customer_id, conversation_id, $3::text, ext,
       $2::text, CASE WHEN handle IS NULL THEN 'abandoned' ELSE 'completed' END,
       (extract(epoch FROM at) * 1000)::bigint,
       CASE WHEN handle IS NULL THEN NULL ELSE 'agent-001' END,
       CASE WHEN handle IS NULL THEN 'hangup' END,
       at,
       CASE WHEN handle IS NULL THEN NULL ELSE at + wait END,
       CASE WHEN handle IS NULL THEN at + wait ELSE at + wait + handle END,
       CASE WHEN handle IS NULL THEN at + wait ELSE at + wait + handle END
FROM c;
