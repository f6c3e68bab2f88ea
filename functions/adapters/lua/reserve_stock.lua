-- Reserve every item of an order, or none: the stock gate of the flash sale. One call may
-- carry several orders (the gateway's concurrent checkouts): each is decided in turn, as
-- if it had come alone, and Redis runs the whole script atomically. The orders statistics of
-- the reserved orders are summed per (minute, second) and written once each at the end: a
-- batch mostly shares one second, and no order of the batch reads them.
-- Availability never goes below zero because all items of an order are checked before any
-- is taken. In the same call it writes each order's pending marker and the orders
-- statistics, so a batch of checkouts costs one Redis round trip.
-- KEYS[1] pending hash (product id -> units reserved by orders not yet settled in MySQL),
-- KEYS[2] set of statistics series (currencies), KEYS[3] units sold per product (zset),
-- KEYS[4] set of sold-out products, KEYS[5] reservations by time (zset: order id -> accepted
-- ms; the sweep gives back the ones that never became an order), then per order: its marker
-- hash, its minute's orders statistics hash, one product hash per item
-- ARGV[1] marker ttl, ARGV[2] statistics ttl, then per order: order id, currency, accepted at
-- (ms), second within the minute (0-59), number of items n, then n pairs of product id, quantity
-- Returns one reply per order, in order: {"reserved", price1, price2, ...}
--   | {"short", product id, available} | {"missing", product id} | {"exists", status, total cents}

-- the reserved orders' statistics, summed: "<minute key> <suffix>" -> {c, s, u}, in first-seen order
local sums, sum_ids, minutes, currencies = {}, {}, {}, {}

-- k: index in KEYS of the order's marker; a: index in ARGV of its id; n: its number of items
local function reserve(k, a, n)
  local marker, minute = KEYS[k], KEYS[k + 1]
  local existing = redis.call('HMGET', marker, 'status', 'total_cents')
  if existing[1] then
    return {'exists', existing[1], existing[2] or '0'}
  end

  local function pid(i) return ARGV[a + 3 + 2 * i] end
  local function qty(i) return tonumber(ARGV[a + 4 + 2 * i]) end
  local function product(i) return KEYS[k + 1 + i] end

  -- look at everything first: a missing product (to load) wins over a short one
  local rows = {}
  for i = 1, n do
    rows[i] = redis.call('HMGET', product(i), 'available', 'price_cents')
    if not rows[i][1] or not rows[i][2] then return {'missing', pid(i)} end
  end
  for i = 1, n do
    if tonumber(rows[i][1]) < qty(i) then return {'short', pid(i), rows[i][1]} end
  end

  local total, units, items, reply = 0, 0, {}, {'reserved'}
  for i = 1, n do
    local left = redis.call('HINCRBY', product(i), 'available', -qty(i))
    if left == 0 then redis.call('SADD', KEYS[4], pid(i)) end
    redis.call('HINCRBY', KEYS[1], pid(i), qty(i))
    redis.call('ZINCRBY', KEYS[3], qty(i), pid(i))
    local price = tonumber(rows[i][2])
    total = total + price * qty(i)
    units = units + qty(i)
    items[i] = pid(i) .. ':' .. qty(i) .. ':' .. price
    reply[i + 1] = price
  end

  local currency, accepted = ARGV[a + 1], ARGV[a + 2]
  redis.call('HSET', marker, 'status', 'pending', 'total_cents', total, 'units', units,
             'currency', currency, 'accepted_ms', accepted, 'items', table.concat(items, ','))
  redis.call('EXPIRE', marker, ARGV[1])
  redis.call('ZADD', KEYS[5], accepted, ARGV[a])

  -- per-second fields feed the window's edges, the minute totals the rest (see buckets.lib.lua)
  for _, suffix in ipairs({':' .. ARGV[a + 3], ''}) do
    local id = minute .. ' ' .. suffix
    local sum = sums[id]
    if not sum then
      sum = {minute = minute, suffix = suffix, c = 0, s = 0, u = 0}
      sums[id] = sum
      sum_ids[#sum_ids + 1] = id
    end
    sum.c, sum.s, sum.u = sum.c + 1, sum.s + total, sum.u + units
  end
  minutes[minute], currencies[currency] = true, true
  return reply
end

local replies, k, a = {}, 6, 3
while a <= #ARGV do
  local n = tonumber(ARGV[a + 4])
  replies[#replies + 1] = reserve(k, a, n)
  k, a = k + 2 + n, a + 5 + 2 * n
end

for _, id in ipairs(sum_ids) do
  local sum = sums[id]
  redis.call('HINCRBY', sum.minute, 'c' .. sum.suffix, sum.c)
  redis.call('HINCRBY', sum.minute, 's' .. sum.suffix, sum.s)
  redis.call('HINCRBY', sum.minute, 'u' .. sum.suffix, sum.u)
end
for minute in pairs(minutes) do
  redis.call('EXPIRE', minute, ARGV[2])
end
for currency in pairs(currencies) do
  redis.call('SADD', KEYS[2], currency)
end
return replies
