-- restore.lua: load interactions from PostgreSQL into the live index (rebuild after a flush, or the
-- reconciler repairing a gap). Items already present are left alone. Waiting items are queued without
-- matching, on the widening step their wait has reached; held items restore the agent's load and wrap-up
-- timers. Reject cooldowns still running come back with the timers that end them; ended ones do not.
-- KEYS[1] P:built
-- ARGV[1] P, [2] JSON list of {id, q, ch, score, arr, st ("waiting"|"assigned"|"wrapup"), agent,
-- wrapup_until_ms, venq, avoid (agents never offered it, comma separated), ix ({agent: excluded until ms}),
-- cb (a callback's number, absent for others), held_until (ms: a waiting callback held back until then)},
-- [3] reconnect grace ms for held work of agents not connected
-- Returns the number of interactions added.
local items = cjson.decode(ARGV[2])
local added = 0
local t = now_ms()
for _, it in ipairs(items) do
  local ikey = P .. ':i:' .. it.id
  if redis.call('EXISTS', ikey) == 0 then
    added = added + 1
    local venq = tonumber(it.venq) or (tonumber(it.score) % PRIORITY_SPAN)
    redis.call('HSET', ikey, 'q', it.q, 'ch', it.ch, 'score', it.score, 'arr', it.arr, 'st', it.st,
               'venq', venq)
    if it.avoid and it.avoid ~= '' then redis.call('HSET', ikey, 'avoid', ',' .. it.avoid .. ',') end
    if type(it.ix) == 'table' then
      for agent, until_ms in pairs(it.ix) do
        if tonumber(until_ms) > t then exclude_until(it.id, agent, tonumber(until_ms)) end
      end
    end
    if it.cb and it.cb ~= '' then redis.call('HSET', ikey, 'cb', it.cb) end
    if it.st == 'waiting' then
      redis.call('ZADD', P .. ':q:' .. it.q, it.score, it.id)
      redis.call('ZADD', P .. ':qage:' .. it.q, it.arr, it.id)
      schedule_step(it.id, it.q, venq, t)
      if it.cb and tonumber(it.held_until or 0) > t then hold_callback(it.id, it.q, tonumber(it.held_until)) end
    else
      redis.call('HSET', ikey, 'agent', it.agent)
      redis.call('SADD', P .. ':aw:' .. it.agent, it.id)
      redis.call('HINCRBY', P .. ':a:' .. it.agent, 'load:' .. it.ch, 1)
      if it.st == 'wrapup' then
        redis.call('ZADD', P .. ':timers', it.wrapup_until_ms, 'w:' .. it.id)
      elseif redis.call('HGET', P .. ':a:' .. it.agent, 'connected') ~= '1' then
        redis.call('ZADD', P .. ':timers', 'NX', t + tonumber(ARGV[3]), 'g:' .. it.agent)
      end
    end
  end
end
return added
