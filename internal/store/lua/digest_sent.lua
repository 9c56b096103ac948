-- digest_sent: records the end of a digest part on its leads: each is
-- marked as announced by the digest (or, when the server refused it for
-- good, as undelivered with the error), leaves the digest and the pending
-- set, and each partner's feed gets its entry. The sealed part is done with;
-- an empty digest stops being due.
--
-- KEYS[1] digest  KEYS[2] due-digests  KEYS[3] pending  KEYS[4] sealed part
-- KEYS[5 .. 4+n] one lead key per id  KEYS[5+n ..] one feed key per entry
-- ARGV[1] digest member  ARGV[2] sent time (RFC 3339)  ARGV[3] recipient
-- ARGV[4] error or ""  ARGV[5] feed limit  ARGV[6] n
-- ARGV[7 .. 6+n] the ids  ARGV[7+n ..] one feed entry JSON per feed key
-- Returns 1.
local digest, due_digests, pending, sealed = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local n = tonumber(ARGV[6])
local ntf = {via = 'digest', recipient = ARGV[3], sent_at = ARGV[2]}
if ARGV[4] ~= '' then ntf = {via = 'digest', recipient = ARGV[3], error = ARGV[4]} end
ntf = cjson.encode(ntf)
for i = 1, n do
  local lead, id = KEYS[4 + i], ARGV[6 + i]
  redis.call('ZREM', digest, id)
  if redis.call('EXISTS', lead) == 1 then redis.call('HSET', lead, F.notification, ntf) end
  redis.call('ZREM', pending, P.notify .. id)
end
for i = 5 + n, #KEYS do push_feed(KEYS[i], ARGV[i + 2], ARGV[5]) end
redis.call('DEL', sealed)
if redis.call('ZCARD', digest) == 0 then redis.call('ZREM', due_digests, ARGV[1]) end
return 1
