-- Takes one seat and one dose together, or neither.
-- ARGV: now ms, hold id, slot id, vaccine, expiry ms, reap limit
local now, id, slot, vaccine, expires = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], ARGV[5]
reap(now, tonumber(ARGV[6]))
if redis.call('HEXISTS', KEYS[1], '_loaded') == 0 then
  return {'NOT_LOADED'}
end
local existing = redis.call('HGET', KEYS[4], id)
if existing then
  return {'HELD', existing}
end
local capacity = redis.call('HGET', KEYS[1], slot .. ':capacity')
if not capacity then
  return {'NO_SLOT'}
end
if redis.call('HEXISTS', KEYS[1], slot .. ':closed') == 1 then
  return {'SLOT_CLOSED'}
end
if count(KEYS[1], slot .. ':committed') + count(KEYS[1], slot .. ':held') >= tonumber(capacity) then
  return {'SLOT_FULL'}
end
if count(KEYS[2], vaccine .. ':committed') + count(KEYS[2], vaccine .. ':held') >= count(KEYS[2], vaccine .. ':doses') then
  return {'OUT_OF_DOSES'}
end
local info = slot .. '|' .. vaccine .. '|' .. expires
redis.call('HINCRBY', KEYS[1], slot .. ':held', 1)
redis.call('HINCRBY', KEYS[2], vaccine .. ':held', 1)
redis.call('HSET', KEYS[4], id, info)
redis.call('ZADD', KEYS[3], expires, id)
return {'HELD', info}
