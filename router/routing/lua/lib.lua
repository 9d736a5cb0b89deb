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
-- empty, unless the agent says otherwise (vblock "0").
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
  return free, any
end

local function has_capacity(agent, ch)
  local free = free_channels(agent)
  return free[ch] == true
end

local function set_idle(agent, t)
  redis.call('HSET', P .. ':a:' .. agent, 'idle', t)
  if redis.call('HGET', P .. ':a:' .. agent, 'state') == 'available'
     and redis.call('HGET', P .. ':a:' .. agent, 'connected') == '1' then
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

local function create_offer(iid, agent, t)
  local ikey = P .. ':i:' .. iid
  local i = redis.call('HMGET', ikey, 'q', 'ch')
  local q, ch = i[1], i[2]
  local timeout = tonumber(redis.call('HGET', P .. ':qcfg:' .. q, 'timeout_ms') or '20000')
  local offer = 'o' .. redis.call('INCR', P .. ':offerseq')
  local deadline = t + timeout
  redis.call('HSET', P .. ':o:' .. offer, 'i', iid, 'a', agent, 'deadline', deadline)
  redis.call('SADD', P .. ':ao:' .. agent, offer)
  redis.call('ZADD', P .. ':timers', deadline, 'o:' .. offer)
  redis.call('HSET', ikey, 'st', 'offered', 'agent', agent, 'offer', offer)
  redis.call('ZREM', P .. ':q:' .. q, iid)
  redis.call('ZREM', P .. ':qage:' .. q, iid)
  redis.call('HINCRBY', P .. ':a:' .. agent, 'load:' .. ch, 1)
  set_idle(agent, t)
  emit('offer', {offer_id = offer, interaction_id = iid, agent_id = agent, deadline = deadline,
                 queue = q, channel = ch})
  return offer
end

-- Find the best agent for one waiting interaction: eligible, available, connected, free capacity
-- on its channel, not excluded, idle longest. Returns the offer id or false. The available agents are
-- read page by page until one fits: however many cannot take it, none who can is passed over.
local function match_interaction(iid, t)
  local ikey = P .. ':i:' .. iid
  local i = redis.call('HMGET', ikey, 'q', 'ch', 'st')
  if i[3] ~= 'waiting' then return false end
  local q, ch = i[1], i[2]
  local start = 0
  while true do
    local agents = redis.call('ZRANGE', P .. ':qavail:' .. q, start, start + SCAN_AGENTS - 1)
    for _, agent in ipairs(agents) do
      if redis.call('SISMEMBER', P .. ':ix:' .. iid, agent) == 0 and has_capacity(agent, ch) then
        return create_offer(iid, agent, t)
      end
    end
    if #agents < SCAN_AGENTS then return false end
    start = start + SCAN_AGENTS
  end
end

-- Offer the agent the best waiting work across its queues until its capacity is used up. The free
-- channels are read once per offer made, so an agent with nothing free costs one call, however long
-- the queues are. Each queue is read page by page until the first item the agent can take (or one
-- ranked after the best found so far): work behind a long run of items on channels the agent has
-- no room for, or that it refused, is never passed over.
local function match_agent(agent, t, limit)
  local a = P .. ':a:' .. agent
  local st = redis.call('HMGET', a, 'state', 'connected')
  if st[1] ~= 'available' or st[2] ~= '1' then return 0 end
  local made = 0
  local queues = redis.call('SMEMBERS', P .. ':aqueues:' .. agent)
  while made < limit do
    local free, any = free_channels(agent)
    if not any then break end
    local best, best_score = nil, nil
    for _, q in ipairs(queues) do
      local start, done = 0, false
      while not done do
        local items = redis.call('ZRANGE', P .. ':q:' .. q, start, start + SCAN_ITEMS - 1, 'WITHSCORES')
        done = #items < 2 * SCAN_ITEMS
        for k = 1, #items, 2 do
          local iid, score = items[k], tonumber(items[k + 1])
          if best_score ~= nil and score >= best_score then done = true; break end
          local ch = redis.call('HGET', P .. ':i:' .. iid, 'ch')
          if ch and free[ch] and redis.call('SISMEMBER', P .. ':ix:' .. iid, agent) == 0 then
            best, best_score = iid, score
            done = true
            break
          end
        end
        start = start + SCAN_ITEMS
      end
    end
    if best == nil then break end
    create_offer(best, agent, t)
    made = made + 1
  end
  return made
end

-- Put an offered or assigned interaction back in its queue at its original rank.
local function requeue(iid, t, exclude_agent)
  local ikey = P .. ':i:' .. iid
  local i = redis.call('HMGET', ikey, 'q', 'score', 'arr')
  if not i[1] then return false end
  if exclude_agent then redis.call('SADD', P .. ':ix:' .. iid, exclude_agent) end
  redis.call('HSET', ikey, 'st', 'waiting')
  redis.call('HDEL', ikey, 'agent', 'offer')
  redis.call('ZADD', P .. ':q:' .. i[1], i[2], iid)
  redis.call('ZADD', P .. ':qage:' .. i[1], i[3], iid)
  emit('requeued', {interaction_id = iid, queue = i[1]})
  return true
end

local function release_load(agent, ch)
  local a = P .. ':a:' .. agent
  if tonumber(redis.call('HGET', a, 'load:' .. ch) or '0') > 0 then
    redis.call('HINCRBY', a, 'load:' .. ch, -1)
  end
end

-- Remove an offer; the interaction goes back to waiting (excluding the agent when asked).
local function drop_offer(offer, t, reason, exclude)
  local okey = P .. ':o:' .. offer
  local o = redis.call('HMGET', okey, 'i', 'a')
  if not o[1] then return false end
  local iid, agent = o[1], o[2]
  redis.call('DEL', okey)
  redis.call('SREM', P .. ':ao:' .. agent, offer)
  redis.call('ZREM', P .. ':timers', 'o:' .. offer)
  local ch = redis.call('HGET', P .. ':i:' .. iid, 'ch')
  if ch then release_load(agent, ch) end
  emit('offer_revoked', {offer_id = offer, interaction_id = iid, agent_id = agent, reason = reason})
  if ch and reason ~= 'customer_left' then
    requeue(iid, t, exclude and agent or nil)
  end
  return iid, agent
end

-- Work is over for the agent (wrap-up ended, transferred, released): free capacity and rematch.
local function finish_work(iid, t, reason)
  local ikey = P .. ':i:' .. iid
  local i = redis.call('HMGET', ikey, 'agent', 'ch', 'q')
  local agent, ch = i[1], i[2]
  redis.call('ZREM', P .. ':timers', 'w:' .. iid)
  redis.call('DEL', ikey, P .. ':ix:' .. iid)
  if agent then
    redis.call('SREM', P .. ':aw:' .. agent, iid)
    release_load(agent, ch)
    emit('work_ended', {interaction_id = iid, agent_id = agent, queue = i[3], reason = reason})
    match_agent(agent, t, 16)
  end
  return agent
end
