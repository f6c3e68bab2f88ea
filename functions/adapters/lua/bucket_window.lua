-- Aggregate per-second statistics buckets over [first, last] (epoch seconds), per series.
-- A series (a currency…) has one hash per minute, "<prefix><series>:<minute>", holding
-- per-second fields "<f>:<s>" and minute totals "<f>". Whole minutes inside the window are
-- read from their totals and only the two edge minutes second by second: at most
-- ~21 + 120 hash reads, never a scan of keys. Payments and orders both use it.
-- KEYS[1] set of series; ARGV[1] key prefix, ARGV[2] first second, ARGV[3] last second,
-- ARGV[4..] fields as "name:sum|min|max"; the first field must be a sum (the count).
-- Returns {{series, value1, value2, ...}, ...} for series with a count > 0; min/max are -1 when unset.
local first = tonumber(ARGV[2])
local last = tonumber(ARGV[3])
-- a script blocks Redis while it runs: refuse spans no window can have
if last - first > 86400 then
  return redis.error_reply('window longer than a day')
end
local names, modes = {}, {}
for i = 4, #ARGV do
  local name, mode = string.match(ARGV[i], '^(.+):(%a+)$')
  table.insert(names, name)
  table.insert(modes, mode)
end

local function add(acc, v)
  if not v[1] then return end
  for i, mode in ipairs(modes) do
    local x = tonumber(v[i]) or 0
    if mode == 'sum' then
      acc[i] = acc[i] + x
    elseif mode == 'min' then
      if acc[i] < 0 or x < acc[i] then acc[i] = x end
    elseif x > acc[i] then
      acc[i] = x
    end
  end
end

local function fields(suffix)
  local out = {}
  for i, name in ipairs(names) do out[i] = name .. suffix end
  return out
end

local result = {}
for _, series in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local acc = {}
  for i, mode in ipairs(modes) do acc[i] = (mode == 'sum') and 0 or -1 end
  for m = math.floor(first / 60), math.floor(last / 60) do
    local key = ARGV[1] .. series .. ':' .. m
    local start = m * 60
    if start >= first and start + 59 <= last then
      add(acc, redis.call('HMGET', key, unpack(fields(''))))
    else
      for sec = math.max(first, start), math.min(last, start + 59) do
        add(acc, redis.call('HMGET', key, unpack(fields(':' .. (sec - start)))))
      end
    end
  end
  if acc[1] > 0 then
    table.insert(result, {series, unpack(acc)})
  end
end
return result
