-- Everything GET /statistics shows from Redis, in one call: the payments window per
-- currency, optionally the payments per second, the orders window per currency, the best
-- sellers with what is left of each, the sold-out products and the last reconcile report.
-- KEYS[1] payments' series set, KEYS[2] orders' series set, KEYS[3] zset of units sold per
-- product, KEYS[4] set of sold-out products, KEYS[5] the last reconcile report (string)
-- ARGV[1] payments' bucket prefix, ARGV[2] orders' bucket prefix, ARGV[3] product key
-- prefix, ARGV[4] first second, ARGV[5] last second, ARGV[6] "1" for the per-second
-- series, ARGV[7] how many best sellers, ARGV[8] how many sold-out ids, ARGV[9] (optional)
-- the one currency the per-second series counts (absent: all currencies)
-- Returns {payments rows, per-second counts or {}, orders rows, {pid, sold, available|-1}...,
-- {sold-out count, ids...}, last reconcile report or false}
--#include buckets.lib
local first = tonumber(ARGV[4])
local last = tonumber(ARGV[5])
local refused = check_span(first, last)
if refused then return refused end

local payments = bucket_window(KEYS[1], ARGV[1], first, last, {'c:sum', 's:sum', 'mn:min', 'mx:max'})
local counts = {}
if ARGV[6] == '1' then counts = second_counts(KEYS[1], ARGV[1], first, last, 'c', ARGV[9]) end
local orders = bucket_window(KEYS[2], ARGV[2], first, last, {'c:sum', 's:sum', 'u:sum'})

local best = {}
local top = redis.call('ZREVRANGE', KEYS[3], 0, tonumber(ARGV[7]) - 1, 'WITHSCORES')
for i = 1, #top, 2 do
  local available = redis.call('HGET', ARGV[3] .. top[i], 'available')
  table.insert(best, {top[i], top[i + 1], available or -1})
end

local sold_out = {redis.call('SCARD', KEYS[4])}
for _, id in ipairs(redis.call('SRANDMEMBER', KEYS[4], tonumber(ARGV[8]))) do
  table.insert(sold_out, id)
end

return {payments, counts, orders, best, sold_out, redis.call('GET', KEYS[5])}
