-- callback_result.lua: the agent holding a callback says how the call went. connected: the work goes on
-- as assigned work. Otherwise (no_answer, busy, failed) the agent's hold ends (capacity frees, the agent
-- is matched again) and, with a retry, the interaction is held back at its original rank until the retry
-- time ('b:' timer); without one (the attempts are used up) it leaves the live index.
-- KEYS[1] P:built
-- ARGV[1] P, [2] agent id, [3] interaction id, [4] outcome, [5] retry after ms (-1: no retry, it ends),
-- [6] the call's attempt number
-- Returns {"connected" | "retry" | "ended", retry at ms or 0}; E.NOT_READY, E.NOT_HELD,
-- E.NOT_A_CALLBACK.
if not ready() then return E.NOT_READY end
local agent, iid, outcome = ARGV[2], ARGV[3], ARGV[4]
local retry_ms, attempt = tonumber(ARGV[5]), tonumber(ARGV[6])
if redis.call('SISMEMBER', P .. ':aw:' .. agent, iid) == 0 then return E.NOT_HELD end
local ikey = P .. ':i:' .. iid
local v = redis.call('HMGET', ikey, 'st', 'q', 'ch', 'cb')
if not v[4] or v[4] == '' then return E.NOT_A_CALLBACK end
if v[1] ~= 'assigned' then return E.NOT_HELD end
local t = now_ms()
local data = {interaction_id = iid, agent_id = agent, queue = v[2], outcome = outcome, attempt = attempt}
if outcome == 'connected' then
  emit('callback_result', data)
  return {'connected', 0}
end
if retry_ms < 0 then
  data.ended = true
  emit('callback_result', data)
  finish_work(iid, t, 'callback_unreachable')
  return {'ended', 0}
end
local at = t + retry_ms
data.retry_at = at
emit('callback_result', data)
redis.call('SREM', P .. ':aw:' .. agent, iid)
release_load(agent, v[3])
hold_callback(iid, v[2], at)
emit('work_ended', {interaction_id = iid, agent_id = agent, queue = v[2], reason = 'callback_' .. outcome})
match_agent(agent, t, 16)
return {'retry', at}
