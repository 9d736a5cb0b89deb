-- set_queue.lua: create or update a queue's live configuration and the agents in its pool (those whose
-- skills meet its minimum levels or one of its steps' levels). Interactions waiting in it are put on
-- the step their wait has reached under the new steps. Runs while the index is rebuilt too.
-- KEYS[1] P:built
-- ARGV[1] P, [2] queue id, [3] offer timeout ms, [4] wrap-up ms, [5] pool agents, comma separated,
-- [6] strategy ("longest_idle" | "most_skilled" | "least_occupied"), [7] minimum levels JSON
-- {skill: level}, [8] steps JSON [{after_ms, levels}] sorted by after_ms, [9] reject cooldown ms
-- Returns the number of offers made.
local q = ARGV[2]
redis.call('HSET', P .. ':qcfg:' .. q, 'timeout_ms', ARGV[3], 'wrapup_ms', ARGV[4],
           'strategy', ARGV[6] or 'longest_idle', 'levels', ARGV[7] or '{}', 'steps', ARGV[8] or '[]',
           'cooldown_ms', ARGV[9] or '30000')
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
  end
end
local moved = {}
for _, iid in ipairs(redis.call('ZRANGE', P .. ':q:' .. q, 0, -1)) do
  local it = item(iid)
  if schedule_step(iid, q, it.venq, t) ~= it.step then table.insert(moved, iid) end
end
if not ready() then return 0 end
for _, iid in ipairs(moved) do
  if match_interaction(iid, t) then made = made + 1 end
end
for agent, _ in pairs(wanted) do
  made = made + match_agent(agent, t, 16)
end
return made
