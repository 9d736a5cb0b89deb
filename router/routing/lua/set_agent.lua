-- set_agent.lua: create or update an agent's live record: capacity, voice blocking and the queues its
-- skills make it eligible for. State, load and held work are kept. Runs while the index is rebuilt too.
-- KEYS[1] P:built
-- ARGV[1] P, [2] agent id, [3] voice blocks other channels ("1" | "0"), [4] capacity JSON {channel: n},
-- [5] queues whose pool it is in (eligible at some step), comma separated, [6] skills JSON {skill: level}
-- Returns the number of offers made to the agent.
local agent = ARGV[2]
local a = P .. ':a:' .. agent
local caps = cjson.decode(ARGV[4])
if redis.call('EXISTS', a) == 0 then
  redis.call('HSET', a, 'state', 'away', 'since', now_ms(), 'connected', '0', 'idle', now_ms())
end
redis.call('HSET', a, 'vblock', ARGV[3])
redis.call('DEL', P .. ':askill:' .. agent)
for skill, level in pairs(cjson.decode(ARGV[6] or '{}')) do
  redis.call('HSET', P .. ':askill:' .. agent, skill, level)
end
for _, ch in ipairs(CHANNELS) do redis.call('HSET', a, 'cap:' .. ch, tonumber(caps[ch] or 0)) end
local wanted = {}
for q in string.gmatch(ARGV[5], '[^,]+') do wanted[q] = true end
for _, q in ipairs(redis.call('SMEMBERS', P .. ':aqueues:' .. agent)) do
  if not wanted[q] then
    redis.call('SREM', P .. ':aqueues:' .. agent, q)
    redis.call('SREM', P .. ':qagents:' .. q, agent)
    redis.call('ZREM', P .. ':qavail:' .. q, agent)
  end
end
local st = redis.call('HMGET', a, 'state', 'connected', 'idle')
for q, _ in pairs(wanted) do
  redis.call('SADD', P .. ':aqueues:' .. agent, q)
  redis.call('SADD', P .. ':qagents:' .. q, agent)
  if st[1] == 'available' and st[2] == '1' then
    redis.call('ZADD', P .. ':qavail:' .. q, st[3] or now_ms(), agent)
  end
end
if not ready() then return 0 end
return match_agent(agent, now_ms(), 16)
