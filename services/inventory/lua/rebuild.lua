-- Rebuilds a clinic's counters from a PostgreSQL snapshot, keeping the live
-- Redis holds the database does not know of. A used hold (its dose given) is
-- in the snapshot's committed seats and in neither its doses nor its
-- committed doses, as after the use script; being known, it is never live.
-- ARGV: now ms, snapshot JSON:
--   {"slots": {slot: [capacity, committed]}, "doses": {vaccine: [doses, committed]},
--    "db_holds": [[id, slot, vaccine, expiry ms]], "known": [hold ids],
--    "closed": [slot ids]}
local now = tonumber(ARGV[1])
local snapshot = cjson.decode(ARGV[2])
reap(now, 1000000)
for _, id in ipairs(snapshot.known) do
  redis.call('HDEL', KEYS[4], id)
  redis.call('ZREM', KEYS[3], id)
end
for _, hold in ipairs(snapshot.db_holds) do
  if tonumber(hold[4]) > now then
    redis.call('HSET', KEYS[4], hold[1], hold[2] .. '|' .. hold[3] .. '|' .. hold[4])
    redis.call('ZADD', KEYS[3], hold[4], hold[1])
  end
end

local seats_held, doses_held = {}, {}
local entries = redis.call('HGETALL', KEYS[4])
for i = 1, #entries, 2 do
  local slot, vaccine = split_info(entries[i + 1])
  seats_held[slot] = (seats_held[slot] or 0) + 1
  doses_held[vaccine] = (doses_held[vaccine] or 0) + 1
end

redis.call('DEL', KEYS[1], KEYS[2])
for slot, totals in pairs(snapshot.slots) do
  redis.call('HSET', KEYS[1], slot .. ':capacity', totals[1], slot .. ':committed', totals[2],
    slot .. ':held', seats_held[slot] or 0)
end
for _, slot in ipairs(snapshot.closed) do
  redis.call('HSET', KEYS[1], slot .. ':closed', 1)
end
for vaccine, totals in pairs(snapshot.doses) do
  redis.call('HSET', KEYS[2], vaccine .. ':doses', totals[1], vaccine .. ':committed', totals[2],
    vaccine .. ':held', doses_held[vaccine] or 0)
end
redis.call('HSET', KEYS[1], '_loaded', 1)
return 1
