-- seal_digest: fixes the list of the next part of a recipient's digest of a
-- day before it is sent, so that a retry (after a crash, or a reply slower
-- than the SMTP timeout) resends exactly that list under the same
-- Message-ID; leads that join later go into a further part. A part already
-- sealed and not yet recorded as sent is returned as it is, unless the
-- caller replaces it: a part the server refused as too large was never
-- sent, so it is sealed again, smaller, under the same number.
--
-- KEYS[1] the sealed part  KEYS[2] the day's part counter
-- ARGV[1] the part's lead ids, space separated  ARGV[2] how many parts the
-- digest's waiting leads make, this one included  ARGV[3] "1" to replace
-- the sealed part
-- Returns {part number, parts in all, the ids space separated}.
local sealed, counter = KEYS[1], KEYS[2]
local part = redis.call('GET', sealed)
local n
if part then
  local sn, total, ids = string.match(part, '^(%d+) (%d+) ?(.*)$')
  if ARGV[3] ~= '1' then return {tonumber(sn), tonumber(total), ids} end
  n = tonumber(sn)
else
  n = redis.call('INCR', counter)
  redis.call('EXPIRE', counter, 864000)
end
local total = n - 1 + tonumber(ARGV[2])
redis.call('SET', sealed, n .. ' ' .. total .. ' ' .. ARGV[1], 'EX', 864000)
return {n, total, ARGV[1]}
