--[[
  Takes a place in the active set within both limits, first come, first
  served (StateStore.admit). All keys are in the `{global}` slot, so
  counting is atomic across replicas.

  KEYS[1] active: sorted set of `<repoId>/pr-<n>` by arrival
  KEYS[2] queue: sorted set of waiting `<repoId>/pr-<n>` by arrival
  KEYS[3] active count per repository: hash repoId -> count

  ARGV[1] the environment, `<repoId>/pr-<n>`
  ARGV[2] its arrival time (ms) of its first attempt; a later attempt keeps the first
  ARGV[3] per-repository limit
  ARGV[4] global limit
  ARGV[5] TTL in ms for the three keys, refreshed on every write
  ARGV[6] the Lua pattern whose capture is a member's repository id (keys.ts)

  Returns {1, 0} when admitted (now or before); {0, position} when it waits,
  position being its 1-based place in the queue by arrival.
]]
local active, queue, per_repo = KEYS[1], KEYS[2], KEYS[3]
local member, arrival = ARGV[1], ARGV[2]
local repo_limit, global_limit = tonumber(ARGV[3]), tonumber(ARGV[4])
local repo_id_pattern = ARGV[6]

local function refresh_ttl()
  for _, key in ipairs(KEYS) do
    redis.call("PEXPIRE", key, ARGV[5])
  end
end

if redis.call("ZSCORE", active, member) then
  refresh_ttl()
  return {1, 0}
end

local room = {}
local function repo_has_room(waiter)
  local repo = string.match(waiter, repo_id_pattern)
  if room[repo] == nil then
    room[repo] = tonumber(redis.call("HGET", per_repo, repo) or "0") < repo_limit
  end
  return room[repo]
end

redis.call("ZADD", queue, "NX", arrival, member)
local rank = redis.call("ZRANK", queue, member)
local admissible = redis.call("ZCARD", active) < global_limit and repo_has_room(member)
if admissible and rank > 0 then
  -- Global room is the same for every waiter, so an earlier one blocks this
  -- one exactly when its own repository has room.
  for _, earlier in ipairs(redis.call("ZRANGE", queue, 0, rank - 1)) do
    if repo_has_room(earlier) then
      admissible = false
      break
    end
  end
end

if admissible then
  redis.call("ZREM", queue, member)
  redis.call("ZADD", active, arrival, member)
  redis.call("HINCRBY", per_repo, string.match(member, repo_id_pattern), 1)
end
refresh_ttl()
return admissible and {1, 0} or {0, rank + 1}
