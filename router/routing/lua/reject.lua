-- reject.lua: the agent declines an offer; the interaction goes back to its original place in the
-- queue and is not offered to this agent again. Nothing is matched here: the caller writes the record,
-- then runs rematch.lua (or unreject.lua when the record could not be written), so this step can be
-- taken back exactly.
-- KEYS[1] P:built
-- ARGV[1] P, [2] agent id, [3] offer id
-- Returns the interaction id; E.NOT_READY, E.NO_SUCH_OFFER, E.NOT_YOUR_OFFER.
if not ready() then return E.NOT_READY end
local agent, offer = ARGV[2], ARGV[3]
local o = redis.call('HMGET', P .. ':o:' .. offer, 'i', 'a')
if not o[1] then return E.NO_SUCH_OFFER end
if o[2] ~= agent then return E.NOT_YOUR_OFFER end
local iid = drop_offer(offer, now_ms(), 'rejected', true)
return iid
