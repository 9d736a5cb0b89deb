-- queue_agents.lua: a queue's agents counted in one call (reads only): the supervisors' queue row. At
-- thousands of agents per queue this replaces three pipelined reads of every agent (and the parsing of
-- each answer in the router) with one script.
-- KEYS[1] P:built
-- ARGV[1] P, [2] queue id
-- Returns {available, busy, wrapup, state, count, state, count, ...}:
--   available  connected agents holding no work whose state is available
--   busy       connected agents holding work on any channel
--   wrapup     agents holding at least one interaction in wrap-up
--   by state   'offline' when not connected, 'busy' when holding work, otherwise the presence state
--              ('away' when none)
local q = ARGV[2]
local fields = {'connected', 'state'}
for _, ch in ipairs(CHANNELS) do fields[#fields + 1] = 'load:' .. ch end
local available, busy, wrapup = 0, 0, 0
local by_state = {available = 0, away = 0, busy = 0, offline = 0}
for _, a in ipairs(redis.call('SMEMBERS', P .. ':qagents:' .. q)) do
  local row = redis.call('HMGET', P .. ':a:' .. a, unpack(fields))
  local loaded = false
  for k = 3, #fields do
    if (tonumber(row[k]) or 0) > 0 then loaded = true break end
  end
  local state
  if row[1] ~= '1' then
    state = 'offline'
  elseif loaded then
    state = 'busy'
    busy = busy + 1
  else
    state = row[2]
    if not state or state == '' then state = 'away' end
    if state == 'available' then available = available + 1 end
  end
  by_state[state] = (by_state[state] or 0) + 1
  for _, iid in ipairs(redis.call('SMEMBERS', P .. ':aw:' .. a)) do
    if redis.call('HGET', P .. ':i:' .. iid, 'st') == 'wrapup' then
      wrapup = wrapup + 1
      break
    end
  end
end
local out = {available, busy, wrapup}
for state, n in pairs(by_state) do
  out[#out + 1] = state
  out[#out + 1] = n
end
return out
