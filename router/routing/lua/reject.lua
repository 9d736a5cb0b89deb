-- reject.lua: the agent declines an offer; the interaction goes back to its original place in the
-- queue, is not offered to this agent again until the queue's reject cooldown has passed (a timer then
-- ends the exclusion and matches it again). Nothing is matched here: the caller writes the record, then
-- runs rematch.lua (or unreject.lua when the record could not be written), so this step can be taken
-- back exactly.
-- KEYS[1] P:built
-- ARGV[1] P, [2] agent id, [3] offer id
-- Returns {interaction id, excluded until ms}; E.NOT_READY, E.NO_SUCH_OFFER, E.NOT_YOUR_OFFER.
if not ready() then return E.NOT_READY end
local agent, offer = ARGV[2], ARGV[3]
local o = redis.call('HMGET', P .. ':o:' .. offer, 'i', 'a')
if not o[1] then return E.NO_SUCH_OFFER end
if o[2] ~= agent then return E.NOT_YOUR_OFFER end
local t = now_ms()
local q = redis.call('HGET', P .. ':i:' .. o[1], 'q')
local until_ms = t + (q and queue_cfg(q).cooldown or 0)
local iid = drop_offer(offer, t, 'rejected', until_ms)
return {iid, until_ms}
