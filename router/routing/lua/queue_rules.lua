-- queue_rules.lua: a queue's waiting rules in the live index (docs/waiting.md): its overflow rules and,
-- for a queue that holds its work while closed (closed_action "wait"), its open periods. Waiting
-- interactions that follow its overflow rules are timed again, its next opening is timed, and if it is
-- open now its available agents take its waiting work. Runs while the index is rebuilt too.
-- KEYS[1] P:built
-- ARGV[1] P, [2] queue id, [3] overflow rules JSON [{after_ms, queue}] sorted by after_ms, [4] open periods
-- JSON [[from_ms, to_ms], ...] sorted ("": no hours, always open), [5] the periods are known up to this ms
-- Returns the number of offers made.
local q = ARGV[2]
redis.call('HSET', P .. ':qcfg:' .. q, 'overflow', ARGV[3], 'hours', ARGV[4], 'hours_until', ARGV[5])
QCFG[q] = nil  -- read again with the rules just written
local t = now_ms()
for _, iid in ipairs(redis.call('ZRANGE', P .. ':q:' .. q, 0, -1)) do
  schedule_overflow(iid, item(iid).venq, t)
end
schedule_opening(q, t)
if not ready() then return 0 end
return open_queue(q, t)
