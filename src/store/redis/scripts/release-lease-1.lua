--[[
  Gives a lease up, only if the owner still holds it (a holder whose lease
  expired must not delete its successor's).

  KEYS[1] the lease key

  ARGV[1] owner token

  Returns 1 when released, 0 when the owner did not hold it.
]]
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
