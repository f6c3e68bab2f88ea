-- Orders stored in MySQL with their stock decremented (a worker's batch, or one): their units
-- are no longer "pending" (MySQL's stock now counts them) and their markers say "confirmed".
-- Idempotent: an order's pending counts drop only while its marker is still "pending".
-- KEYS[1] pending hash, KEYS[2] reservations by time (zset), then each order's marker
-- ARGV[1] marker ttl, then per order: total cents, order id, number of items n, and n pairs
-- of product id, quantity
local ttl, a = ARGV[1], 2
for k = 3, #KEYS do
  local marker, total, id, n = KEYS[k], ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  local items = a + 3
  if redis.call('HGET', marker, 'status') == 'pending' then
    for i = items, items + 2 * n - 1, 2 do
      if redis.call('HINCRBY', KEYS[1], ARGV[i], -tonumber(ARGV[i + 1])) <= 0 then
        redis.call('HDEL', KEYS[1], ARGV[i])
      end
    end
  end
  redis.call('ZREM', KEYS[2], id)
  redis.call('HSET', marker, 'status', 'confirmed', 'total_cents', total)
  redis.call('HDEL', marker, 'reason')
  redis.call('EXPIRE', marker, ttl)
  a = items + 2 * n
end
return 1
