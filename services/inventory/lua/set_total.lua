-- Sets a slot's capacity or a vaccine's stock, or closes a slot to new holds,
-- when the clinic is loaded.
-- ARGV: 'seats', 'doses' or 'closed', slot id or vaccine, new total (or 1)
if redis.call('HEXISTS', KEYS[1], '_loaded') == 0 then
  return 0
end
if ARGV[1] == 'seats' then
  redis.call('HSET', KEYS[1], ARGV[2] .. ':capacity', ARGV[3])
elseif ARGV[1] == 'closed' then
  redis.call('HSET', KEYS[1], ARGV[2] .. ':closed', 1)
else
  redis.call('HSET', KEYS[2], ARGV[2] .. ':doses', ARGV[3])
end
return 1
