-- One rate-limit check by GCRA (generic cell rate algorithm), atomically.
-- KEYS[1]: the bucket; it holds the theoretical arrival time (TAT), in ms.
-- ARGV: emission interval ms, burst, cost
-- Returns {allowed (1 or 0), retry after ms, remaining}.
-- Time is the server's, so every gateway judges by the same clock. The key
-- expires when the bucket would be full again: an idle bucket costs nothing.
local interval, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
-- Absorbs rounding in sums of fractional intervals, in ms.
local epsilon = 0.001
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then
  tat = now
end
-- How far past now the TAT may run: a full bucket lets `burst` through at once.
local window = burst * interval
local ahead = tat + cost * interval - now
if ahead > window + epsilon then
  return {0, math.ceil(ahead - window), 0}
end
redis.call('SET', KEYS[1], string.format('%.3f', now + ahead), 'PX', math.max(1, math.ceil(ahead)))
return {1, 0, math.floor((window - ahead + epsilon) / interval)}
