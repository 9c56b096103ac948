-- archive_offers: the six-month rule for informational offer leads, for a
-- page of leads in one atomic step. A lead that is still received,
-- informational and created at or before the cutoff is archived with no
-- outcome (nobody had to answer it) and leaves the offer and alert indexes.
-- Other leads are left as they are. A dry run answers the same and writes
-- nothing.
--
-- KEYS[1] due-offers  KEYS[2] due-alerts  KEYS[3..] one lead key per id
-- ARGV[1] now ms  ARGV[2] cutoff ms  ARGV[3] "1" for a dry run  ARGV[4..] the ids
-- Returns one code per lead.
local due_offers, due_alerts = KEYS[1], KEYS[2]
local now, cutoff, dry = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1'
local out, gone, alerts = {}, {}, {}
for i = 3, #KEYS do
  local lead, id = KEYS[i], ARGV[i + 1]
  local st, rev, at, info, alert = unpack(redis.call('HMGET', lead, F.status, F.rev, F.created, F.info, F.alert))
  local code = R.changed
  if not st then
    code = R.not_found
    gone[#gone + 1] = id
  elseif st ~= 'received' then
    code = R.wrong_state
  elseif info ~= '1' or tonumber(at) > cutoff then
    code = R.not_due
  else
    if not dry then
      redis.call('HSET', lead, F.status, 'archived', F.updated, now, F.archived, now, F.alert, 'none',
        F.rev, tostring((tonumber(rev) or 0) + 1))
    end
    if alert == 'contact_me' then alerts[#alerts + 1] = id end
    gone[#gone + 1] = id
  end
  out[#out + 1] = code
end
if dry then return out end
if #gone > 0 then redis.call('ZREM', due_offers, unpack(gone)) end
if #alerts > 0 then redis.call('ZREM', due_alerts, unpack(alerts)) end
return out
