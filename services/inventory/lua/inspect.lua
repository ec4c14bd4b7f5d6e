-- Reads a clinic for the reconciler: both counter hashes and the hold info,
-- after reaping, so that expired holds do not look like drift.
-- ARGV: now ms
reap(tonumber(ARGV[1]), 1000000)
return {
  redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[4]),
}
