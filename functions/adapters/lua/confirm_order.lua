-- An order is stored in MySQL with its stock decremented: its units are no longer
-- "pending" (MySQL's stock now counts them) and its marker says "confirmed".
-- Idempotent: pending counts drop only while the marker is still "pending".
-- KEYS[1] pending hash, KEYS[2] order marker, KEYS[3] reservations by time (zset)
-- ARGV[1] marker ttl, ARGV[2] total cents, ARGV[3] order id, ARGV[4..] product id, quantity per item
local status = redis.call('HGET', KEYS[2], 'status')
if status == 'pending' then
  for i = 4, #ARGV, 2 do
    if redis.call('HINCRBY', KEYS[1], ARGV[i], -tonumber(ARGV[i + 1])) <= 0 then
      redis.call('HDEL', KEYS[1], ARGV[i])
    end
  end
end
redis.call('ZREM', KEYS[3], ARGV[3])
redis.call('HSET', KEYS[2], 'status', 'confirmed', 'total_cents', ARGV[2])
redis.call('HDEL', KEYS[2], 'reason')
redis.call('EXPIRE', KEYS[2], ARGV[1])
return status == 'pending' and 1 or 0
