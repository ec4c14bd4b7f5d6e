-- Shared prelude of every hold script.
-- KEYS[1] seats hash:  <slot>:capacity, <slot>:committed, <slot>:held, _loaded
-- KEYS[2] doses hash:  <vaccine>:doses, <vaccine>:committed, <vaccine>:held
-- KEYS[3] holds zset:  hold id scored by expiry (ms since epoch)
-- KEYS[4] hold info:   hold id -> "<slot>|<vaccine>|<expiry ms>"
-- All four keys share the clinic's hash tag, so a script never spans shards.

local function split_info(info)
  local slot, vaccine, expires = string.match(info, '^([^|]*)|([^|]*)|(%d+)$')
  return slot, vaccine, expires
end

local function count(key, field)
  return tonumber(redis.call('HGET', key, field) or '0')
end

-- Drops a live hold and gives its seat and dose back.
local function drop_hold(id)
  local info = redis.call('HGET', KEYS[4], id)
  redis.call('ZREM', KEYS[3], id)
  if not info then
    return nil
  end
  local slot, vaccine = split_info(info)
  redis.call('HDEL', KEYS[4], id)
  redis.call('HINCRBY', KEYS[1], slot .. ':held', -1)
  redis.call('HINCRBY', KEYS[2], vaccine .. ':held', -1)
  return info
end

-- Gives back the seat and dose of every hold that expired by `now`.
local function reap(now, limit)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, limit)
  for _, id in ipairs(expired) do
    drop_hold(id)
  end
end
