-- Token bucket per client, in one round trip: refill by elapsed time, then take one token.
-- KEYS[1] bucket hash (fields t = tokens, ts = last refill in ms)
-- ARGV[1] tokens per second, ARGV[2] burst (bucket size)
-- Returns {allowed (1|0), milliseconds until a token is available}.
-- Time comes from the Redis server so that every gateway process shares one clock.
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(state[1]) or burst
local last = tonumber(state[2]) or now
if now > last then
  tokens = math.min(burst, tokens + (now - last) * rate / 1000)
end

local allowed, wait_ms = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait_ms = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', now)
-- a full bucket carries no information: let it expire once it would be full again
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait_ms}
