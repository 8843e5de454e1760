--[[
  Registers a replica, or refreshes its entry: last seen now, by Redis's
  clock, and lapsing `ttl` ms later unless refreshed again. Removes the
  entries that have lapsed. The registry key lives at least as long as its
  newest entry.

  KEYS[1] the registry: a hash of owner to the replica as JSON, with
          `lastSeenAt` and `expiresAt` (ms) added here

  ARGV[1] the replica as JSON: {owner, protocol, startedAt}
  ARGV[2] ms the entry lives unless refreshed

  Returns 1.
]]
--- @include "includes/store-clock"
--- @include "includes/live-replicas"
--- @include "includes/keep-ttl"
local now = store_now_ms()
local ttl = tonumber(ARGV[2])
local entry = cjson.decode(ARGV[1])
entry.lastSeenAt = now
entry.expiresAt = now + ttl
live_replicas(KEYS[1], now)
redis.call("HSET", KEYS[1], entry.owner, cjson.encode(entry))
keep_ttl(KEYS[1], ttl)
return 1
