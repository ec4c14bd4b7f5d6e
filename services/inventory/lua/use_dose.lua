-- Records in Redis a dose PostgreSQL has already recorded as given from a
-- committed hold: the dose leaves the stock together with its committed
-- claim, and the seat stays committed. ARGV: vaccine
if redis.call('HEXISTS', KEYS[1], '_loaded') == 0 then
  return 0
end
redis.call('HINCRBY', KEYS[2], ARGV[1] .. ':doses', -1)
redis.call('HINCRBY', KEYS[2], ARGV[1] .. ':committed', -1)
return 1
