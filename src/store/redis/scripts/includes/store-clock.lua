--[[
  Now, in ms, by Redis's own clock (TIME): replicas with skewed clocks still
  agree on what it is.
]]
local function store_now_ms()
  local time = redis.call("TIME")
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
