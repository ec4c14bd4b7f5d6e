-- Seat and dose counters after reaping expired holds.
-- ARGV: now ms, slot id, vaccine, reap limit
reap(tonumber(ARGV[1]), tonumber(ARGV[4]))
if redis.call('HEXISTS', KEYS[1], '_loaded') == 0 then
  return {'NOT_LOADED'}
end
local slot, vaccine = ARGV[2], ARGV[3]
local capacity = redis.call('HGET', KEYS[1], slot .. ':capacity')
if not capacity then
  return {'NO_SLOT'}
end
return {
  'OK', tonumber(capacity), count(KEYS[1], slot .. ':held'), count(KEYS[1], slot .. ':committed'),
  count(KEYS[2], vaccine .. ':doses'), count(KEYS[2], vaccine .. ':held'), count(KEYS[2], vaccine .. ':committed'),
}
