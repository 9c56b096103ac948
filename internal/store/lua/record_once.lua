-- record_once: records how a lead's closing notice or reminder ended, once:
-- the outcome in its own field, the partner's feed entry, the end of its
-- pending work, and the fields it no longer needs (a closing notice's kept
-- address and name).
--
-- KEYS[1] lead  KEYS[2] pending  KEYS[3] feed
-- ARGV[1] the field that records it  ARGV[2] the outcome  ARGV[3] pending member
-- ARGV[4] feed entry JSON or ""  ARGV[5] feed limit  ARGV[6..] fields to delete
-- Returns 1 when recorded, 0 when already recorded or the lead is gone.
local lead, pending, feed = unpack(KEYS)
redis.call('ZREM', pending, ARGV[3])
if redis.call('HGET', lead, ARGV[1]) or not redis.call('HGET', lead, F.id) then return 0 end
redis.call('HSET', lead, ARGV[1], ARGV[2])
if #ARGV > 5 then redis.call('HDEL', lead, unpack(ARGV, 6)) end
push_feed(feed, ARGV[4], ARGV[5])
return 1
