-- Count, sum, min and max of payments per currency over [first, last] (epoch seconds).
-- Reads whole-minute totals where a minute lies inside the window and per-second fields
-- only at its two edges: at most ~21 + 120 hash reads, never a scan of keys.
-- KEYS[1] set of currencies; ARGV[1] key prefix of the minute hashes ("<prefix>stats:pay:"),
-- ARGV[2] first second, ARGV[3] last second
local first = tonumber(ARGV[2])
local last = tonumber(ARGV[3])
-- a script blocks Redis while it runs: refuse spans no window can have
if last - first > 86400 then
  return redis.error_reply('window longer than a day')
end
local result = {}

local function add(acc, v)
  if v[1] then
    acc[1] = acc[1] + tonumber(v[1])
    acc[2] = acc[2] + tonumber(v[2])
    local low, high = tonumber(v[3]), tonumber(v[4])
    if acc[3] < 0 or low < acc[3] then acc[3] = low end
    if high > acc[4] then acc[4] = high end
  end
end

for _, cur in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local acc = {0, 0, -1, -1}
  for m = math.floor(first / 60), math.floor(last / 60) do
    local key = ARGV[1] .. cur .. ':' .. m
    local start = m * 60
    if start >= first and start + 59 <= last then
      add(acc, redis.call('HMGET', key, 'c', 's', 'mn', 'mx'))
    else
      for sec = math.max(first, start), math.min(last, start + 59) do
        local o = sec - start
        add(acc, redis.call('HMGET', key, 'c:' .. o, 's:' .. o, 'mn:' .. o, 'mx:' .. o))
      end
    end
  end
  if acc[1] > 0 then
    table.insert(result, {cur, acc[1], acc[2], acc[3], acc[4]})
  end
end
return result
