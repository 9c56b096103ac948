-- batch_done: forgets a pending batch, unless ids joined it since the
-- caller read it (then the batch stays pending for them).
--
-- KEYS[1] batch ids  KEYS[2] pending
-- ARGV[1] the ids as the caller read them  ARGV[2] the pending member
-- Returns 1 when forgotten, 0 when the batch changed.
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
