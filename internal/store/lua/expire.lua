-- expire: the expiry rule, for a page of leads in one atomic step. A lead
-- that is still received, not informational and created at or before the
-- cutoff is archived as expired: its contact data is erased (the closing
-- notice's address and name are kept aside until the notice is sent) and it
-- leaves the expiry, reminder and alert indexes. The page's closing notices
-- become pending work together: one pending member names the batch, whose
-- ids are appended to the batch key. Other leads are left as they are. A
-- dry run answers the same and writes nothing.
--
-- KEYS[1] due-expire  KEYS[2] due-alerts  KEYS[3] pending  KEYS[4] due-remind1
-- KEYS[5] due-remind2  KEYS[6] batch ids  KEYS[7..] one lead key per id
-- ARGV[1] now ms  ARGV[2] cutoff ms  ARGV[3] batch name  ARGV[4] "1" for a dry run
-- ARGV[5..] the ids
-- Returns, per lead, its code and who gets its closing notice ("customer",
-- "originator" or ""), flattened.
local due_expire, due_alerts, pending, due_remind1, due_remind2, batch = unpack(KEYS, 1, 6)
local now, cutoff, name, dry = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4] == '1'
local out, gone, expired = {}, {}, {}

-- notice_to returns the address and name the lead's closing notice goes to.
local function notice_to(lead, kind, email, name)
  if kind == 'customer_inquiry' then return email, name, 'customer' end
  local orig = redis.call('HGET', lead, F.originator)
  -- A script that fails midway keeps what it wrote: an originator that
  -- does not decode gets no notice, rather than stopping the page.
  local ok, o = pcall(cjson.decode, orig or '')
  if not ok or type(o) ~= 'table' then return nil, nil, 'originator' end
  return o.email, o.name, 'originator'
end

local function expire(lead, rev, to, to_name)
  local set = {F.status, 'archived', F.outcome, 'expired', F.updated, now, F.archived, now,
    F.alert, 'none', F.rev, tostring((tonumber(rev) or 0) + 1)}
  -- The notice's address and greeting are kept only when there is a notice
  -- to send: without an address the name goes with the rest.
  if type(to) == 'string' and to ~= '' then
    set[#set + 1] = F.notice_to; set[#set + 1] = to
    if type(to_name) == 'string' and to_name ~= '' then set[#set + 1] = F.notice_name; set[#set + 1] = to_name end
  end
  redis.call('HDEL', lead, F.name, F.email, F.phone)
  redis.call('HSET', lead, unpack(set))
end

for i = 7, #KEYS do
  local lead, id = KEYS[i], ARGV[i - 2]
  local st, rev, at, info, kind, email, cname = unpack(redis.call('HMGET', lead,
    F.status, F.rev, F.created, F.info, F.kind, F.email, F.name))
  local code, party = R.changed, ''
  if not st then
    code = R.not_found
    gone[#gone + 1] = id
  elseif st ~= 'received' then
    code = R.wrong_state
  elseif info == '1' or tonumber(at) > cutoff then
    code = R.not_due
  else
    local to, to_name, who = notice_to(lead, kind, email, cname)
    if type(to) == 'string' and to ~= '' then party = who end
    if not dry then expire(lead, rev, to, to_name) end
    gone[#gone + 1] = id
    expired[#expired + 1] = id
  end
  out[#out + 1] = code; out[#out + 1] = party
end
if dry then return out end
if #gone > 0 then redis.call('ZREM', due_expire, unpack(gone)) end
if #expired > 0 then
  -- An expired lead leaves whichever of these indexes it is in.
  redis.call('ZREM', due_alerts, unpack(expired))
  redis.call('ZREM', due_remind1, unpack(expired))
  redis.call('ZREM', due_remind2, unpack(expired))
  redis.call('APPEND', batch, ' ' .. table.concat(expired, ' '))
  redis.call('ZADD', pending, now, P.closing_batch .. name)
end
return out
