--[[
  Makes `key` live at least `ttl` ms from now without shortening a longer
  TTL: NX gives a TTL to a key that has none, GT lengthens a shorter one
  (Redis 7.0 or later). replies.ts `keepTtl` queues the same two commands
  in a pipeline.
]]
local function keep_ttl(key, ttl)
  redis.call("PEXPIRE", key, ttl, "NX")
  redis.call("PEXPIRE", key, ttl, "GT")
end
