-- uncomplete.lua: take back a complete whose record could not be written (PostgreSQL unreachable), so
-- no complete is ever half applied: the interaction is assigned to the agent again, its wrap-up timer
-- removed. Only the wrap-up that complete.lua started (same end) is taken back: one that already ended
-- (its timer fired) stands.
-- KEYS[1] P:built
-- ARGV[1] P, [2] agent id, [3] interaction id, [4] the wrap-up end ms complete.lua answered
-- Returns 1; E.NOT_READY, E.NOT_HELD.
if not ready() then return E.NOT_READY end
local agent, iid = ARGV[2], ARGV[3]
local ikey = P .. ':i:' .. iid
local i = redis.call('HMGET', ikey, 'st', 'wrapup_until', 'q')
if redis.call('SISMEMBER', P .. ':aw:' .. agent, iid) == 0 or i[1] ~= 'wrapup' or i[2] ~= ARGV[4] then
  return E.NOT_HELD
end
redis.call('HSET', ikey, 'st', 'assigned')
redis.call('HDEL', ikey, 'wrapup_until')
redis.call('ZREM', P .. ':timers', 'w:' .. iid)
emit('wrapup_undone', {interaction_id = iid, agent_id = agent, queue = i[3]})
return 1
