--[[
  Applies a reconciler's change to one environment, only while the fence
  (its lease or teardown lock) is held by the committing owner: a worker
  whose lease expired gets "fenced" and nothing is written. Every key is in
  the repository's `{repoId}` slot.

  KEYS[1]      the fence: the `lease` or `teardown_lock` key
  KEYS[2]      the repository's envs set
  KEYS[3]      the repository's due sorted set
  KEYS[4]      the environment's inbox
  KEYS[5]      the environment's event log
  KEYS[6..]    the environment's other data keys (keys.ts DATA_KEY_PARTS):
               its fields and `github`. KEYS[4..] all take the TTL; the
               leases are not among them and keep their own.

  ARGV[1]  owner token that must hold the fence
  ARGV[2]  the environment's member, `pr-<n>`
  ARGV[3]  store TTL in ms for every key of the environment but the leases
  ARGV[4]  next due time (ms), or "" to take it out of the due index
  ARGV[5]  now, ms since the epoch (the client's clock)
  ARGV[6]  how many inbox entries, from the oldest, to remove
  ARGV[7]  how many event log entries to keep
  ARGV[8]  F, the number of fields written
  ARGV[9 .. 8+2F]  F pairs: index into KEYS of the field, its encoded value
  ARGV[9+2F ..]    event log entries to append, JSON

  Returns {0} when fenced; {1, min} when committed, min being the earliest
  score left in the repository's due set ("" when it is empty), from which
  the caller derives the global due index.
]]
--- @include "includes/keep-ttl"

local envs, due, inbox, events = KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local member, ttl, due_at, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5]

if redis.call("GET", KEYS[1]) ~= ARGV[1] then
  return {0}
end

local arg = 9
for _ = 1, tonumber(ARGV[8]) do
  redis.call("SET", KEYS[tonumber(ARGV[arg])], ARGV[arg + 1], "PX", ttl)
  arg = arg + 2
end

local consumed = tonumber(ARGV[6])
if consumed > 0 then
  redis.call("LTRIM", inbox, consumed, -1)
end

if arg <= #ARGV then
  redis.call("RPUSH", events, unpack(ARGV, arg))
  redis.call("LTRIM", events, -tonumber(ARGV[7]), -1)
end

-- github is never written here (only record-shown writes it), only kept as long.
for i = 4, #KEYS do
  redis.call("PEXPIRE", KEYS[i], ttl)
end

-- An intent recorded after the reconciler loaded (left in the inbox) marked
-- the environment due now; the change's later due time must not undo that.
if redis.call("LLEN", inbox) > 0 and (due_at == "" or tonumber(due_at) > tonumber(now)) then
  due_at = now
end
if due_at == "" then
  redis.call("ZREM", due, member)
else
  redis.call("ZADD", due, due_at, member)
end
redis.call("SADD", envs, member)

-- The repository's indexes outlive every environment they name.
keep_ttl(envs, ttl)
keep_ttl(due, ttl)

local first = redis.call("ZRANGE", due, 0, 0, "WITHSCORES")
return {1, first[2] or ""}
