-- agent_presence.lua: a desktop socket connects, changes state, or disconnects.
-- KEYS[1] P:built
-- ARGV[1] P, [2] agent id, [3] op ("connect" | "state" | "disconnect"), [4] session id, [5] node id,
-- [6] state (available|away|offline; "" on connect keeps the last one), [7] grace ms (disconnect: how long
-- assignments wait for a reconnect), [8] not-ready reason ("" for none; kept with the last state on a
-- connect that keeps it). Which reasons an agent may give is checked before the call ([presence]
-- away_reasons); the script records whatever it is given.
-- A connect takes over from any older session of the same agent and gives the new one an epoch larger than
-- any before it (max(now ms, last epoch + 1), so it keeps growing across a rebuilt index): of two racing
-- desktops the one with the larger epoch is the current session, and processes close the other one.
-- "state" and "disconnect" from a session that is no longer current change nothing (E.STALE_SESSION).
-- The 'agent' event of a connect or a state change names the session and its epoch. Every change of
-- presence is an 'agent_state' event (lib.lua set_presence): a connect records the state the desktop is
-- in, a disconnect records "offline" with reason "disconnected" (the live state is kept for the reconnect).
-- An agent who stops being present (away, offline, disconnected) no longer holds back the work that
-- prefers it: that work is matched again at once.
-- Returns {state, since ms, epoch, reason}; E.NOT_READY, E.STALE_SESSION, E.UNKNOWN_AGENT.
if not ready() then return E.NOT_READY end
local agent, op, session, node, state = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local reason = ARGV[8] or ''
local a = P .. ':a:' .. agent
if redis.call('EXISTS', a) == 0 then return E.UNKNOWN_AGENT end
local t = now_ms()
local was_connected = redis.call('HGET', a, 'connected') == '1'
if op == 'connect' then
  local epoch = math.max(t, tonumber(redis.call('HGET', a, 'epoch') or '0') + 1)
  redis.call('HSET', a, 'session', session, 'node', node, 'connected', '1', 'epoch', string.format('%d', epoch))
  redis.call('SADD', P .. ':connected', agent)
  redis.call('ZREM', P .. ':timers', 'g:' .. agent)
  if state == '' then
    local last = redis.call('HMGET', a, 'state', 'reason')
    state, reason = last[1] or 'away', last[2] or ''
  end
  op = 'state'
elseif redis.call('HGET', a, 'session') ~= session then
  return E.STALE_SESSION
end
if op == 'disconnect' then
  redis.call('HSET', a, 'connected', '0')
  redis.call('HDEL', a, 'session', 'node')
  redis.call('SREM', P .. ':connected', agent)
  for _, q in ipairs(redis.call('SMEMBERS', P .. ':aqueues:' .. agent)) do
    redis.call('ZREM', P .. ':qavail:' .. q, agent)
  end
  release_preferences(agent, t)
  for _, offer in ipairs(redis.call('SMEMBERS', P .. ':ao:' .. agent)) do
    local iid = drop_offer(offer, t, 'disconnected', false)
    if iid then match_interaction(iid, t) end
  end
  if redis.call('SCARD', P .. ':aw:' .. agent) > 0 then
    redis.call('ZADD', P .. ':timers', t + tonumber(ARGV[7]), 'g:' .. agent)
  end
  emit('agent', {agent_id = agent, connected = false})
  local s = redis.call('HMGET', a, 'state', 'since', 'epoch', 'reason')
  if was_connected and s[1] ~= 'offline' then
    emit_presence(agent, 'offline', 'disconnected', t, t, false)
  end
  return {s[1] or 'away', s[2] or tostring(t), s[3] or '0', s[4] or ''}
end
-- op == 'state'
local changed = set_presence(agent, state, reason, t)
if not changed and not was_connected then
  -- back from a dropped desktop in the state it had: the history says so
  local s = redis.call('HMGET', a, 'since')
  emit_presence(agent, state, reason, t, tonumber(s[1] or t) or t, true)
end
if state ~= 'available' then release_preferences(agent, t) end
local epoch = redis.call('HGET', a, 'epoch') or '0'
emit('agent', {agent_id = agent, state = state, connected = true, session = session, epoch = tonumber(epoch)})
if state == 'available' then match_agent(agent, t, 16) end
local s = redis.call('HMGET', a, 'state', 'since', 'reason')
return {s[1], s[2], epoch, s[3] or ''}
