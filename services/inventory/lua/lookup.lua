-- A hold's info if it is still live, after reaping expired holds.
-- ARGV: now ms, hold id, reap limit
reap(tonumber(ARGV[1]), tonumber(ARGV[3]))
return redis.call('HGET', KEYS[4], ARGV[2])
