-- blending.lua: one evaluation of one blending rule by the process that holds the blending lease. The lease
-- (taken when free, kept by its holder, renewed by every call) makes one process of the domain evaluate the
-- rules; the rule's state lives here, so a process that takes the lease over goes on where the last stopped,
-- and a switch happens (and is told) once even if two processes believed they held the lease.
-- The condition holding for for_ms puts the rule in force ('blending_started'); being clear for restore_ms
-- takes it out ('blending_ended'). The capacities themselves are set by set_agent.lua, from Python.
-- KEYS[1] P:built
-- ARGV[1] P, [2] node id, [3] lease ms, [4] rule id, [5] condition holds ("1" | "0"), [6] for ms,
-- [7] restore ms, [8] event data JSON (channel, group, capacity, condition, threshold, value)
-- Returns {1, active (1|0), since ms (0 when not in force), switched (1|0)}, or {0} when another process
-- holds the lease (nothing is read or changed).
local lease = P .. ':blendlease'
local holder = redis.call('GET', lease)
if holder ~= false and holder ~= ARGV[2] then return {0} end
redis.call('SET', lease, ARGV[2], 'PX', tonumber(ARGV[3]))
local key = P .. ':blend:' .. ARGV[4]
local t = now_ms()
local holds = ARGV[5] == '1'
local for_ms, restore_ms = tonumber(ARGV[6]), tonumber(ARGV[7])
local st = redis.call('HMGET', key, 'active', 'since', 'held', 'cleared')
local active, since = st[1] == '1', tonumber(st[2] or 0) or 0
local function tell(kind)
  local data = cjson.decode(ARGV[8])
  data.rule = ARGV[4]
  data.since = since
  data.at = t
  emit(kind, data)
end
if not active then
  if not holds then
    redis.call('HDEL', key, 'held')
    return {1, 0, 0, 0}
  end
  local held = tonumber(st[3] or '') or t
  if st[3] == false then redis.call('HSET', key, 'held', t) end
  if t - held < for_ms then return {1, 0, 0, 0} end
  since = t
  redis.call('HSET', key, 'active', '1', 'since', t)
  redis.call('HDEL', key, 'held', 'cleared')
  tell('blending_started')
  return {1, 1, since, 1}
end
if holds then
  redis.call('HDEL', key, 'cleared')
  return {1, 1, since, 0}
end
local cleared = tonumber(st[4] or '') or t
if st[4] == false then redis.call('HSET', key, 'cleared', t) end
if t - cleared < restore_ms then return {1, 1, since, 0} end
redis.call('HSET', key, 'active', '0', 'since', 0)
redis.call('HDEL', key, 'held', 'cleared')
tell('blending_ended')
return {1, 0, 0, 1}
