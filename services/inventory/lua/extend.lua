-- Moves a live hold's expiry later, never earlier, after reaping expired holds.
-- ARGV: now ms, hold id, new expiry ms, reap limit
-- The new expiry goes into both the holds zset and the hold info, so reaping
-- and lookups see the same time.
local now, id, expires = tonumber(ARGV[1]), ARGV[2], ARGV[3]
reap(now, tonumber(ARGV[4]))
if redis.call('HEXISTS', KEYS[1], '_loaded') == 0 then
  return {'NOT_LOADED'}
end
local info = redis.call('HGET', KEYS[4], id)
if not info then
  return {'NOT_HELD'}
end
local slot, vaccine, current = split_info(info)
-- Past the reap limit, a run-out hold may still be here: end it now.
if tonumber(current) <= now then
  drop_hold(id)
  return {'NOT_HELD'}
end
if tonumber(expires) > tonumber(current) then
  info = slot .. '|' .. vaccine .. '|' .. expires
  redis.call('HSET', KEYS[4], id, info)
  redis.call('ZADD', KEYS[3], expires, id)
end
return {'HELD', info}
