-- timers.lua: fire what is due:
--   o:<offer>            an offer timed out: the interaction goes back to its original place (the agent is
--                        not excluded) and the agent is made not ready (ARGV[3], reason "missed");
--   w:<interaction>      wrap-up ended: capacity frees;
--   g:<agent>            a reconnect grace ran out: held work goes back to its queue;
--   s:<interaction>      the interaction's wait reached its queue's next widening step;
--   p:<interaction>      its preference window closed (a transfer to a named agent fails: 'expired');
--   c:<interaction>:<agent>  a reject cooldown ended: the agent may be offered it again;
--   b:<interaction>      a callback held back (not_before, or a retry) waits again at its original rank;
--   f:<interaction>      its wait reached an overflow rule: it moves to the rule's queue (an offered one is
--                        looked at again when the offer's deadline has passed, a held callback when it
--                        waits again);
--   h:<queue>            a queue that holds its work while closed opens: its agents take that work.
-- Everything that changes who may take work matches again in the same call.
-- KEYS[1] P:built
-- ARGV[1] P, [2] max items to fire, [3] the state a missed offer puts the agent in ("away" | "offline")
-- Returns a flat list of fired items, three entries each (kind, id, extra); E.NOT_READY.
--   o: interaction id, agent id        w: interaction id, agent id or ""
--   g: agent id, requeued interactions joined by ","
--   s: interaction id, the new step index    p: interaction id, ""    c: interaction id, agent id
--   b: interaction id, the offer made at once or ""
--   f: interaction id, "<queue it left>,<queue it went to>"     h: queue id, the number of offers made
if not ready() then return E.NOT_READY end
local t = now_ms()
local missed_state = ARGV[3] or 'away'
local due = redis.call('ZRANGEBYSCORE', P .. ':timers', '-inf', t, 'LIMIT', 0, tonumber(ARGV[2]))
local fired = {}
local function out(kind, id, extra)
  table.insert(fired, kind); table.insert(fired, id); table.insert(fired, extra)
end
for _, item_name in ipairs(due) do
  redis.call('ZREM', P .. ':timers', item_name)
  local kind, id = string.sub(item_name, 1, 1), string.sub(item_name, 3)
  if kind == 'o' then
    local iid, agent = drop_offer(id, t, 'timeout', false)
    if iid then
      local a = P .. ':a:' .. agent
      if redis.call('HGET', a, 'state') == 'available' then
        set_presence(agent, missed_state, 'missed', t)
        local s = redis.call('HMGET', a, 'connected', 'session', 'epoch')
        emit('agent', {agent_id = agent, state = missed_state, reason = 'missed', since = t, connected = s[1] == '1',
                       session = s[2] or '', epoch = tonumber(s[3] or '0')})
        release_preferences(agent, t)
      end
      redis.call('HINCRBY', a, 'missed', 1)
      match_interaction(iid, t)
      out('o', iid, agent)
    end
  elseif kind == 'w' then
    local agent = finish_work(id, t, 'wrapup_ended')
    out('w', id, agent or '')
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
          requeue(iid, t)
          table.insert(back, iid)
        else
          forget(iid)
        end
      end
      for _, iid in ipairs(back) do match_interaction(iid, t) end
      emit_json('grace_expired', '{"agent_id":' .. cjson.encode(id) .. ',"requeued":' .. json_list(back) .. '}')
      out('g', id, table.concat(back, ','))
    end
  elseif kind == 's' then
    local it = item(id)
    if it.q then
      local k = schedule_step(id, it.q, it.venq, t)
      if k ~= it.step then
        local c = queue_cfg(it.q)
        emit('step_changed', {interaction_id = id, queue = it.q, step = k, levels = levels_of(c, k),
                              after_ms = k > 0 and c.steps[k].after_ms or 0})
        match_interaction(id, t)
        out('s', id, tostring(k))
      end
    end
  elseif kind == 'p' then
    local it = item(id)
    if it.q and it.dir ~= '' then
      if fail_direct(id, 'expired') ~= 'gone' and it.st == 'waiting' then match_interaction(id, t) end
      out('p', id, '')
    elseif it.q and it.pref ~= '' then
      for agent in string.gmatch(it.pref, '[^,]+') do redis.call('SREM', P .. ':apref:' .. agent, id) end
      redis.call('HSET', P .. ':i:' .. id, 'pref', '', 'pref_until', 0)
      if it.st == 'waiting' then
        local agents = {}
        for agent in string.gmatch(it.pref, '[^,]+') do table.insert(agents, agent) end
        emit('preference_expired', {interaction_id = id, queue = it.q, agents = agents})
        match_interaction(id, t)
      end
      out('p', id, '')
    end
  elseif kind == 'c' then
    local sep = string.find(id, ':', 1, true)
    local iid, agent = string.sub(id, 1, sep - 1), string.sub(id, sep + 1)
    local u = redis.call('ZSCORE', P .. ':ix:' .. iid, agent)
    if u and tonumber(u) <= t then
      redis.call('ZREM', P .. ':ix:' .. iid, agent)
      match_interaction(iid, t)
      out('c', iid, agent)
    end
  elseif kind == 'f' then
    local ikey = P .. ':i:' .. id
    local v = redis.call('HMGET', ikey, 'st', 'ofrom', 'q', 'ovk', 'offer')
    if v[1] == 'offered' then
      local deadline = tonumber(redis.call('HGET', P .. ':o:' .. (v[5] or ''), 'deadline') or '') or t
      redis.call('ZADD', P .. ':timers', math.max(deadline, t) + 1, 'f:' .. id)
    elseif v[1] == 'held' then
      -- a callback held back: looked at again once it waits again
      local held = tonumber(redis.call('HGET', ikey, 'held_until') or '') or t
      redis.call('ZADD', P .. ':timers', math.max(held, t) + 1, 'f:' .. id)
    elseif v[1] == 'waiting' then
      local owner, k = v[2] or v[3], tonumber(v[4] or '0') or 0
      local it = item(id)
      local rules, j = queue_rules(owner).overflow, k
      for n, rule in ipairs(rules) do
        if n > k and it.venq + rule.after_ms <= t then j = n end
      end
      if j > k then
        local rule = rules[j]
        redis.call('HSET', ikey, 'ofrom', owner, 'ovk', j)
        local secs = string.format('%g', rule.after_ms / 1000)
        if rule.queue == v[3] then
          schedule_overflow(id, it.venq, t)
        elseif move_waiting(id, rule.queue, t, 'overflowed from ' .. v[3] .. ' after ' .. secs .. ' s',
                            {reason = 'overflow', after_seconds = rule.after_ms / 1000}) then
          match_interaction(id, t)
          out('f', id, v[3] .. ',' .. rule.queue)
        end
      else
        schedule_overflow(id, it.venq, t)
      end
    end
  elseif kind == 'h' then
    local made = open_queue(id, t)
    schedule_opening(id, t)
    out('h', id, tostring(made))
  elseif kind == 'b' then
    local offer = release_callback(id, t)
    if offer ~= nil then out('b', id, offer or '') end
  end
end
return fired
