-- Shared by the statistics scripts (included, never run alone): per-second statistics
-- buckets of a set of series (currencies…). A series has one hash per minute,
-- "<prefix><series>:<minute>", holding per-second fields "<f>:<s>" and minute totals "<f>".

-- A minute's hash as a Lua table. Its per-second fields make it a listpack of a few hundred
-- entries (under hash-max-listpack-entries), where each field HMGET names is a linear scan:
-- one HGETALL reads them all in one pass.
local function whole_hash(key)
  local all = redis.call('HGETALL', key)
  local h = {}
  for i = 1, #all, 2 do h[all[i]] = all[i + 1] end
  return h
end

-- Aggregate [first, last] per series. Whole minutes inside the window are read from their
-- totals (HMGET of a few fields) and the two edge minutes second by second (HGETALL): at
-- most ~23 hash reads per series, never a scan of keys. specs: {"name:sum|min|max", ...};
-- the first must be a sum (the count). Returns {{series, value1, value2, ...}, ...} for
-- series with a count > 0; min/max are -1 when unset.
local function bucket_window(series_key, prefix, first, last, specs)
  local names, modes = {}, {}
  for i, spec in ipairs(specs) do
    local name, mode = string.match(spec, '^(.+):(%a+)$')
    names[i], modes[i] = name, mode
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
  -- the field names an edge minute is read by, second by second: built once per call
  local first_minute, last_minute = math.floor(first / 60), math.floor(last / 60)
  local edge = {}  -- edge minute -> {{field names of a second inside the window}, ...}
  for _, m in ipairs({first_minute, last_minute}) do
    local start = m * 60
    if not edge[m] and not (start >= first and start + 59 <= last) then  -- one minute: once
      edge[m] = {}
      for sec = math.max(first, start) - start, math.min(last, start + 59) - start do
        local fields = {}
        for i, name in ipairs(names) do fields[i] = name .. ':' .. sec end
        table.insert(edge[m], fields)
      end
    end
  end
  local result = {}
  for _, series in ipairs(redis.call('SMEMBERS', series_key)) do
    local acc = {}
    for i, mode in ipairs(modes) do acc[i] = (mode == 'sum') and 0 or -1 end
    for m = first_minute, last_minute do
      local key = prefix .. series .. ':' .. m
      if edge[m] then
        local h = whole_hash(key)
        for _, fields in ipairs(edge[m]) do
          local v = {}
          for i, field in ipairs(fields) do v[i] = h[field] end
          add(acc, v)
        end
      else
        add(acc, redis.call('HMGET', key, unpack(names)))
      end
    end
    if acc[1] > 0 then
      table.insert(result, {series, unpack(acc)})
    end
  end
  return result
end

-- The count of each second of [first, last], of the series ``only`` (a currency) or else
-- all series added up: one HGETALL per minute and series (~21 for 20 minutes).
-- Returns last - first + 1 integers, oldest second first.
local function second_counts(series_key, prefix, first, last, field, only)
  local counts = {}
  for i = 1, last - first + 1 do counts[i] = 0 end
  local names = {}  -- second of the minute -> its field name
  for sec = 0, 59 do names[sec] = field .. ':' .. sec end
  local all = only and {only} or redis.call('SMEMBERS', series_key)
  for _, series in ipairs(all) do
    for m = math.floor(first / 60), math.floor(last / 60) do
      local start = m * 60
      local h = whole_hash(prefix .. series .. ':' .. m)
      if h[field] then
        for sec = math.max(first, start), math.min(last, start + 59) do
          local value = h[names[sec - start]]
          if value then
            counts[sec - first + 1] = counts[sec - first + 1] + tonumber(value)
          end
        end
      end
    end
  end
  return counts
end

-- a script blocks Redis while it runs: refuse spans no window can have
local function check_span(first, last)
  if last - first > 86400 then
    return redis.error_reply('window longer than a day')
  end
end
