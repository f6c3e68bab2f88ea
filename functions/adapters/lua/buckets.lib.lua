-- Shared by the statistics scripts (included, never run alone): per-second statistics
-- buckets of a set of series (currencies…). A series has one hash per minute,
-- "<prefix><series>:<minute>", holding per-second fields "<f>:<s>" and minute totals "<f>".

-- Aggregate [first, last] per series. Whole minutes inside the window are read from their
-- totals and only the two edge minutes second by second: at most ~21 + 120 hash reads,
-- never a scan of keys. specs: {"name:sum|min|max", ...}; the first must be a sum (the
-- count). Returns {{series, value1, value2, ...}, ...} for series with a count > 0;
-- min/max are -1 when unset.
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
  local function fields(suffix)
    local out = {}
    for i, name in ipairs(names) do out[i] = name .. suffix end
    return out
  end
  local result = {}
  for _, series in ipairs(redis.call('SMEMBERS', series_key)) do
    local acc = {}
    for i, mode in ipairs(modes) do acc[i] = (mode == 'sum') and 0 or -1 end
    for m = math.floor(first / 60), math.floor(last / 60) do
      local key = prefix .. series .. ':' .. m
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
end

-- The count of each second of [first, last], of the series ``only`` (a currency) or else
-- all series added up: one HMGET per minute and series (~21 for 20 minutes); a minute
-- whose total is absent costs nothing more.
-- Returns last - first + 1 integers, oldest second first.
local function second_counts(series_key, prefix, first, last, field, only)
  local counts = {}
  for i = 1, last - first + 1 do counts[i] = 0 end
  local all = only and {only} or redis.call('SMEMBERS', series_key)
  for _, series in ipairs(all) do
    for m = math.floor(first / 60), math.floor(last / 60) do
      local start = m * 60
      local from, to = math.max(first, start), math.min(last, start + 59)
      local names = {field}
      for sec = from, to do names[#names + 1] = field .. ':' .. (sec - start) end
      local values = redis.call('HMGET', prefix .. series .. ':' .. m, unpack(names))
      if values[1] then
        for i = 2, #values do
          if values[i] then
            local at = from + i - 2 - first + 1
            counts[at] = counts[at] + tonumber(values[i])
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
