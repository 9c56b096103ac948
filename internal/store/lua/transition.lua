-- transition: the lifecycle changes a client asks for (accept, edit the
-- deal, decline, close, mark or unmark a favorite). It changes the lead
-- only if its status is one of the allowed ones and, when given, its
-- revision matches; a lead that leaves received leaves the expiry, offer
-- and reminder indexes, an archived lead the alert index. A change that is
-- an answer (a decline) is refused for an informational offer lead, which
-- needs none. A pending member, when given, records the closing notice the
-- change owes, in the same step.
--
-- KEYS[1] lead  KEYS[2] due-expire  KEYS[3] due-offers  KEYS[4] due-alerts
-- KEYS[5] pending  KEYS[6] due-remind1  KEYS[7] due-remind2
-- ARGV[1] allowed statuses, space separated  ARGV[2] expected revision or ""
-- ARGV[3] new status or "" to keep it  ARGV[4] now ms
-- ARGV[5] pending member or ""  ARGV[6] "1" to refuse an informational lead
-- ARGV[7] n, then n hash fields to delete, then field/value pairs to set
-- Returns {R.not_found} or {code, the lead's hash after the script}.
local lead, due_expire, due_offers, due_alerts, pending, due_remind1, due_remind2 = unpack(KEYS)
local allowed, want_rev, to, now, notice = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local st, rev, info, id, alert, stage = unpack(redis.call('HMGET', lead, F.status, F.rev, F.info, F.id, F.alert, F.remind_stage))
if not st then return {R.not_found} end
local function result(code) return {code, redis.call('HGETALL', lead)} end
if not string.find(' ' .. allowed .. ' ', ' ' .. st .. ' ', 1, true) then return result(R.wrong_state) end
if ARGV[6] == '1' and info == '1' then return result(R.wrong_state) end
if want_rev ~= '' and (rev or '0') ~= want_rev then return result(R.stale) end
local set = {F.updated, now}
local function put(k, v) if v ~= '' then set[#set + 1] = k; set[#set + 1] = v end end
local n = tonumber(ARGV[7])
if n > 0 then redis.call('HDEL', lead, unpack(ARGV, 8, 7 + n)) end
for i = 8 + n, #ARGV, 2 do put(ARGV[i], ARGV[i + 1]) end
if to ~= '' and to ~= st then
  put(F.status, to)
  if st == 'received' then -- only received leads are in the expiry, offer and reminder indexes
    redis.call('ZREM', info == '1' and due_offers or due_expire, id)
    redis.call('ZREM', stage == '2' and due_remind2 or due_remind1, id)
  end
  if to == 'archived' then
    if alert == 'contact_me' then redis.call('ZREM', due_alerts, id) end
    put(F.alert, 'none'); put(F.archived, now)
  end
end
if notice ~= '' then redis.call('ZADD', pending, now, notice) end
put(F.rev, tostring((tonumber(rev) or 0) + 1))
redis.call('HSET', lead, unpack(set))
return result(R.changed)
