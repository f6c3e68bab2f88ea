-- Give back the reservation of one order that will not be fulfilled: "cancelled" when it
-- never reached the queue (its marker is deleted, so a retry may reserve again),
-- "rejected" when MySQL refused it (its marker keeps the reason for GET /orders/{id}).
-- Idempotent: only a marker still "pending" gives anything back, so a redelivered
-- message cannot release twice. Without a marker (Redis lost it) there is no
-- reservation left to give back: the stock was reloaded from MySQL without it.
-- KEYS[1] pending hash, KEYS[2] order marker, KEYS[3] orders statistics hash of the
-- accepted minute, KEYS[4] units sold per product (zset), KEYS[5] sold-out set,
-- KEYS[6..] one product hash per item
-- ARGV[1] "cancelled" | "rejected", ARGV[2] reason, ARGV[3] marker ttl,
-- ARGV[4] second within the minute, ARGV[5] total cents, ARGV[6..] product id, quantity per item
-- Returns 1 when the reservation was given back, 0 when there was none to give.
local n = #KEYS - 5
local status = redis.call('HGET', KEYS[2], 'status')

local function mark_rejected()
  redis.call('HSET', KEYS[2], 'status', 'rejected', 'reason', ARGV[2], 'total_cents', ARGV[5])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end

if status ~= 'pending' then
  if ARGV[1] == 'rejected' and status ~= 'confirmed' then mark_rejected() end
  return 0
end

local units = 0
for i = 1, n do
  local pid, qty = ARGV[4 + 2 * i], tonumber(ARGV[5 + 2 * i])
  -- a product key lost and reloaded meanwhile was computed net of pending: add back to it
  if redis.call('HEXISTS', KEYS[5 + i], 'available') == 1 then
    if redis.call('HINCRBY', KEYS[5 + i], 'available', qty) > 0 then redis.call('SREM', KEYS[5], pid) end
  end
  if redis.call('HINCRBY', KEYS[1], pid, -qty) <= 0 then redis.call('HDEL', KEYS[1], pid) end
  if tonumber(redis.call('ZINCRBY', KEYS[4], -qty, pid)) <= 0 then redis.call('ZREM', KEYS[4], pid) end
  units = units + qty
end

if redis.call('EXISTS', KEYS[3]) == 1 then
  for _, suffix in ipairs({':' .. ARGV[4], ''}) do
    redis.call('HINCRBY', KEYS[3], 'c' .. suffix, -1)
    redis.call('HINCRBY', KEYS[3], 's' .. suffix, -tonumber(ARGV[5]))
    redis.call('HINCRBY', KEYS[3], 'u' .. suffix, -units)
  end
end

if ARGV[1] == 'cancelled' then
  redis.call('DEL', KEYS[2])
else
  mark_rejected()
end
return 1
