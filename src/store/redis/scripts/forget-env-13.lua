--[[
  Removes an environment from its repository's envs set once every key of
  it has expired. Checked here, atomically, because a concurrent
  record-intent may have just brought it back.

  KEYS[1]      the repository's envs set
  KEYS[2..13]  the environment's keys (STATE_KEY_PARTS)

  ARGV[1] the environment's member, `pr-<n>`

  Returns 1 when removed, 0 when some key of it exists (nothing changed).
]]
if redis.call("EXISTS", unpack(KEYS, 2)) > 0 then
  return 0
end
return redis.call("SREM", KEYS[1], ARGV[1])
