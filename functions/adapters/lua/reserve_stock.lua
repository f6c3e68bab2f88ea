-- Reserve every item of one order, or none: the stock gate of the flash sale.
-- Availability never goes below zero because all items are checked before any is taken,
-- and Redis runs the script atomically. In the same call it writes the order's pending
-- marker and the orders statistics, so a checkout costs one Redis round trip.
-- KEYS[1] pending hash (product id -> units reserved by orders not yet settled in MySQL)
-- KEYS[2] order marker hash, KEYS[3] orders statistics hash of this minute,
-- KEYS[4] set of statistics series (currencies), KEYS[5] units sold per product (zset),
-- KEYS[6] set of sold-out products, KEYS[7] reservations by time (zset: order id -> accepted ms;
-- the sweep gives back the ones that never became an order), KEYS[8..] one product hash per item
-- ARGV[1] currency, ARGV[2] accepted at (ms), ARGV[3] second within the minute (0-59),
-- ARGV[4] marker ttl, ARGV[5] statistics ttl, ARGV[6] order id, ARGV[7..] product id, quantity per item
-- Returns {"reserved", price1, price2, ...} | {"short", product id, available}
--       | {"missing", product id} | {"exists", status, total cents}
local n = #KEYS - 7

local existing = redis.call('HMGET', KEYS[2], 'status', 'total_cents')
if existing[1] then
  return {'exists', existing[1], existing[2] or '0'}
end

local function pid(i) return ARGV[5 + 2 * i] end
local function qty(i) return tonumber(ARGV[6 + 2 * i]) end

-- look at everything first: a missing product (to load) wins over a short one
local rows = {}
for i = 1, n do
  rows[i] = redis.call('HMGET', KEYS[7 + i], 'available', 'price_cents')
  if not rows[i][1] or not rows[i][2] then return {'missing', pid(i)} end
end
for i = 1, n do
  if tonumber(rows[i][1]) < qty(i) then return {'short', pid(i), rows[i][1]} end
end

local total, units, items, reply = 0, 0, {}, {'reserved'}
for i = 1, n do
  local left = redis.call('HINCRBY', KEYS[7 + i], 'available', -qty(i))
  if left == 0 then redis.call('SADD', KEYS[6], pid(i)) end
  redis.call('HINCRBY', KEYS[1], pid(i), qty(i))
  redis.call('ZINCRBY', KEYS[5], qty(i), pid(i))
  local price = tonumber(rows[i][2])
  total = total + price * qty(i)
  units = units + qty(i)
  items[i] = pid(i) .. ':' .. qty(i) .. ':' .. price
  reply[i + 1] = price
end

redis.call('HSET', KEYS[2], 'status', 'pending', 'total_cents', total, 'units', units,
           'currency', ARGV[1], 'accepted_ms', ARGV[2], 'items', table.concat(items, ','))
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[7], ARGV[2], ARGV[6])

-- per-second fields feed the window's edges, the minute totals the rest (see buckets.lib.lua)
for _, suffix in ipairs({':' .. ARGV[3], ''}) do
  redis.call('HINCRBY', KEYS[3], 'c' .. suffix, 1)
  redis.call('HINCRBY', KEYS[3], 's' .. suffix, total)
  redis.call('HINCRBY', KEYS[3], 'u' .. suffix, units)
end
redis.call('EXPIRE', KEYS[3], ARGV[5])
redis.call('SADD', KEYS[4], ARGV[1])
return reply
