-- enqueue.lua: put a new interaction in its queue and offer it at once if an agent is free.
-- Idempotent: an interaction already in the live index is left as it is.
-- KEYS[1] P:built
-- ARGV[1] P, [2] interaction id, [3] queue, [4] channel, [5] rank score, [6] arrival ms,
-- [7] an agent not to offer it to ("" for none: a transfer is not offered back to the agent who made it),
-- [8] preferred agents, comma separated ("" for none), [9] how long the preference holds (ms),
-- [10] agents never to offer it to, comma separated, [11] virtual enqueue ms (widening steps count from it),
-- [12] the agent who transfers it to the one preferred agent, cold ("" for none): offered only to that
-- agent for as long as the preference holds; if the target rejects it, misses it or is not there, it
-- stays in the queue for anyone and a 'transfer_failed' event tells the sender, [13] warm: the interaction
-- the sender keeps until the target accepts ("" for a cold transfer); if the target does not take it,
-- this copy is removed instead
-- Returns {status, offer id or "", position (1-based, 0 when offered)}; E.NOT_READY.
if not ready() then return E.NOT_READY end
local iid, q, ch, score, arr = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local ikey = P .. ':i:' .. iid
local t = now_ms()
if redis.call('EXISTS', ikey) == 0 then
  local venq = tonumber(ARGV[11] or '') or (tonumber(score) % PRIORITY_SPAN)
  local pref, avoid = ARGV[8] or '', ARGV[10] or ''
  redis.call('HSET', ikey, 'q', q, 'ch', ch, 'score', score, 'arr', arr, 'st', 'waiting', 'venq', venq)
  if avoid ~= '' then redis.call('HSET', ikey, 'avoid', ',' .. avoid .. ',') end
  local window = tonumber(ARGV[9] or '0') or 0
  if pref ~= '' and window > 0 then
    redis.call('HSET', ikey, 'pref', ',' .. pref .. ',', 'pref_until', t + window)
    redis.call('ZADD', P .. ':timers', t + window, 'p:' .. iid)
    for agent in string.gmatch(pref, '[^,]+') do redis.call('SADD', P .. ':apref:' .. agent, iid) end
    if ARGV[12] and ARGV[12] ~= '' then redis.call('HSET', ikey, 'dir', ARGV[12], 'warm', ARGV[13] or '') end
  end
  redis.call('ZADD', P .. ':q:' .. q, score, iid)
  redis.call('ZADD', P .. ':qage:' .. q, arr, iid)
  if ARGV[7] and ARGV[7] ~= '' then redis.call('ZADD', P .. ':ix:' .. iid, FOREVER, ARGV[7]) end
  schedule_step(iid, q, venq, t, true)
  emit('enqueued', {interaction_id = iid, queue = q, channel = ch})
  match_interaction(iid, t)
end
local st = redis.call('HMGET', ikey, 'st', 'offer')
local rank = redis.call('ZRANK', P .. ':q:' .. q, iid)
return {st[1], st[2] or '', rank and (rank + 1) or 0}
