-- lib: helpers for every script of the lead store; the registry puts this
-- file before each script. F.<name> and R.<name> in any script are replaced,
-- before the script is loaded, by the hash field names and result codes the
-- Go package defines (fields in hash.go, results in scripts.go).

-- push_feed prepends entry (JSON, or '' for none) to a partner's capped
-- Action Center feed.
local function push_feed(feed, entry, limit)
  if entry == '' then return end
  redis.call('LPUSH', feed, entry)
  redis.call('LTRIM', feed, 0, tonumber(limit) - 1)
end
