-- customer_end.lua: the customer hung up or left. Waiting: removed (abandoned). Offered: the offer is
-- revoked and the interaction removed. Assigned or in wrap-up: the agent keeps it until completing.
-- KEYS[1] P:built
-- ARGV[1] P, [2] interaction id
-- Returns the live status it had ("waiting", "offered", "assigned", "wrapup") or "" if unknown;
-- E.NOT_READY.
if not ready() then return E.NOT_READY end
local iid = ARGV[2]
local ikey = P .. ':i:' .. iid
local i = redis.call('HMGET', ikey, 'st', 'q', 'offer', 'agent')
if not i[1] then return '' end
local t = now_ms()
if i[1] == 'waiting' or i[1] == 'offered' then
  if i[1] == 'offered' and i[3] then
    drop_offer(i[3], t, 'customer_left', false)
    match_agent(i[4], t, 16)
  end
  redis.call('ZREM', P .. ':q:' .. i[2], iid)
  redis.call('ZREM', P .. ':qage:' .. i[2], iid)
  forget(iid)
  emit('abandoned', {interaction_id = iid, queue = i[2]})
else
  emit('customer_left', {interaction_id = iid, agent_id = i[4], queue = i[2]})
end
return i[1]
