--[[
  Records where the PR shows the environment (its `github` key), only while
  the notifier's fence is held: a notifier whose `notify_lock` expired gets
  "fenced" and nothing is written. The key takes the TTL of the
  environment's status, as every commit sets it, so it lives exactly as
  long as the environment (commit-12 extends it with the rest); with no
  status yet, the fence's own TTL.

  KEYS[1] the fence: the `notify_lock` key
  KEYS[2] the environment's `github` key
  KEYS[3] the environment's `status` key

  ARGV[1] owner token that must hold the fence
  ARGV[2] the record, JSON

  Returns 0 when fenced, 1 when written.
]]
if redis.call("GET", KEYS[1]) ~= ARGV[1] then
  return 0
end
local ttl = redis.call("PTTL", KEYS[3])
if ttl <= 0 then
  ttl = redis.call("PTTL", KEYS[1])
end
redis.call("SET", KEYS[2], ARGV[2], "PX", ttl)
return 1
