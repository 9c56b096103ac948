-- claim: the digest decision. Once per lead it decides whether the lead is
-- announced on its own or in its recipient's digest of the day: it counts
-- the lead for (recipient, day) and, past the threshold, adds it to that
-- day's digest (which becomes due at its send time) and takes it out of the
-- pending set, since the digest index now holds it. A lead already decided
-- keeps its slot, whatever happens to the counter later. A lead to email on
-- its own is also locked for the caller, unless its announcement has ended
-- ("done"), it was archived before its email went out ("archived": it is
-- not announced, and not counted) or another worker holds the lock ("busy").
--
-- KEYS[1] lead  KEYS[2] day count  KEYS[3] digest  KEYS[4] due-digests
-- KEYS[5] pending  KEYS[6] send lock
-- ARGV[1] threshold  ARGV[2] created ms  ARGV[3] id  ARGV[4] digest member
-- ARGV[5] digest send ms  ARGV[6] notification JSON for a digest lead
-- ARGV[7] lock token  ARGV[8] lock ttl ms
-- Returns "individual", "digest|<digest member>", "done", "archived", "busy"
-- or "gone".
local lead, count, digest, due_digests, pending, lock = unpack(KEYS)
local slot, st = unpack(redis.call('HMGET', lead, F.slot, F.status))
if not st then return 'gone' end
if slot and slot ~= 'individual' then return slot end
if slot and redis.call('HEXISTS', lead, F.notification) == 1 then return 'done' end
if st == 'archived' then return 'archived' end
if not slot then
  local n = redis.call('INCR', count)
  redis.call('EXPIRE', count, 864000)
  if n > tonumber(ARGV[1]) then
    redis.call('ZADD', digest, ARGV[2], ARGV[3])
    redis.call('ZADD', due_digests, 'NX', ARGV[5], ARGV[4])
    redis.call('ZREM', pending, P.notify .. ARGV[3])
    slot = 'digest|' .. ARGV[4]
    redis.call('HSET', lead, F.slot, slot, F.notification, ARGV[6])
    return slot
  end
  slot = 'individual'
  redis.call('HSET', lead, F.slot, slot)
end
if redis.call('SET', lock, ARGV[7], 'NX', 'PX', ARGV[8]) then return slot end
return 'busy'
