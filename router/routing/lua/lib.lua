-- lib.lua: functions shared by every omniroute script. The engine prepends this file to each
-- script before registering it, so each script stays one atomic EVALSHA.
--
-- Every key is P .. ':<segment>' or P .. ':<segment>:<id>', P being the routing domain's prefix (a hash
-- tag such as "{omniroute}", so every key of a domain lives in one Redis Cluster slot; KEYS[1] of every
-- script is P..":built"). The segments, their types and what they hold are the key catalogue in
-- router/routing/keys.py; a test fails on any segment used here that is not listed there.
-- Scripts refuse with E.<NAME> (router/routing/script_errors.py) and see the channel table as
-- CHANNELS and EXCLUSIVE; both come in headers generated when the scripts are registered.

local P = ARGV[1]
local SCAN_ITEMS = 64     -- waiting interactions read per ZRANGE page when matching an agent
local SCAN_AGENTS = 256   -- available agents read per ZRANGE page when matching an interaction
-- CHANNELS (every channel, in table order) and EXCLUSIVE (channel -> true) come from the channel table
-- (router/contracts/channels.py) in the header the engine puts before this file.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function emit_json(kind, json)
  redis.call('XADD', P .. ':events', 'MAXLEN', '~', 100000, '*', 'type', kind, 'data', json)
end

local function emit(kind, data)
  emit_json(kind, cjson.encode(data))
end

-- A list as JSON. cjson writes an empty table as an object ({}), so a list field would change type
-- on the wire when it is empty.
local function json_list(items)
  if #items == 0 then return '[]' end
  return cjson.encode(items)
end

local function ready()
  return redis.call('EXISTS', P .. ':built') == 1
end

-- The agent hash fields free_channels reads, in one HMGET: vblock, then cap:<ch> and load:<ch> per channel.
local CAPACITY_FIELDS = {'vblock'}
for _, ch in ipairs(CHANNELS) do
  table.insert(CAPACITY_FIELDS, 'cap:' .. ch)
  table.insert(CAPACITY_FIELDS, 'load:' .. ch)
end

-- The channels on which the agent can take one more interaction (one HMGET). Offers count against
-- capacity; an exclusive channel (voice) blocks the other channels while it holds work, and needs them
-- empty, unless the agent says otherwise (vblock "0"). Also returns whether any channel is free, and
-- the agent's capacity and load per channel (for the reasons and the least-occupied score).
local function free_channels(agent)
  local v = redis.call('HMGET', P .. ':a:' .. agent, unpack(CAPACITY_FIELDS))
  local vblock = v[1] ~= '0'
  local cap, load = {}, {}
  local busy_exclusive, busy_other = false, false
  for k, ch in ipairs(CHANNELS) do
    cap[ch] = tonumber(v[2 * k] or 0) or 0
    load[ch] = tonumber(v[2 * k + 1] or 0) or 0
    if load[ch] > 0 then
      if EXCLUSIVE[ch] then busy_exclusive = true else busy_other = true end
    end
  end
  local free, any = {}, false
  for _, ch in ipairs(CHANNELS) do
    local ok = load[ch] < cap[ch]
    if ok and vblock then
      if EXCLUSIVE[ch] then ok = not busy_other else ok = not busy_exclusive end
    end
    if ok then free[ch] = true; any = true end
  end
  return free, any, cap, load
end

local function has_capacity(agent, ch)
  local free = free_channels(agent)
  return free[ch] == true
end

-- Load across all channels relative to capacity (0 when the agent has no capacity at all).
local function occupancy(cap, load)
  local c, l = 0, 0
  for _, ch in ipairs(CHANNELS) do c = c + cap[ch]; l = l + load[ch] end
  if c == 0 then return 1 end
  return l / c
end

local function set_idle(agent, t)
  redis.call('HSET', P .. ':a:' .. agent, 'idle', t)
  local st = redis.call('HMGET', P .. ':a:' .. agent, 'state', 'connected')
  if st[1] == 'available' and st[2] == '1' then
    for _, q in ipairs(redis.call('SMEMBERS', P .. ':aqueues:' .. agent)) do
      redis.call('ZADD', P .. ':qavail:' .. q, t, agent)
    end
  end
end

-- An agent's presence changed: the 'agent_state' event {agent_id, state, reason, at, since, connected} is
-- the one record of it (a router service writes each to PostgreSQL's presence history, and the desktop and
-- the wallboard are told from it). Emitted by set_presence, and for a desktop that connects or drops.
local function emit_presence(agent, state, reason, t, since, connected)
  emit('agent_state', {agent_id = agent, state = state, reason = reason, at = t, since = since,
                       connected = connected})
end

-- Set an agent's state and not-ready reason ("" for none) the way every script must: the hash, the
-- queues' available sets, and the 'agent_state' event when something changed for a connected desktop.
-- A new reason restarts the time in state as a new state does. Returns true when state or reason changed.
-- Matching the agent after it became available is the caller's step.
local function set_presence(agent, state, reason, t)
  local a = P .. ':a:' .. agent
  local cur = redis.call('HMGET', a, 'state', 'reason', 'connected', 'idle', 'since')
  local changed = cur[1] ~= state or (cur[2] or '') ~= reason
  local since = tonumber(cur[5] or t) or t
  if changed then
    since = t
    redis.call('HSET', a, 'state', state, 'reason', reason, 'since', t)
  end
  local connected = cur[3] == '1'
  local queues = redis.call('SMEMBERS', P .. ':aqueues:' .. agent)
  if state == 'available' and connected then
    local idle = cur[4] or t
    if cur[1] ~= 'available' then idle = t; redis.call('HSET', a, 'idle', t) end
    for _, q in ipairs(queues) do redis.call('ZADD', P .. ':qavail:' .. q, idle, agent) end
  else
    for _, q in ipairs(queues) do redis.call('ZREM', P .. ':qavail:' .. q, agent) end
  end
  if changed and connected then emit_presence(agent, state, reason, t, since, true) end
  return changed
end

-- ------------------------------------------------------------------ queue configuration and skills

local PRIORITY_SPAN = 10000000000000  -- router/routing/engine.py PRIORITY_SPAN (rank = prio part + venq)
local QCFG, ASKILLS = {}, {}           -- read once per script call
local FOREVER = 9999999999999          -- an exclusion that never ends (ms, in the year 2286)

-- A queue's routing configuration: strategy, minimum levels, widening steps ({after_ms, levels}, sorted
-- by after_ms), reject cooldown, and the skill names the most-skilled score sums.
local function queue_cfg(q)
  local c = QCFG[q]
  if c then return c end
  local v = redis.call('HMGET', P .. ':qcfg:' .. q, 'timeout_ms', 'strategy', 'levels', 'steps', 'cooldown_ms',
                       'overflow', 'hours', 'hours_until')
  c = {timeout = tonumber(v[1] or '20000'), strategy = v[2] or 'longest_idle',
       levels = (v[3] and v[3] ~= '{}') and cjson.decode(v[3]) or {},
       steps = (v[4] and v[4] ~= '[]') and cjson.decode(v[4]) or {},
       cooldown = tonumber(v[5] or '30000'),
       -- waiting rules (queue_rules.lua): overflow [{after_ms, queue}]; open periods of a queue that holds
       -- its work while closed ([from_ms, to_ms], none: never held) known up to until_ms
       overflow = (v[6] and v[6] ~= '' and v[6] ~= '[]') and cjson.decode(v[6]) or {},
       hours = (v[7] and v[7] ~= '') and cjson.decode(v[7]) or nil,
       until_ms = tonumber(v[8] or '0') or 0}
  local names, seen = {}, {}
  local function add(levels)
    for skill, _ in pairs(levels) do
      if not seen[skill] then seen[skill] = true; table.insert(names, skill) end
    end
  end
  add(c.levels)
  for _, s in ipairs(c.steps) do add(s.levels) end
  c.names = names
  QCFG[q] = c
  return c
end

local function levels_of(c, step)
  if step > 0 and c.steps[step] then return c.steps[step].levels end
  return c.levels
end

-- The step in force after waiting since venq: 0 is the queue's own skills, k the k-th step.
local function step_of(c, venq, t)
  local k = 0
  for j, s in ipairs(c.steps) do
    if t - venq >= s.after_ms then k = j end
  end
  return k
end

local function agent_skills(agent)
  local s = ASKILLS[agent]
  if s then return s end
  s = {}
  local flat = redis.call('HGETALL', P .. ':askill:' .. agent)
  for k = 1, #flat, 2 do s[flat[k]] = tonumber(flat[k + 1]) end
  ASKILLS[agent] = s
  return s
end

local function meets(agent, levels)
  if next(levels) == nil then return true end
  local s = agent_skills(agent)
  for skill, lvl in pairs(levels) do
    if (s[skill] or 0) < lvl then return false end
  end
  return true
end

-- Most skilled: the sum of the agent's levels in every skill the queue names (its skills and steps').
local function skill_sum(agent, c)
  local s, sum = agent_skills(agent), 0
  for _, skill in ipairs(c.names) do sum = sum + (s[skill] or 0) end
  return sum
end

-- ------------------------------------------------------------------ interactions

-- One interaction's routing fields. pref and avoid are lists written ",a,b," so membership is one find.
local function item(iid)
  local v = redis.call('HMGET', P .. ':i:' .. iid, 'q', 'ch', 'st', 'venq', 'step', 'pref', 'pref_until',
                       'avoid', 'score', 'dir', 'ovf')
  local venq = tonumber(v[4] or '')
  if not venq and v[9] then venq = tonumber(v[9]) % PRIORITY_SPAN end
  return {id = iid, q = v[1], ch = v[2], st = v[3], venq = venq or 0, step = tonumber(v[5] or '0') or 0,
          pref = v[6] or '', pref_until = tonumber(v[7] or '0') or 0, avoid = v[8] or '', dir = v[10] or '',
          ovf = v[11] or nil}
end

local function listed(list, agent)
  return list ~= '' and string.find(list, ',' .. agent .. ',', 1, true) ~= nil
end

-- Connected, available, and in the queue's pool: a preferred agent who can hold a customer back.
local function present(agent, q)
  local v = redis.call('HMGET', P .. ':a:' .. agent, 'state', 'connected')
  return v[1] == 'available' and v[2] == '1' and redis.call('SISMEMBER', P .. ':qagents:' .. q, agent) == 1
end

-- The preference holds while its window is open and one of the preferred agents is present.
local function preference_on(it, t)
  if it.pref == '' or it.pref_until <= t then return false end
  for agent in string.gmatch(it.pref, '[^,]+') do
    if not listed(it.avoid, agent) and present(agent, it.q) then return true end
  end
  return false
end

-- ------------------------------------------------------------------ waiting rules (docs/waiting.md)

-- A queue's overflow rules and open periods: read with the rest of its configuration (queue_cfg).
local function queue_rules(q)
  return queue_cfg(q)
end

-- Whether the queue's work may be offered at t: it has no such hours, or is open now. Past the horizon
-- of the periods it was given the queue counts as open (every router process renews them long before).
local function queue_open(q, t)
  local r = queue_rules(q)
  if not r.hours or t >= r.until_ms then return true end
  for _, p in ipairs(r.hours) do
    if p[1] > t then return false end
    if t < p[2] then return true end
  end
  return false
end

local function open_queues(queues, t)
  local out = {}
  for _, q in ipairs(queues) do
    if queue_open(q, t) then table.insert(out, q) end
  end
  return out
end

-- Time the interaction's next overflow: the next rule of the list it follows ('ofrom': the queue it
-- entered by arrival, transfer or a move; 'ovk': how many of that list's rules it has taken). fresh_q: the
-- queue of a new interaction (it follows that queue's list from the start and has no timer yet).
local function schedule_overflow(iid, venq, t, fresh_q)
  local owner, k = fresh_q, 0
  if not fresh_q then
    local v = redis.call('HMGET', P .. ':i:' .. iid, 'ofrom', 'q', 'ovk')
    owner, k = v[1] or v[2], tonumber(v[3] or '0') or 0
  end
  local nxt = owner and queue_rules(owner).overflow[k + 1]
  if nxt then
    redis.call('ZADD', P .. ':timers', venq + nxt.after_ms, 'f:' .. iid)
  elseif not fresh_q then
    redis.call('ZREM', P .. ':timers', 'f:' .. iid)
  end
end

-- Time the queue's next opening (the 'h:<queue>' timer offers its held work then).
local function schedule_opening(q, t)
  local r = queue_rules(q)
  if r.hours then
    for _, p in ipairs(r.hours) do
      if p[1] > t then
        redis.call('ZADD', P .. ':timers', p[1], 'h:' .. q)
        return
      end
    end
  end
  redis.call('ZREM', P .. ':timers', 'h:' .. q)
end

-- Put the interaction on the step its wait has reached and time the next one on the timer set
-- (fresh: a new interaction, which has no step timer yet). Returns the step index.
local function schedule_step(iid, q, venq, t, fresh)
  local c = queue_cfg(q)
  local k = step_of(c, venq, t)
  redis.call('HSET', P .. ':i:' .. iid, 'step', k)
  local nxt = c.steps[k + 1]
  if nxt then
    redis.call('ZADD', P .. ':timers', venq + nxt.after_ms, 's:' .. iid)
  elseif not fresh then
    redis.call('ZREM', P .. ':timers', 's:' .. iid)
  end
  schedule_overflow(iid, venq, t, fresh and q or nil)
  return k
end

-- Why the agent may not take the interaction now, or nil if it may. free/cap/load: free_channels(agent).
local function judge(agent, it, levels, t, pref_on, free, cap, load)
  if listed(it.avoid, agent) then return 'avoided' end
  local u = redis.call('ZSCORE', P .. ':ix:' .. it.id, agent)
  if u and tonumber(u) > t then return 'excluded' end
  if pref_on and not listed(it.pref, agent) then return 'not_preferred' end
  if it.dir == '' and not meets(agent, levels) then return 'below_level' end
  if not free[it.ch] then
    if load[it.ch] >= cap[it.ch] then return 'no_capacity' end
    return 'busy'
  end
  return nil
end

-- The strategy's score of an agent who may take the work; higher wins (least occupied: lower load).
local function strategy_score(c, agent, idle_since, t, cap, load)
  if c.strategy == 'most_skilled' then
    local s = skill_sum(agent, c)
    return s, s
  elseif c.strategy == 'least_occupied' then
    local o = occupancy(cap, load)
    return -o, math.floor(o * 1000 + 0.5) / 1000
  end
  local idle = t - (tonumber(idle_since) or t)
  return idle, idle
end

-- The offer's explanation (the offer event's and the offer frame's "why").
local function make_why(c, it, pref_on, considered, score, passed, trigger)
  return {strategy = c.strategy, step = {index = it.step, levels = levels_of(c, it.step)},
          preference_applied = pref_on, considered = considered, score = score, passed_over = passed,
          trigger = trigger, overflow = it.ovf}
end

local function create_offer(iid, agent, t, why)
  local ikey = P .. ':i:' .. iid
  local i = redis.call('HMGET', ikey, 'q', 'ch', 'cb')
  local q, ch = i[1], i[2]
  local timeout = queue_cfg(q).timeout
  local offer = 'o' .. redis.call('INCR', P .. ':offerseq')
  local deadline = t + timeout
  local why_json = cjson.encode(why)
  redis.call('HSET', P .. ':o:' .. offer, 'i', iid, 'a', agent, 'deadline', deadline, 'why', why_json)
  redis.call('SADD', P .. ':ao:' .. agent, offer)
  redis.call('ZADD', P .. ':timers', deadline, 'o:' .. offer)
  redis.call('HSET', ikey, 'st', 'offered', 'agent', agent, 'offer', offer, 'offered_at', t)
  redis.call('ZREM', P .. ':q:' .. q, iid)
  redis.call('ZREM', P .. ':qage:' .. q, iid)
  redis.call('HINCRBY', P .. ':a:' .. agent, 'load:' .. ch, 1)
  set_idle(agent, t)
  local data = {offer_id = offer, interaction_id = iid, agent_id = agent, deadline = deadline, queue = q,
                channel = ch}
  if i[3] and i[3] ~= '' then data.callback = true end  -- the offer frame reads the callback's number
  emit_json('offer', string.sub(cjson.encode(data), 1, -2) .. ',"why":' .. why_json .. '}')
  return offer
end

-- Remove an interaction from the live index with its timers and preference entries.
local function forget(iid)
  local ikey = P .. ':i:' .. iid
  local v = redis.call('HMGET', ikey, 'pref', 'step', 'st')
  local pref = v[1]
  if pref and pref ~= '' then
    for agent in string.gmatch(pref, '[^,]+') do redis.call('SREM', P .. ':apref:' .. agent, iid) end
    redis.call('ZREM', P .. ':timers', 'p:' .. iid)
  end
  if v[3] == 'wrapup' then redis.call('ZREM', P .. ':timers', 'w:' .. iid) end
  redis.call('ZREM', P .. ':timers', 's:' .. iid)
  if v[3] == 'held' then redis.call('ZREM', P .. ':timers', 'b:' .. iid) end
  redis.call('DEL', ikey, P .. ':ix:' .. iid)
end

-- A transfer to a named agent (dir: the agent who made it) that the target rejected, missed or cannot
-- take (absent, gone, window over). Cold: the interaction stays in its queue at its original rank for
-- anyone. Warm (warm: the interaction the sender still holds): this copy is removed, the sender keeps the
-- work. Either way the sender is told ('transfer_failed', agent_id: the sender). Returns "gone" when the
-- copy was removed, true when the transfer became plain queued work, false when it was no transfer.
local function fail_direct(iid, reason)
  local ikey = P .. ':i:' .. iid
  local v = redis.call('HMGET', ikey, 'dir', 'pref', 'q', 'warm')
  if not v[1] or v[1] == '' then return false end
  local target = string.sub(v[2] or '', 2, -2)
  if target ~= '' then redis.call('SREM', P .. ':apref:' .. target, iid) end
  local data = {interaction_id = iid, agent_id = v[1], target = target, queue = v[3], reason = reason}
  if v[4] and v[4] ~= '' then
    data.warm_of = v[4]
    redis.call('ZREM', P .. ':q:' .. v[3], iid)
    redis.call('ZREM', P .. ':qage:' .. v[3], iid)
    forget(iid)
    emit('transfer_failed', data)
    return 'gone'
  end
  redis.call('HSET', ikey, 'dir', '', 'pref', '', 'pref_until', 0)
  emit('transfer_failed', data)
  return true
end

-- Find the best agent for one waiting interaction by its queue's strategy, among the available agents
-- of the queue's pool: not avoided, not cooling down after a reject, preferred while a preference holds,
-- meeting the levels of the step in force, with free capacity on its channel. Returns the offer id or
-- false. Longest idle stops at the first agent who fits (the pool is in idle order); the other
-- strategies read the whole pool, page by page.
local function match_interaction(iid, t)
  local it = item(iid)
  if it.st ~= 'waiting' or not queue_open(it.q, t) then return false end
  local c = queue_cfg(it.q)
  local levels = levels_of(c, it.step)
  local pref_on = preference_on(it, t)
  if it.dir ~= '' and not pref_on then
    -- a transfer to an agent who is not there: it goes to the queue at once (or, warm, back to the
    -- sender alone) and the sender is told
    if fail_direct(iid, 'absent') == 'gone' then return false end
    it.dir, it.pref, it.pref_until = '', '', 0
  end
  local passed, considered = {}, 0
  local function pass(agent, reason)
    if #passed < 10 then table.insert(passed, {agent_id = agent, reason = reason}) end
  end
  if it.pref ~= '' and not pref_on and it.pref_until > t then
    for agent in string.gmatch(it.pref, '[^,]+') do
      local v = redis.call('HMGET', P .. ':a:' .. agent, 'connected')
      pass(agent, v[1] == '1' and 'away' or 'not_connected')
    end
  end
  local best, best_key, best_score, losers = nil, nil, nil, {}
  local first_only = c.strategy ~= 'most_skilled' and c.strategy ~= 'least_occupied'
  local start = 0
  while true do
    local agents = redis.call('ZRANGE', P .. ':qavail:' .. it.q, start, start + SCAN_AGENTS - 1, 'WITHSCORES')
    for k = 1, #agents, 2 do
      local agent = agents[k]
      considered = considered + 1
      local free, _, cap, load = free_channels(agent)
      local reason = judge(agent, it, levels, t, pref_on, free, cap, load)
      if reason then
        pass(agent, reason)
      else
        local key, shown = strategy_score(c, agent, agents[k + 1], t, cap, load)
        if best == nil or key > best_key then
          if best then table.insert(losers, best) end
          best, best_key, best_score = agent, key, shown
        else
          table.insert(losers, agent)
        end
        if first_only then break end
      end
    end
    if (first_only and best) or #agents < 2 * SCAN_AGENTS then break end
    start = start + SCAN_AGENTS
  end
  if not best then return false end
  for _, agent in ipairs(losers) do pass(agent, 'lower_score') end
  return create_offer(iid, best, t, make_why(c, it, pref_on, considered, best_score, passed, 'interaction'))
end

-- Offer the agent the best waiting work across its queues until its capacity is used up. The free
-- channels are read once per offer made, so an agent with nothing free costs one call, however long
-- the queues are. Each queue is read page by page until the first item the agent can take (or one
-- ranked after the best found so far): work behind a long run of items on channels the agent has
-- no room for, or that it refused, is never passed over. Every other available agent of the pool was
-- already matched with this work when it became waiting (or a timer of its step, preference or cooldown
-- fired), so the agent freed now is the one the strategy has for it.
local function match_agent(agent, t, limit)
  local a = P .. ':a:' .. agent
  local st = redis.call('HMGET', a, 'state', 'connected', 'idle')
  if st[1] ~= 'available' or st[2] ~= '1' then return 0 end
  local made = 0
  local queues = open_queues(redis.call('SMEMBERS', P .. ':aqueues:' .. agent), t)
  while made < limit do
    local free, any, cap, load = free_channels(agent)
    if not any then break end
    local best, best_score, best_it, best_pref = nil, nil, nil, false
    for _, q in ipairs(queues) do
      local c = queue_cfg(q)
      local start, done = 0, false
      while not done do
        local items = redis.call('ZRANGE', P .. ':q:' .. q, start, start + SCAN_ITEMS - 1, 'WITHSCORES')
        done = #items < 2 * SCAN_ITEMS
        for k = 1, #items, 2 do
          local iid, score = items[k], tonumber(items[k + 1])
          if best_score ~= nil and score >= best_score then done = true; break end
          local it = item(iid)
          if it.ch and free[it.ch] then
            local pref_on = preference_on(it, t)
            if judge(agent, it, levels_of(c, it.step), t, pref_on, free, cap, load) == nil then
              best, best_score, best_it, best_pref = iid, score, it, pref_on
              done = true
              break
            end
          end
        end
        start = start + SCAN_ITEMS
      end
    end
    if best == nil then break end
    local c = queue_cfg(best_it.q)
    local _, shown = strategy_score(c, agent, st[3], t, cap, load)
    create_offer(best, agent, t, make_why(c, best_it, best_pref, 1, shown, {}, 'agent'))
    st[3] = t
    made = made + 1
  end
  return made
end

-- Interactions held for an agent who stopped being present (away, offline, disconnected): each is matched
-- again at once, so an absent preferred agent never holds a customer back.
local function release_preferences(agent, t)
  local key = P .. ':apref:' .. agent
  for _, iid in ipairs(redis.call('SMEMBERS', key)) do
    local v = redis.call('HMGET', P .. ':i:' .. iid, 'st', 'pref_until')
    if not v[1] or tonumber(v[2] or '0') <= t then
      redis.call('SREM', key, iid)
    elseif v[1] == 'waiting' then
      match_interaction(iid, t)
    end
  end
end

-- Put an offered or assigned interaction back in its queue at its original rank.
local function requeue(iid, t)
  local ikey = P .. ':i:' .. iid
  local i = redis.call('HMGET', ikey, 'q', 'score', 'arr')
  if not i[1] then return false end
  redis.call('HSET', ikey, 'st', 'waiting')
  redis.call('HDEL', ikey, 'agent', 'offer')
  redis.call('ZADD', P .. ':q:' .. i[1], i[2], iid)
  redis.call('ZADD', P .. ':qage:' .. i[1], i[3], iid)
  emit('requeued', {interaction_id = iid, queue = i[1]})
  return true
end

-- Exclude an agent from an interaction until a time; a timer ends the exclusion and matches again.
local function exclude_until(iid, agent, until_ms)
  redis.call('ZADD', P .. ':ix:' .. iid, until_ms, agent)
  redis.call('ZADD', P .. ':timers', until_ms, 'c:' .. iid .. ':' .. agent)
end

local function release_load(agent, ch)
  local a = P .. ':a:' .. agent
  if tonumber(redis.call('HGET', a, 'load:' .. ch) or '0') > 0 then
    redis.call('HINCRBY', a, 'load:' .. ch, -1)
  end
end

-- Remove an offer; the interaction goes back to waiting (the agent excluded until exclude_ms when given).
local function drop_offer(offer, t, reason, exclude_ms)
  local okey = P .. ':o:' .. offer
  local o = redis.call('HMGET', okey, 'i', 'a')
  if not o[1] then return false end
  local iid, agent = o[1], o[2]
  redis.call('DEL', okey)
  redis.call('SREM', P .. ':ao:' .. agent, offer)
  redis.call('ZREM', P .. ':timers', 'o:' .. offer)
  local ch = redis.call('HGET', P .. ':i:' .. iid, 'ch')
  if ch then release_load(agent, ch) end
  local data = {offer_id = offer, interaction_id = iid, agent_id = agent, reason = reason}
  if exclude_ms then data.excluded_until = exclude_ms end
  emit('offer_revoked', data)
  local gone = false
  if reason == 'timeout' or reason == 'rejected' or reason == 'disconnected' then
    gone = fail_direct(iid, reason == 'timeout' and 'missed' or reason) == 'gone'
  end
  if ch and reason ~= 'customer_left' and not gone then
    if exclude_ms then exclude_until(iid, agent, exclude_ms) end
    requeue(iid, t)
  end
  return iid, agent
end

-- The handle time the wait estimates use (router/routing/stats.py): how long the work held an agent's
-- slot on its channel, from the offer to the capacity freed, so talk and wrap-up both. A moving average
-- per queue and channel in P:qstats:<q> ("ht:<ch>", with "n:<ch>" completions seen): each new time
-- weighs max(1/n, HT_WEIGHT), the plain mean of the first ones, then about the last 1/HT_WEIGHT.
local HT_WEIGHT = 0.02
local function record_handle_time(q, ch, offered_at, t)
  if not q or not ch or not offered_at then return end
  local seconds = (t - offered_at) / 1000
  if seconds < 0 then return end
  local key = P .. ':qstats:' .. q
  local n = redis.call('HINCRBY', key, 'n:' .. ch, 1)
  local old = tonumber(redis.call('HGET', key, 'ht:' .. ch) or '')
  local w = math.max(1 / n, HT_WEIGHT)
  local ht = old and ((1 - w) * old + w * seconds) or seconds
  redis.call('HSET', key, 'ht:' .. ch, string.format('%.4f', ht))
end

-- Work is over for the agent (wrap-up ended, transferred, released): free capacity and rematch.
local function finish_work(iid, t, reason)
  local ikey = P .. ':i:' .. iid
  local i = redis.call('HMGET', ikey, 'agent', 'ch', 'q', 'offered_at')
  local agent, ch = i[1], i[2]
  record_handle_time(i[3], ch, tonumber(i[4] or ''), t)
  forget(iid)
  if agent then
    redis.call('SREM', P .. ':aw:' .. agent, iid)
    release_load(agent, ch)
    emit('work_ended', {interaction_id = iid, agent_id = agent, queue = i[3], reason = reason})
    match_agent(agent, t, 16)
  end
  return agent
end

-- ------------------------------------------------------------------ moves between queues

-- Move a waiting interaction to another queue in one step: out of one queue's sorted sets and into the
-- other's at the same rank score (its priority and virtual enqueue time kept, so it ranks by its original
-- arrival there), on the widening step its wait has reached under the target's steps. note is what the
-- offer's why says of it; data goes into the 'overflowed' event. The caller sets 'ofrom'/'ovk' first and
-- matches after. Returns the queue it left, or false when it is not waiting.
local function move_waiting(iid, target, t, note, data)
  local ikey = P .. ':i:' .. iid
  local v = redis.call('HMGET', ikey, 'q', 'score', 'arr', 'st')
  if v[4] ~= 'waiting' or not v[1] then return false end
  redis.call('ZREM', P .. ':q:' .. v[1], iid)
  redis.call('ZREM', P .. ':qage:' .. v[1], iid)
  redis.call('ZADD', P .. ':q:' .. target, v[2], iid)
  redis.call('ZADD', P .. ':qage:' .. target, v[3], iid)
  redis.call('HSET', ikey, 'q', target, 'ovf', note)
  local it = item(iid)
  schedule_step(iid, target, it.venq, t)
  data.interaction_id, data.from, data.queue, data.why = iid, v[1], target, note
  data.waited_ms = t - it.venq
  emit('overflowed', data)
  return v[1]
end

-- A queue that holds its work while closed has opened: its available agents take its waiting work.
local function open_queue(q, t)
  if not queue_open(q, t) then return 0 end
  local made = 0
  for _, agent in ipairs(redis.call('ZRANGE', P .. ':qavail:' .. q, 0, -1)) do
    made = made + match_agent(agent, t, 16)
  end
  return made
end

-- ------------------------------------------------------------------ callbacks

-- A callback held back until until_ms (its not_before, or the retry after a call that did not reach the
-- customer): out of its queue's sets, so no agent is matched with it, while its hash keeps its rank score;
-- the 'b:<interaction>' timer puts it back at that same score (release_callback).
local function hold_callback(iid, q, until_ms)
  redis.call('HSET', P .. ':i:' .. iid, 'st', 'held', 'held_until', until_ms)
  redis.call('HDEL', P .. ':i:' .. iid, 'agent', 'offer')
  redis.call('ZREM', P .. ':q:' .. q, iid)
  redis.call('ZREM', P .. ':qage:' .. q, iid)
  redis.call('ZADD', P .. ':timers', until_ms, 'b:' .. iid)
end

-- A held callback waits again at its original rank and is matched at once. Returns the offer id, false
-- when no agent took it now, or nil when it was not held.
local function release_callback(iid, t)
  local ikey = P .. ':i:' .. iid
  local i = redis.call('HMGET', ikey, 'q', 'score', 'arr', 'st')
  if i[4] ~= 'held' then return nil end
  redis.call('HSET', ikey, 'st', 'waiting')
  redis.call('HDEL', ikey, 'held_until')
  redis.call('ZREM', P .. ':timers', 'b:' .. iid)
  redis.call('ZADD', P .. ':q:' .. i[1], i[2], iid)
  redis.call('ZADD', P .. ':qage:' .. i[1], i[3], iid)
  emit('callback_released', {interaction_id = iid, queue = i[1]})
  return match_interaction(iid, t)
end
