-- The count of each second of [first, last] (epoch seconds), all series added up, from
-- the per-minute bucket hashes every statistics series keeps ("<prefix><series>:<minute>"
-- with per-second fields "<count field>:<s>" and the minute total "<count field>").
-- One HMGET per minute and series (~21 for 20 minutes), never a scan of keys; a minute
-- whose total is absent costs nothing more.
-- KEYS[1] set of series (currencies…); ARGV[1] key prefix, ARGV[2] first second,
-- ARGV[3] last second, ARGV[4] name of the count field ("c"), ARGV[5] (optional) only this series
-- Returns a list of last - first + 1 integers, oldest second first.
local first = tonumber(ARGV[2])
local last = tonumber(ARGV[3])
local field = ARGV[4]
local counts = {}
for i = 1, last - first + 1 do counts[i] = 0 end

local all = ARGV[5] and {ARGV[5]} or redis.call('SMEMBERS', KEYS[1])
for _, series in ipairs(all) do
  for m = math.floor(first / 60), math.floor(last / 60) do
    local start = m * 60
    local from, to = math.max(first, start), math.min(last, start + 59)
    local fields = {field}
    for sec = from, to do fields[#fields + 1] = field .. ':' .. (sec - start) end
    local values = redis.call('HMGET', ARGV[1] .. series .. ':' .. m, unpack(fields))
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
