--[[
  Records one intent: appends it to the environment's inbox and marks the
  environment due now in its repository's indexes. Every key is in the
  repository's `{repoId}` slot; the global indexes are updated by the caller
  in the same pipeline (see global-index.ts).

  KEYS[1] the environment's inbox (list)
  KEYS[2] the repository's envs set
  KEYS[3] the repository's due sorted set
  KEYS[4] the environment's deliveries (sorted set: delivery id, scored by
          the time it was recorded; untouched when ARGV[5] is "")

  ARGV[1] the intent, JSON
  ARGV[2] the environment's member, `pr-<n>`
  ARGV[3] now, ms since the epoch (the client's clock)
  ARGV[4] store TTL in ms: how long a delivery id is remembered, and the
          least the inbox, the deliveries and the indexes keep
  ARGV[5] the delivery id, or "" when there is none

  Returns 1 when recorded, 0 when the delivery was recorded within the last
  ARGV[4] ms (nothing changed).
]]
--- @include "includes/keep-ttl"

local now, ttl, delivery = ARGV[3], ARGV[4], ARGV[5]

if delivery ~= "" then
  -- Ids older than the window are forgotten first (what is kept stays
  -- bounded by the window), so one of them comes back as new.
  redis.call("ZREMRANGEBYSCORE", KEYS[4], "-inf", string.format("(%d", tonumber(now) - tonumber(ttl)))
  if redis.call("ZSCORE", KEYS[4], delivery) then
    return 0
  end
  redis.call("ZADD", KEYS[4], now, delivery)
  keep_ttl(KEYS[4], ttl)
end

redis.call("RPUSH", KEYS[1], ARGV[1])
redis.call("SADD", KEYS[2], ARGV[2])
-- LT adds a new member and only ever brings an existing one forward.
redis.call("ZADD", KEYS[3], "LT", now, ARGV[2])
keep_ttl(KEYS[1], ttl)
keep_ttl(KEYS[2], ttl)
keep_ttl(KEYS[3], ttl)
return 1
