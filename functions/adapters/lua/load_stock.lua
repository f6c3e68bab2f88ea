-- Put one product's stock into Redis from MySQL: available = MySQL stock - units still
-- pending (reserved by orders the worker has not stored yet), never below zero.
-- Mode "missing" writes only when the product has no stock entry (a lost key is
-- restored once, whoever asks first); "force" overwrites (reconcile, catalogue load).
-- KEYS[1] product hash, KEYS[2] pending hash, KEYS[3] sold-out set
-- ARGV[1] product id, ARGV[2] stock in MySQL, ARGV[3] price cents, ARGV[4] sku, ARGV[5] name,
-- ARGV[6] "missing" | "force"
-- Returns {available before (-1 when missing), available now}
local before = redis.call('HGET', KEYS[1], 'available')
if ARGV[6] == 'missing' and before then
  return {tonumber(before), tonumber(before)}
end
local available = tonumber(ARGV[2]) - (tonumber(redis.call('HGET', KEYS[2], ARGV[1])) or 0)
if available < 0 then available = 0 end
redis.call('HSET', KEYS[1], 'available', available, 'price_cents', ARGV[3], 'sku', ARGV[4], 'name', ARGV[5])
if available == 0 then
  redis.call('SADD', KEYS[3], ARGV[1])
else
  redis.call('SREM', KEYS[3], ARGV[1])
end
return {tonumber(before) or -1, available}
