--[[
  Takes one token from a token bucket, refilled by Redis's own clock (TIME),
  so replicas with skewed clocks still share one pace. The token is taken
  on credit when the bucket is empty (`tokens` goes below zero): the caller
  waits its turn instead of asking again. The key expires once the bucket
  would be full again, so an idle bucket costs nothing and a lost one (a
  restart) simply starts full.

  KEYS[1] the bucket: a hash of `tokens` (may be negative) and `at` (ms of the last take)

  ARGV[1] tokens added per second
  ARGV[2] burst: the most tokens the bucket holds

  Returns the ms the caller must wait before acting (0: a token was there).
]]
--- @include "includes/store-clock"
local now = store_now_ms()
local perMs = tonumber(ARGV[1]) / 1000
local burst = tonumber(ARGV[2])

local state = redis.call("HMGET", KEYS[1], "tokens", "at")
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
-- A clock that went back (a failover to another node) refills nothing and never rewinds `at`.
if now > at then
  tokens = math.min(burst, tokens + (now - at) * perMs)
  at = now
end
tokens = tokens - 1

redis.call("HSET", KEYS[1], "tokens", string.format("%.6f", tokens), "at", at)
redis.call("PEXPIRE", KEYS[1], math.ceil((burst - tokens) / perMs) + 1000)
if tokens >= 0 then
  return 0
end
-- Counted from `at`, which is later than now only after the clock went back.
return math.ceil((at - now) - tokens / perMs)
