-- alert: switches one lead's contact_me alert to overdue once it was
-- created at or before the cutoff, and takes it out of the alert index.
--
-- KEYS[1] lead  KEYS[2] due-alerts
-- ARGV[1] id  ARGV[2] cutoff ms  ARGV[3] now ms
-- Returns R.changed when switched, R.not_due when not due yet, R.not_found
-- when the lead is gone and R.wrong_state when it shows no contact_me alert
-- (the stale entry is dropped).
local lead, due_alerts = KEYS[1], KEYS[2]
local at, alert = unpack(redis.call('HMGET', lead, F.created, F.alert))
if not at then redis.call('ZREM', due_alerts, ARGV[1]) return R.not_found end
if tonumber(at) > tonumber(ARGV[2]) then return R.not_due end
redis.call('ZREM', due_alerts, ARGV[1])
if alert ~= 'contact_me' then return R.wrong_state end
redis.call('HSET', lead, F.alert, 'contact_me_overdue', F.updated, ARGV[3])
redis.call('HINCRBY', lead, F.rev, 1)
return R.changed
