-- Record accepted payments (one, or a batch the gateway sent to SQS together): each one's
-- in-flight marker and per-second statistics, and the gateway's metric increments (folded
-- in here so metrics cost no extra round trip).
-- KEYS[1] set of currencies, KEYS[2] metrics hash, then per payment: its marker hash and
-- its minute statistics hash (KEYS[1 + 2i], KEYS[2 + 2i] for the i-th payment)
-- ARGV[1] marker ttl, ARGV[2] statistics ttl, ARGV[3] number of metric pairs m,
-- ARGV[4 .. 3 + 2m] pairs of metric field and increment, then per payment four values:
-- amount in cents, currency, accepted at (ms), second within the minute (0-59)
local marker_ttl, stats_ttl, metric_pairs = ARGV[1], ARGV[2], tonumber(ARGV[3])

for i = 4, 3 + 2 * metric_pairs, 2 do
  redis.call('HINCRBYFLOAT', KEYS[2], ARGV[i], ARGV[i + 1])
end

-- A batch's payments mostly share a second: sum them here first, then write each
-- (minute, field suffix) once rather than once per payment.
local sums, order, minutes, currencies = {}, {}, {}, {}
local first = 4 + 2 * metric_pairs
for p = 0, (#ARGV - first + 1) / 4 - 1 do
  local a = first + 4 * p
  local marker, minute = KEYS[3 + 2 * p], KEYS[4 + 2 * p]
  local amount, currency = tonumber(ARGV[a]), ARGV[a + 1]
  redis.call('HSET', marker, 'status', 'accepted', 'amount_cents', ARGV[a],
             'currency', currency, 'accepted_ms', ARGV[a + 2])
  redis.call('EXPIRE', marker, marker_ttl)
  -- per-second fields feed partial minutes at the window's edges, the minute totals the rest
  for _, suffix in ipairs({':' .. ARGV[a + 3], ''}) do
    local id = minute .. ' ' .. suffix
    local sum = sums[id]
    if not sum then
      sum = {minute = minute, suffix = suffix, c = 0, s = 0, mn = amount, mx = amount}
      sums[id] = sum
      order[#order + 1] = id
    end
    sum.c, sum.s = sum.c + 1, sum.s + amount
    if amount < sum.mn then sum.mn = amount end
    if amount > sum.mx then sum.mx = amount end
  end
  minutes[minute], currencies[currency] = true, true
end

for _, id in ipairs(order) do
  local sum = sums[id]
  local minute, suffix = sum.minute, sum.suffix
  redis.call('HINCRBY', minute, 'c' .. suffix, sum.c)
  redis.call('HINCRBY', minute, 's' .. suffix, sum.s)
  local low = redis.call('HGET', minute, 'mn' .. suffix)
  if not low or sum.mn < tonumber(low) then
    redis.call('HSET', minute, 'mn' .. suffix, sum.mn)
  end
  local high = redis.call('HGET', minute, 'mx' .. suffix)
  if not high or sum.mx > tonumber(high) then
    redis.call('HSET', minute, 'mx' .. suffix, sum.mx)
  end
end
for minute in pairs(minutes) do
  redis.call('EXPIRE', minute, stats_ttl)
end
for currency in pairs(currencies) do
  redis.call('SADD', KEYS[1], currency)
end
return 1
