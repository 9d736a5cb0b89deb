-- customer_end.lua: the customer hung up or left. Waiting: removed (abandoned). Offered: the offer is
-- revoked and the interaction removed. Assigned or in wrap-up: the agent keeps it until completing.
-- A callback (a customer who hangs up to be called back is never ended here: its record is not ended)
-- is removed the same way when its record was ended otherwise, with 'callback_cancelled', not
-- 'abandoned'; held back ("held"), it is removed with its timer.
-- KEYS[1] P:built
-- ARGV[1] P, [2] interaction id
-- Returns the live status it had ("waiting", "offered", "held", "assigned", "wrapup") or "" if unknown;
-- E.NOT_READY.
if not ready() then return E.NOT_READY end
local iid = ARGV[2]
local ikey = P .. ':i:' .. iid
local i = redis.call('HMGET', ikey, 'st', 'q', 'offer', 'agent', 'cb')
if not i[1] then return '' end
local t = now_ms()
if i[1] == 'waiting' or i[1] == 'offered' or i[1] == 'held' then
  if i[1] == 'offered' and i[3] then
    drop_offer(i[3], t, 'customer_left', false)
    match_agent(i[4], t, 16)
  end
  redis.call('ZREM', P .. ':q:' .. i[2], iid)
  redis.call('ZREM', P .. ':qage:' .. i[2], iid)
  forget(iid)
  if i[5] and i[5] ~= '' then
    emit('callback_cancelled', {interaction_id = iid, queue = i[2]})
  else
    emit('abandoned', {interaction_id = iid, queue = i[2]})
  end
else
  emit('customer_left', {interaction_id = iid, agent_id = i[4], queue = i[2]})
end
return i[1]
