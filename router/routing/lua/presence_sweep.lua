-- presence_sweep.lua: what one heartbeat of a router process checks, in one call (reads only; the
-- caller changes presence through agent_presence.lua, which checks the session again). Run every
-- heartbeat by every process: at 20,000 connected agents the per-agent reads it replaces were tens of
-- thousands of pipelined commands a second, parsed in the router.
-- KEYS[1] P:built
-- ARGV[1] P, [2..] the agent ids of this process's own open desktops
-- Returns {dead, lost}:
--   dead  {agent, node, session, ...}: connected agents whose process's heartbeat key is gone
--   lost  {agent, ...}: of the given agents, those the live index holds neither connected nor with a
--         session (a flush, or a sweep that judged too soon): the caller announces them again
local alive = {}
local dead = {}
for _, a in ipairs(redis.call('SMEMBERS', P .. ':connected')) do
  local v = redis.call('HMGET', P .. ':a:' .. a, 'node', 'session')
  local n = v[1]
  if n and n ~= '' then
    local up = alive[n]
    if up == nil then
      up = redis.call('EXISTS', P .. ':node:' .. n) == 1
      alive[n] = up
    end
    if not up then
      dead[#dead + 1] = a
      dead[#dead + 1] = n
      dead[#dead + 1] = v[2] or ''
    end
  end
end
local lost = {}
for k = 2, #ARGV do
  local v = redis.call('HMGET', P .. ':a:' .. ARGV[k], 'connected', 'session')
  if v[1] ~= '1' and not v[2] then lost[#lost + 1] = ARGV[k] end
end
return {dead, lost}
