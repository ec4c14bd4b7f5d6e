-- Sets a slot's capacity or a vaccine's stock, when the clinic is loaded.
-- ARGV: 'seats' or 'doses', slot id or vaccine, new total
if redis.call('HEXISTS', KEYS[1], '_loaded') == 0 then
  return 0
end
if ARGV[1] == 'seats' then
  redis.call('HSET', KEYS[1], ARGV[2] .. ':capacity', ARGV[3])
else
  redis.call('HSET', KEYS[2], ARGV[2] .. ':doses', ARGV[3])
end
return 1
