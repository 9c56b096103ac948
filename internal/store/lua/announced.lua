-- announced: records how a lead's announcement ended, once: its
-- notification record, its partner's feed entry and the end of its pending
-- work. A lead already recorded as sent keeps its record. It releases the
-- caller's send lock, if the caller still holds it.
--
-- KEYS[1] lead  KEYS[2] pending  KEYS[3] feed  KEYS[4] send lock
-- ARGV[1] notification JSON  ARGV[2] pending member  ARGV[3] feed entry JSON or ""
-- ARGV[4] feed limit  ARGV[5] lock token or ""
-- Returns 1 when recorded, 0 when already recorded or the lead is gone.
local lead, pending, feed, lock = unpack(KEYS)
if ARGV[5] ~= '' and redis.call('GET', lock) == ARGV[5] then redis.call('DEL', lock) end
redis.call('ZREM', pending, ARGV[2])
local ntf = redis.call('HGET', lead, F.notification)
if ntf and string.find(ntf, '"sent_at"', 1, true) then return 0 end
if not redis.call('HGET', lead, F.id) then return 0 end
redis.call('HSET', lead, F.notification, ARGV[1])
push_feed(feed, ARGV[3], ARGV[4])
return 1
