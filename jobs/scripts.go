package jobs

import "github.com/redis/go-redis/v9"

// Script results. Every script returns its code first and, where useful,
// the lead's hash as it stands after the script ran.
const (
	resOK       = 0
	resNotFound = 1 // transition: no such lead
	resState    = 2 // transition: status not allowed; intake: same id, other body
	resRevision = 3 // transition: the lead changed since it was read
	resNotDue   = 4 // transition: the lead is not (or never) due for expiry
	resSame     = 1 // intake: same id, same body
)

// intakeScript stores a new lead and its index entries, or reports that the
// id exists with the same (resSame) or another (resState) body. A new lead
// also enters the pending set until its announcement is done, so a sweep
// can enqueue it again if the enqueue after intake was lost: as
// "notify:<id>", or, taken in with others, as its announcement batch
// "notify-batch:<name>", whose ids are kept under the batch key.
//
// KEYS: lead, listing-all, listing-partner, due-expire, due-offers, due-alerts, pending, due-remind1[, batch ids]
// ARGV: body digest, listing member, id, created ms, due ("expire"|"offers"),
// alert ("1"|""), now ms, pending member, then the hash's field/value pairs.
var intakeScript = redis.NewScript(`
local digest = redis.call('HGET', KEYS[1], 'bh')
if digest then
  if digest == ARGV[1] then return {1, redis.call('HGETALL', KEYS[1])} end
  return {2}
end
redis.call('HSET', KEYS[1], 'bh', ARGV[1], unpack(ARGV, 9))
redis.call('ZADD', KEYS[7], 'NX', ARGV[7], ARGV[8])
if KEYS[9] then redis.call('APPEND', KEYS[9], ' ' .. ARGV[3]) end
redis.call('ZADD', KEYS[2], 0, ARGV[2])
redis.call('ZADD', KEYS[3], 0, ARGV[2])
if ARGV[5] == 'expire' then
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[3])
  redis.call('ZADD', KEYS[8], ARGV[4], ARGV[3])
end
if ARGV[5] == 'offers' then redis.call('ZADD', KEYS[5], ARGV[4], ARGV[3]) end
if ARGV[6] == '1' then redis.call('ZADD', KEYS[6], ARGV[4], ARGV[3]) end
return {0}
`)

// transitionScript changes one lead if its status is one of the allowed ones
// (and, when given, its revision matches, or it is due for expiry or the
// offer archive), keeping the time indexes in step with the new status. A
// pending member, when given, records follow-up work (a closing notice) in
// the same step. Expiry keeps the notice's address and name aside before
// the contact data is erased.
//
// KEYS: lead, due-expire, due-offers, due-alerts, pending, due-remind1, due-remind2
// ARGV: 1 allowed statuses (space separated), 2 expected revision or "",
// 3 new status or "", 4 now ms, 5 cutoff ms, 6 guard ("expire", "offer" or
// ""), 7 pending member or "", 8 "1" to return the lead (else the expiry's
// notice party: "customer", "originator" or ""), 9 n, then n fields to
// delete, then field/value pairs to set.
var transitionScript = redis.NewScript(`
local party = ''
local function result(code)
  if ARGV[8] == '1' then return {code, redis.call('HGETALL', KEYS[1])} end
  return {code, party}
end
local f = redis.call('HMGET', KEYS[1], 'st', 'rev', 'at', 'inf', 'id', 'kind', 'email', 'name', 'orig', 'al', 'rs')
local st, id = f[1], f[5]
if not st then return {1} end
if not string.find(' ' .. ARGV[1] .. ' ', ' ' .. st .. ' ', 1, true) then return result(2) end
if ARGV[2] ~= '' and (f[2] or '0') ~= ARGV[2] then return result(3) end
if ARGV[6] ~= '' and (tonumber(f[3]) > tonumber(ARGV[5]) or (ARGV[6] == 'expire') == (f[4] == '1')) then
  return result(4)
end
local set = {'upd', ARGV[4]}
local function put(k, v) if type(v) == 'string' and v ~= '' then set[#set + 1] = k; set[#set + 1] = v end end
if ARGV[6] == 'expire' then
  if f[6] == 'customer_inquiry' then
    put('nto', f[7]); put('ntn', f[8])
    if f[7] then party = 'customer' end
  elseif f[9] then
    local o = cjson.decode(f[9])
    put('nto', o.email); put('ntn', o.name)
    if type(o.email) == 'string' and o.email ~= '' then party = 'originator' end
  end
end
local n = tonumber(ARGV[9])
if n > 0 then redis.call('HDEL', KEYS[1], unpack(ARGV, 10, 9 + n)) end
for i = 10 + n, #ARGV, 2 do put(ARGV[i], ARGV[i + 1]) end
local to = ARGV[3]
if to ~= '' and to ~= st then
  put('st', to)
  if st == 'received' then -- only received leads are in the expiry, offer and reminder indexes
    if f[4] == '1' then redis.call('ZREM', KEYS[3], id) else redis.call('ZREM', KEYS[2], id) end
    if f[11] == '2' then redis.call('ZREM', KEYS[7], id) else redis.call('ZREM', KEYS[6], id) end
  end
  if to == 'archived' then
    if f[10] == 'contact_me' then redis.call('ZREM', KEYS[4], id) end
    put('al', 'none'); put('arc', ARGV[4])
  end
end
if ARGV[7] ~= '' then redis.call('ZADD', KEYS[5], ARGV[4], ARGV[7]) end
put('rev', tostring((tonumber(f[2]) or 0) + 1))
redis.call('HSET', KEYS[1], unpack(set))
return result(0)
`)

var allScripts = []*redis.Script{intakeScript, transitionScript}
