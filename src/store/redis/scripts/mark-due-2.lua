--[[
  Marks one environment due at a time, earlier than it already is or newly
  (never later).

  KEYS[1] the repository's due sorted set
  KEYS[2] the repository's envs set (read only: its TTL covers every environment)

  ARGV[1] the environment's member, `pr-<n>`
  ARGV[2] due time (ms)
  ARGV[3] TTL in ms to give the due set when the repository has no envs set
          (a mark for an environment with no keys), so no key lives forever

  Returns the TTL in ms the due set keeps at least, for the global index.
]]
--- @include "includes/keep-ttl"

local due = KEYS[1]
redis.call("ZADD", due, "LT", ARGV[2], ARGV[1])

local ttl = redis.call("PTTL", KEYS[2])
if ttl <= 0 then
  ttl = tonumber(ARGV[3])
end
keep_ttl(due, ttl)
return ttl
