-- accept.lua: the agent takes an offer; the interaction becomes assigned to it.
-- KEYS[1] P:built
-- ARGV[1] P, [2] agent id, [3] offer id
-- Returns {interaction id, 1 when it is a callback else 0} (the desktop's assigned frame reads the
-- callback's number only then); E.NOT_READY, E.NO_SUCH_OFFER (expired or revoked), E.NOT_YOUR_OFFER.
if not ready() then return E.NOT_READY end
local agent, offer = ARGV[2], ARGV[3]
local okey = P .. ':o:' .. offer
local o = redis.call('HMGET', okey, 'i', 'a', 'deadline')
if not o[1] then return E.NO_SUCH_OFFER end
if o[2] ~= agent then return E.NOT_YOUR_OFFER end
local iid = o[1]
redis.call('DEL', okey)
redis.call('SREM', P .. ':ao:' .. agent, offer)
redis.call('ZREM', P .. ':timers', 'o:' .. offer)
redis.call('HSET', P .. ':i:' .. iid, 'st', 'assigned')
redis.call('HDEL', P .. ':i:' .. iid, 'offer')
redis.call('SADD', P .. ':aw:' .. agent, iid)
local i = redis.call('HMGET', P .. ':i:' .. iid, 'q', 'cb')
emit('assigned', {interaction_id = iid, agent_id = agent, queue = i[1], offer_id = offer})
return {iid, (i[2] and i[2] ~= '') and 1 or 0}
