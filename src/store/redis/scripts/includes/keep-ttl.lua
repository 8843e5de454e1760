--[[
  Makes `key` live at least `ttl` ms from now without shortening a longer
  TTL. Most calls find the TTL long enough already (a commit's TTL follows
  the same expiry, from a later now), so the TTL is read first and written
  only when there is none (-1) or a shorter one: one command in the usual
  case, two at most (PEXPIRE NX then GT always took two). A missing key
  (-2) is left missing. replies.ts `keepTtl` queues NX and GT in a
  pipeline, which cannot branch.
]]
local function keep_ttl(key, ttl)
  local current = redis.call("PTTL", key)
  if current == -1 or (current >= 0 and current < tonumber(ttl)) then
    redis.call("PEXPIRE", key, ttl)
  end
end
