-- timers.lua: fire what is due: offer timeouts (requeue at the original place, agent excluded),
-- wrap-up ends (capacity frees), reconnect grace periods that ran out (held work goes back to its queue).
-- KEYS[1] P:built
-- ARGV[1] P, [2] max items to fire
-- Returns a flat list of fired items: kind ("o" | "w" | "g"), id, and for "g" the requeued interactions
-- joined by ","; E.NOT_READY.
if not ready() then return E.NOT_READY end
local t = now_ms()
local due = redis.call('ZRANGEBYSCORE', P .. ':timers', '-inf', t, 'LIMIT', 0, tonumber(ARGV[2]))
local fired = {}
for _, item in ipairs(due) do
  redis.call('ZREM', P .. ':timers', item)
  local kind, id = string.sub(item, 1, 1), string.sub(item, 3)
  if kind == 'o' then
    local iid, agent = drop_offer(id, t, 'timeout', true)
    if iid then
      match_interaction(iid, t)
      match_agent(agent, t, 16)
      table.insert(fired, 'o'); table.insert(fired, iid); table.insert(fired, agent)
    end
  elseif kind == 'w' then
    local agent = finish_work(id, t, 'wrapup_ended')
    table.insert(fired, 'w'); table.insert(fired, id); table.insert(fired, agent or '')
  elseif kind == 'g' then
    local a = P .. ':a:' .. id
    if redis.call('HGET', a, 'connected') ~= '1' then
      local back = {}
      for _, iid in ipairs(redis.call('SMEMBERS', P .. ':aw:' .. id)) do
        local ikey = P .. ':i:' .. iid
        local ch = redis.call('HGET', ikey, 'ch')
        redis.call('SREM', P .. ':aw:' .. id, iid)
        if ch then release_load(id, ch) end
        if redis.call('HGET', ikey, 'st') == 'assigned' then
          requeue(iid, t, nil)
          table.insert(back, iid)
        else
          redis.call('ZREM', P .. ':timers', 'w:' .. iid)
          redis.call('DEL', ikey, P .. ':ix:' .. iid)
        end
      end
      for _, iid in ipairs(back) do match_interaction(iid, t) end
      emit_json('grace_expired', '{"agent_id":' .. cjson.encode(id) .. ',"requeued":' .. json_list(back) .. '}')
      table.insert(fired, 'g'); table.insert(fired, id); table.insert(fired, table.concat(back, ','))
    end
  end
end
return fired
