-- match_agent.lua: offer waiting work to one agent until its free capacity is used.
-- KEYS[1] P:built
-- ARGV[1] P, [2] agent id
-- Returns the number of offers made; E.NOT_READY.
if not ready() then return E.NOT_READY end
return match_agent(ARGV[2], now_ms(), 16)
