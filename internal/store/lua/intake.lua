-- intake: stores a new lead with its listing and time index entries, or
-- reports that its id is taken by the same lead (R.same, with the stored
-- hash) or by another (R.different). A new lead also enters the pending set
-- until its announcement is done, so a sweep can enqueue it again if the
-- enqueue after intake was lost: as "notify:<id>" or, taken in with others,
-- as its announcement batch "notify-batch:<name>", whose ids are appended
-- to the batch key.
--
-- KEYS[1] lead            KEYS[2] listing of all leads  KEYS[3] the partner's listing
-- KEYS[4] due-expire      KEYS[5] due-offers            KEYS[6] due-alerts
-- KEYS[7] pending         KEYS[8] due-remind1           KEYS[9] batch ids (optional)
-- ARGV[1] body digest     ARGV[2] listing member        ARGV[3] id
-- ARGV[4] created ms      ARGV[5] due index: "expire" or "offers"
-- ARGV[6] "1" when the contact_me alert shows           ARGV[7] now ms
-- ARGV[8] pending member  ARGV[9..] the lead hash's field/value pairs
-- Returns {code} or {R.same, the stored hash}.
local lead, all, partner_leads, due_expire, due_offers, due_alerts, pending, due_remind1, batch = unpack(KEYS)
local digest = redis.call('HGET', lead, F.digest)
if digest then
  if digest == ARGV[1] then return {R.same, redis.call('HGETALL', lead)} end
  return {R.different}
end
local id, created = ARGV[3], ARGV[4]
redis.call('HSET', lead, F.digest, ARGV[1], unpack(ARGV, 9))
redis.call('ZADD', pending, 'NX', ARGV[7], ARGV[8])
if batch then redis.call('APPEND', batch, ' ' .. id) end
redis.call('ZADD', all, 0, ARGV[2])
redis.call('ZADD', partner_leads, 0, ARGV[2])
if ARGV[5] == 'expire' then
  redis.call('ZADD', due_expire, created, id)
  redis.call('ZADD', due_remind1, created, id)
else
  redis.call('ZADD', due_offers, created, id)
end
if ARGV[6] == '1' then redis.call('ZADD', due_alerts, created, id) end
return {R.changed}
