-- The worker claims the orders of a batch before it settles them in MySQL: a pending
-- reservation is marked "claimed", and from then on the sweep leaves it alone. Atomic
-- against the sweep (release_stock.lua "expired"): either the worker claims first and
-- the sweep skips it, or the sweep gave the units back first and the worker sees
-- "rejected" and stores the order rejected, decrementing nothing. Never both.
-- KEYS[1..] order markers
-- Returns, per order: status ('' when Redis has no marker), reason ('' when none)
local reply = {}
for i = 1, #KEYS do
  local marker = redis.call('HMGET', KEYS[i], 'status', 'reason')
  if marker[1] == 'pending' then redis.call('HSET', KEYS[i], 'claimed', '1') end
  reply[2 * i - 1] = marker[1] or ''
  reply[2 * i] = marker[2] or ''
end
return reply
