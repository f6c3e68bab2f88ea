-- Record one accepted payment: its in-flight marker, its per-second statistics and the
-- gateway's metric increments (folded in here so metrics cost no extra round trip).
-- KEYS[1] payment marker hash, KEYS[2] minute statistics hash, KEYS[3] set of currencies,
-- KEYS[4] metrics hash
-- ARGV[1] amount in cents, ARGV[2] currency, ARGV[3] accepted at (ms),
-- ARGV[4] second within the minute (0-59), ARGV[5] marker ttl, ARGV[6] statistics ttl,
-- ARGV[7..] pairs of metric field and increment (may be none)
local amount = tonumber(ARGV[1])
local s = ARGV[4]

redis.call('HSET', KEYS[1], 'status', 'accepted', 'amount_cents', ARGV[1],
           'currency', ARGV[2], 'accepted_ms', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])

-- per-second fields feed partial minutes at the window's edges, the minute totals the rest
for _, suffix in ipairs({':' .. s, ''}) do
  redis.call('HINCRBY', KEYS[2], 'c' .. suffix, 1)
  redis.call('HINCRBY', KEYS[2], 's' .. suffix, amount)
  local low = redis.call('HGET', KEYS[2], 'mn' .. suffix)
  if not low or amount < tonumber(low) then
    redis.call('HSET', KEYS[2], 'mn' .. suffix, amount)
  end
  local high = redis.call('HGET', KEYS[2], 'mx' .. suffix)
  if not high or amount > tonumber(high) then
    redis.call('HSET', KEYS[2], 'mx' .. suffix, amount)
  end
end
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('SADD', KEYS[3], ARGV[2])

for i = 7, #ARGV - 1, 2 do
  redis.call('HINCRBYFLOAT', KEYS[4], ARGV[i], ARGV[i + 1])
end
return 1
