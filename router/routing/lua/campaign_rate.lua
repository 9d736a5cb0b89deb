-- campaign_rate.lua: one send of a campaign under its rate, across every router process (GCRA: the key
-- holds the theoretical arrival time of the next send, in microseconds of the Redis clock).
-- KEYS[1] P:built
-- ARGV[1] P, [2] campaign id, [3] microseconds between sends (1e6 / rate)
-- Returns 0 when the send may go now (the next one is booked), else the microseconds to wait.
local key = P .. ':crate:' .. ARGV[2]
local interval = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', key) or '0')
if tat > now then
  return math.ceil(tat - now)
end
redis.call('SET', key, string.format('%.0f', now + interval), 'PX', math.ceil(interval / 1000) + 1000)
return 0
