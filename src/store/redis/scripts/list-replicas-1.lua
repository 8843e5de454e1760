--[[
  The replica registry's live entries, by Redis's clock; the entries that
  have lapsed are removed.

  KEYS[1] the registry (see register-replica-1.lua)

  Returns the live entries' JSON: {owner, protocol, startedAt, lastSeenAt, expiresAt}.
]]
--- @include "includes/store-clock"
--- @include "includes/live-replicas"
return live_replicas(KEYS[1], store_now_ms())
