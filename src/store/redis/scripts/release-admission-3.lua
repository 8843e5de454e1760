--[[
  Leaves the active set and the queue (StateStore.releaseAdmission).

  KEYS[1] active: sorted set of `<repoId>/pr-<n>` by arrival
  KEYS[2] queue: sorted set of waiting `<repoId>/pr-<n>` by arrival
  KEYS[3] active count per repository: hash repoId -> count

  ARGV[1] the environment, `<repoId>/pr-<n>`
  ARGV[2] TTL in ms for the three keys, refreshed on every write
  ARGV[3] how many of the first waiters to return
  ARGV[4] the Lua pattern whose capture is a member's repository id (keys.ts)

  Returns the first waiters (at most ARGV[3]), oldest first, for the caller to wake.
]]
local active, queue, per_repo = KEYS[1], KEYS[2], KEYS[3]
local member, wake_limit, repo_id_pattern = ARGV[1], tonumber(ARGV[3]), ARGV[4]

if redis.call("ZREM", active, member) == 1 then
  local repo = string.match(member, repo_id_pattern)
  if redis.call("HINCRBY", per_repo, repo, -1) <= 0 then
    redis.call("HDEL", per_repo, repo)
  end
end
redis.call("ZREM", queue, member)

for _, key in ipairs(KEYS) do
  redis.call("PEXPIRE", key, ARGV[2])
end
return redis.call("ZRANGE", queue, 0, wake_limit - 1)
