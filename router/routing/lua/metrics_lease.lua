-- metrics_lease.lua: take or keep the lease of the one process that exports the deployment's gauges
-- (queues, agents) on /metrics, so summing them over every process counts each once. Taken at scrape
-- time: the process Prometheus scrapes first holds it while its scrapes keep renewing it; another takes
-- it when it expires (the holder stopped or is no longer scraped).
-- KEYS[1] P:built
-- ARGV[1] P, [2] node id, [3] lease ms
-- Returns 1 when this process holds the lease (taken or renewed), 0 when another does.
local key = P .. ':metricslease'
local holder = redis.call('GET', key)
if holder == false or holder == ARGV[2] then
  redis.call('SET', key, ARGV[2], 'PX', tonumber(ARGV[3]))
  return 1
end
return 0
