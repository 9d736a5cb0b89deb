-- callback.lua: the customer of a waiting interaction asks to be called back. The interaction keeps its
-- rank (the same score in its queue) and is marked a callback (field cb: the number), so the customer may
-- hang up without abandoning. With a not_before in the future it is held back (out of the queue's sets,
-- not matchable) until the 'b:' timer puts it back at the same score; a not_before already passed (or
-- none) releases one held back before.
-- KEYS[1] P:built
-- ARGV[1] P, [2] interaction id, [3] number (E.164), [4] not before (ms, 0: none)
-- Returns {status ("waiting" | "held" | "offered"), offer id or ""}; E.NOT_READY, E.NOT_WAITING.
if not ready() then return E.NOT_READY end
local iid, number = ARGV[2], ARGV[3]
local ikey = P .. ':i:' .. iid
local v = redis.call('HMGET', ikey, 'st', 'q')
if v[1] ~= 'waiting' and v[1] ~= 'held' then return E.NOT_WAITING end
local t = now_ms()
local not_before = tonumber(ARGV[4]) or 0
redis.call('HSET', ikey, 'cb', number)
local data = {interaction_id = iid, queue = v[2], number = number}
if not_before > t then data.not_before = not_before end
emit('callback_requested', data)
local offer = false
if not_before > t then
  hold_callback(iid, v[2], not_before)
elseif v[1] == 'held' then
  offer = release_callback(iid, t)
end
local st = redis.call('HGET', ikey, 'st')
return {st, offer or ''}
