-- move.lua: move a waiting interaction to another queue (a bot that learnt what the customer wants while
-- they waited), keeping its place: its virtual enqueue time and priority. It then follows the target's
-- overflow rules from the start, and is matched there at once.
-- KEYS[1] P:built
-- ARGV[1] P, [2] interaction id, [3] target queue
-- Returns {"moved", queue it left} | {"same", queue} (already there) | {"offered" | "assigned" | "wrapup",
-- queue} (not waiting: nothing changed) | {"", ""} (not in the live index); E.NOT_READY.
if not ready() then return E.NOT_READY end
local iid, target = ARGV[2], ARGV[3]
local ikey = P .. ':i:' .. iid
local v = redis.call('HMGET', ikey, 'st', 'q')
if not v[1] then return {'', ''} end
if v[1] ~= 'waiting' then return {v[1], v[2]} end
if v[2] == target then return {'same', target} end
local t = now_ms()
redis.call('HSET', ikey, 'ofrom', target, 'ovk', 0)
local from = move_waiting(iid, target, t, 'moved from ' .. v[2], {reason = 'moved'})
match_interaction(iid, t)
return {'moved', from}
