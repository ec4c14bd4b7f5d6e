-- Gives back a live hold, or a committed seat and dose.
-- ARGV: hold id, slot id or '' , vaccine or '', new stock of the vaccine or ''
-- With a slot and vaccine, the seat and dose were committed: uncount them.
-- Without, drop the live hold if Redis has it; returns its info or nil.
-- A new stock (the dose went to a shortfall) is set in the same step, so the
-- freed dose is never free in Redis.
if ARGV[4] ~= '' and redis.call('HEXISTS', KEYS[1], '_loaded') == 1 then
  redis.call('HSET', KEYS[2], ARGV[3] .. ':doses', ARGV[4])
end
if ARGV[2] ~= '' then
  if redis.call('HEXISTS', KEYS[1], '_loaded') == 1 then
    redis.call('HINCRBY', KEYS[1], ARGV[2] .. ':committed', -1)
    redis.call('HINCRBY', KEYS[2], ARGV[3] .. ':committed', -1)
  end
  return nil
end
return drop_hold(ARGV[1])
