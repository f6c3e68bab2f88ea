-- Give back the reservation of one order that will not be fulfilled: "cancelled" when it
-- never reached the queue (its marker is deleted, so a retry may reserve again),
-- "rejected" when MySQL refused it (its marker keeps the reason for GET /orders/{id}),
-- "expired" when the sweep finds it pending past the bound and no worker has claimed it
-- (marked rejected with the reason; a worker that receives it later stores it rejected).
-- Idempotent: only a marker still "pending" gives anything back, so a redelivered
-- message, a second sweep or a late gateway cannot release twice. Without a marker
-- (Redis lost it) there is no reservation left to give back: the stock was reloaded
-- from MySQL without it.
-- KEYS[1] pending hash, KEYS[2] order marker, KEYS[3] orders statistics hash of the
-- accepted minute, KEYS[4] units sold per product (zset), KEYS[5] sold-out set,
-- KEYS[6] reservations by time (zset), KEYS[7..] one product hash per item
-- ARGV[1] "cancelled" | "rejected" | "expired", ARGV[2] reason, ARGV[3] marker ttl,
-- ARGV[4] second within the minute, ARGV[5] total cents, ARGV[6] order id,
-- ARGV[7] "expired" only: accepted before this (ms), ARGV[8..] product id, quantity per item
-- Returns 1 when the reservation was given back, 0 when there was none to give.
local n = #KEYS - 6
local marker = redis.call('HMGET', KEYS[2], 'status', 'claimed', 'accepted_ms')
local status = marker[1]

local function mark_rejected()
  redis.call('HSET', KEYS[2], 'status', 'rejected', 'reason', ARGV[2], 'total_cents', ARGV[5])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end

if status ~= 'pending' then
  if ARGV[1] == 'rejected' and status ~= 'confirmed' then mark_rejected() end
  redis.call('ZREM', KEYS[6], ARGV[6])
  return 0
end
if ARGV[1] == 'expired' and (marker[2] or tonumber(marker[3] or 0) >= tonumber(ARGV[7])) then
  return 0  -- a worker is settling it, or it is younger than the bound: not ours to give back
end

local units = 0
for i = 1, n do
  local pid, qty = ARGV[6 + 2 * i], tonumber(ARGV[7 + 2 * i])
  -- a product key lost and reloaded meanwhile was computed net of pending: add back to it
  if redis.call('HEXISTS', KEYS[6 + i], 'available') == 1 then
    if redis.call('HINCRBY', KEYS[6 + i], 'available', qty) > 0 then redis.call('SREM', KEYS[5], pid) end
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

redis.call('ZREM', KEYS[6], ARGV[6])
if ARGV[1] == 'cancelled' then
  redis.call('DEL', KEYS[2])
else
  mark_rejected()
end
return 1
