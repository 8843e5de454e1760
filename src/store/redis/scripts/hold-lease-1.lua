--[[
  Takes or extends a lease (`lease` or `teardown_lock`): the key holds the
  owner's token and expires by itself.

  KEYS[1] the lease key

  ARGV[1] owner token
  ARGV[2] lease TTL in ms
  ARGV[3] "take" to take a free lease as well, "renew" to only extend one the owner holds

  Returns 1 when the owner holds the lease now, 0 otherwise (nothing changed).
]]
local holder = redis.call("GET", KEYS[1])
if holder == ARGV[1] then
  redis.call("PEXPIRE", KEYS[1], ARGV[2])
  return 1
end
if holder == false and ARGV[3] == "take" then
  redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
  return 1
end
return 0
