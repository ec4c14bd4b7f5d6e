-- Records in Redis a commit that PostgreSQL has already accepted: the hold (if
-- Redis still has it) stops counting as held, and the seat and dose count as
-- committed. ARGV: hold id, slot id, vaccine
if redis.call('HEXISTS', KEYS[1], '_loaded') == 0 then
  return 0
end
drop_hold(ARGV[1])
redis.call('HINCRBY', KEYS[1], ARGV[2] .. ':committed', 1)
redis.call('HINCRBY', KEYS[2], ARGV[3] .. ':committed', 1)
return 1
