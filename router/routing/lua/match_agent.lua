-- match_agent.lua: offer waiting work to one agent until its free capacity is used.
-- KEYS[1] P:built
-- ARGV[1] P, [2] agent id
-- Returns the number of offers made; -1 when the index is not built.
if not ready() then return -1 end
return match_agent(ARGV[2], now_ms(), 16)
