-- release.lua: end the agent's hold on an interaction now (wrap-up ended early, transferred):
-- capacity frees and the agent is matched again.
-- KEYS[1] P:built
-- ARGV[1] P, [2] agent id, [3] interaction id, [4] reason
-- Returns 1; E.NOT_READY, E.NOT_HELD.
if not ready() then return E.NOT_READY end
local agent, iid = ARGV[2], ARGV[3]
if redis.call('SISMEMBER', P .. ':aw:' .. agent, iid) == 0 then return E.NOT_HELD end
finish_work(iid, now_ms(), ARGV[4])
return 1
