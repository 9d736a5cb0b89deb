-- complete.lua: the agent finishes an assigned interaction; wrap-up starts. Capacity stays held
-- until wrap-up ends (timer or end_wrapup).
-- KEYS[1] P:built
-- ARGV[1] P, [2] agent id, [3] interaction id, [4] wrap-up ms (0: none)
-- Returns the wrap-up end ms (0 when released at once); E.NOT_READY, E.NOT_HELD,
-- E.ALREADY_IN_WRAPUP.
if not ready() then return E.NOT_READY end
local agent, iid, wrap = ARGV[2], ARGV[3], tonumber(ARGV[4])
if redis.call('SISMEMBER', P .. ':aw:' .. agent, iid) == 0 then return E.NOT_HELD end
local ikey = P .. ':i:' .. iid
if redis.call('HGET', ikey, 'st') == 'wrapup' then return E.ALREADY_IN_WRAPUP end
local t = now_ms()
if wrap <= 0 then
  finish_work(iid, t, 'completed')
  return 0
end
redis.call('HSET', ikey, 'st', 'wrapup', 'wrapup_until', t + wrap)
redis.call('ZADD', P .. ':timers', t + wrap, 'w:' .. iid)
emit('wrapup_started', {interaction_id = iid, agent_id = agent, until_ms = t + wrap,
                        queue = redis.call('HGET', ikey, 'q')})
return t + wrap
