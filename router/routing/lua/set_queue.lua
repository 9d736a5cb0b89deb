-- set_queue.lua: create or update a queue's live configuration and the agents eligible for it.
-- Runs while the index is rebuilt too.
-- KEYS[1] P:built
-- ARGV[1] P, [2] queue id, [3] offer timeout ms, [4] wrap-up ms, [5] eligible agents, comma separated
-- Returns the number of offers made.
local q = ARGV[2]
redis.call('HSET', P .. ':qcfg:' .. q, 'timeout_ms', ARGV[3], 'wrapup_ms', ARGV[4])
local wanted = {}
for agent in string.gmatch(ARGV[5], '[^,]+') do wanted[agent] = true end
for _, agent in ipairs(redis.call('SMEMBERS', P .. ':qagents:' .. q)) do
  if not wanted[agent] then
    redis.call('SREM', P .. ':qagents:' .. q, agent)
    redis.call('SREM', P .. ':aqueues:' .. agent, q)
    redis.call('ZREM', P .. ':qavail:' .. q, agent)
  end
end
local t = now_ms()
local made = 0
for agent, _ in pairs(wanted) do
  redis.call('SADD', P .. ':qagents:' .. q, agent)
  redis.call('SADD', P .. ':aqueues:' .. agent, q)
  local st = redis.call('HMGET', P .. ':a:' .. agent, 'state', 'connected', 'idle')
  if st[1] == 'available' and st[2] == '1' then
    redis.call('ZADD', P .. ':qavail:' .. q, st[3] or t, agent)
    if ready() then made = made + match_agent(agent, t, 16) end
  end
end
return made
