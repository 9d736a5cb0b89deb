-- unaccept.lua: take back an accept whose record could not be written (PostgreSQL unreachable), so no
-- accept is ever half applied: the interaction goes back to its queue at its original place and the
-- agent's capacity frees; the agent is not excluded (it did not refuse the work), and it is matched again
-- at once, so nobody waits beside a free agent (the same agent may well be offered it anew).
-- KEYS[1] P:built
-- ARGV[1] P, [2] agent id, [3] interaction id
-- Returns 1; E.NOT_READY, E.NOT_HELD (not assigned to that agent any more).
if not ready() then return E.NOT_READY end
local agent, iid = ARGV[2], ARGV[3]
local ikey = P .. ':i:' .. iid
if redis.call('SISMEMBER', P .. ':aw:' .. agent, iid) == 0 or redis.call('HGET', ikey, 'st') ~= 'assigned' then
  return E.NOT_HELD
end
redis.call('SREM', P .. ':aw:' .. agent, iid)
release_load(agent, redis.call('HGET', ikey, 'ch'))
local t = now_ms()
requeue(iid, t)
match_interaction(iid, t)
return 1
