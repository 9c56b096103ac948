-- remind: moves one lead through the reminder indexes: from the first to
-- the second (noted in the lead's reminder stage field, so a transition
-- knows which index to leave), or out of the second, recording the reminder
-- to send as pending work. A lead no longer received just leaves.
--
-- KEYS[1] lead  KEYS[2] the index it is in  KEYS[3] due-remind2  KEYS[4] pending
-- ARGV[1] id  ARGV[2] stage ("first" or "expiry")  ARGV[3] "1" to send a reminder
-- ARGV[4] now ms
-- Returns 1 when a reminder was recorded, 0 otherwise.
local lead, from, due_remind2, pending = unpack(KEYS)
local id, stage = ARGV[1], ARGV[2]
redis.call('ZREM', from, id)
if redis.call('HGET', lead, F.status) ~= 'received' then return 0 end
if stage == 'first' then
  redis.call('ZADD', due_remind2, redis.call('HGET', lead, F.created), id)
  redis.call('HSET', lead, F.remind_stage, '2')
end
if ARGV[3] ~= '1' then return 0 end
redis.call('ZADD', pending, ARGV[4], P.reminder .. id .. ':' .. stage)
return 1
