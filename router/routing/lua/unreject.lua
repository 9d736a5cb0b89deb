-- unreject.lua: take back a reject whose record could not be written (PostgreSQL unreachable), so no
-- reject is ever half applied: the very offer comes back (same id, same deadline, the agent's
-- capacity held again, the exclusion lifted) and an 'offer' event tells the desktop. Refused when the
-- live index has moved on since the reject (the interaction was offered elsewhere or ended, the
-- deadline passed, the agent disconnected or has no room): the reject then stands.
-- KEYS[1] P:built
-- ARGV[1] P, [2] agent id, [3] offer id, [4] interaction id, [5] the offer's deadline ms, [6] its why (JSON)
-- Returns 1; E.NOT_READY, E.MOVED_ON.
if not ready() then return E.NOT_READY end
local agent, offer, iid, deadline = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local ikey = P .. ':i:' .. iid
local i = redis.call('HMGET', ikey, 'st', 'q', 'ch')
local t = now_ms()
if i[1] ~= 'waiting' or deadline <= t or redis.call('EXISTS', P .. ':o:' .. offer) == 1
   or redis.call('HGET', P .. ':a:' .. agent, 'connected') ~= '1' or not has_capacity(agent, i[3]) then
  return E.MOVED_ON
end
local q, ch = i[2], i[3]
redis.call('ZREM', P .. ':ix:' .. iid, agent)
redis.call('ZREM', P .. ':timers', 'c:' .. iid .. ':' .. agent)
redis.call('HSET', P .. ':o:' .. offer, 'i', iid, 'a', agent, 'deadline', deadline)
if ARGV[6] and ARGV[6] ~= '' then redis.call('HSET', P .. ':o:' .. offer, 'why', ARGV[6]) end
redis.call('SADD', P .. ':ao:' .. agent, offer)
redis.call('ZADD', P .. ':timers', deadline, 'o:' .. offer)
redis.call('HSET', ikey, 'st', 'offered', 'agent', agent, 'offer', offer)
redis.call('ZREM', P .. ':q:' .. q, iid)
redis.call('ZREM', P .. ':qage:' .. q, iid)
redis.call('HINCRBY', P .. ':a:' .. agent, 'load:' .. ch, 1)
emit('offer', {offer_id = offer, interaction_id = iid, agent_id = agent, deadline = deadline,
               queue = q, channel = ch})
return 1
