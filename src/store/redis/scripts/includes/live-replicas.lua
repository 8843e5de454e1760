--[[
  The replica registry's live entries (their JSON, in the hash's order).
  Entries whose `expiresAt` has passed are removed here: their replicas
  died without removing them.
]]
local function live_replicas(registry, now)
  local entries = redis.call("HGETALL", registry)
  local live = {}
  for i = 1, #entries, 2 do
    if tonumber(cjson.decode(entries[i + 1]).expiresAt) > now then
      table.insert(live, entries[i + 1])
    else
      redis.call("HDEL", registry, entries[i])
    end
  end
  return live
end
