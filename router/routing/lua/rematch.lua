-- rematch.lua: after a reject is recorded, offer the interaction to the next free agent and the
-- agent who declined it the work it may take.
-- KEYS[1] P:built
-- ARGV[1] P, [2] interaction id, [3] agent id
-- Returns the number of offers made; E.NOT_READY.
if not ready() then return E.NOT_READY end
local t = now_ms()
local made = 0
if match_interaction(ARGV[2], t) then made = 1 end
return made + match_agent(ARGV[3], t, 16)
