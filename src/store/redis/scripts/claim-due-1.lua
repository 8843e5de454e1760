--[[
  Claims the oldest due environments of one repository: each one taken is
  re-scored to a time in the future, so no other worker takes it until then
  (and it comes back by itself if this worker dies). Atomic, so two workers
  never take the same member; under contention this one may take fewer
  than asked, or others than it peeked at.

  KEYS[1] the repository's due sorted set

  ARGV[1]    now (ms): members scored at or before it are due
  ARGV[2 ..] one hide-until time (ms) per member to take, ascending: the
             i-th oldest taken gets the i-th, so those not worked come back
             in their old order (none: only report the repository's state)

  Returns {pttl, min, member1, score1, member2, score2, ...}: the due set's
  remaining TTL in ms (-2 when it no longer exists), its earliest score after
  the claim ("" when empty), and the members taken with their due scores,
  oldest first.
]]
local due = KEYS[1]
local result = {0, ""}

local limit = #ARGV - 1
if limit > 0 then
  local taken = redis.call("ZRANGEBYSCORE", due, "-inf", ARGV[1], "WITHSCORES", "LIMIT", 0, limit)
  for i = 1, #taken, 2 do
    redis.call("ZADD", due, ARGV[1 + (i + 1) / 2], taken[i])
    result[#result + 1] = taken[i]
    result[#result + 1] = taken[i + 1]
  end
end

local first = redis.call("ZRANGE", due, 0, 0, "WITHSCORES")
result[1] = redis.call("PTTL", due)
result[2] = first[2] or ""
return result
