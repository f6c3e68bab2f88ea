-- Aggregate per-second statistics buckets over [first, last] (epoch seconds), per series
-- (see buckets.lib.lua). Payments and orders both use it.
-- KEYS[1] set of series; ARGV[1] key prefix, ARGV[2] first second, ARGV[3] last second,
-- ARGV[4..] fields as "name:sum|min|max"; the first field must be a sum (the count).
--#include buckets.lib
local first = tonumber(ARGV[2])
local last = tonumber(ARGV[3])
local refused = check_span(first, last)
if refused then return refused end
return bucket_window(KEYS[1], ARGV[1], first, last, {unpack(ARGV, 4)})
