package jobs

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// expireBatch is how many leads one expiry script changes: large enough
// that the per-call cost and the index updates are shared, small enough
// that Redis is never blocked for more than about a millisecond.
const expireBatch = 100

// expireScript expires a batch of leads in one atomic step. Each lead that
// is still received, not informational and created at or before the cutoff
// is archived as expired: its contact data is erased (the closing notice's
// address and name are kept aside until the notice is sent) and it leaves
// the expiry, reminder and alert indexes. The batch's closing notices become
// pending work together: one pending member names the batch, whose ids are
// kept under its own key. Other leads are left as they are, with the code
// the transition script would give them.
//
// KEYS: due-expire, due-alerts, pending, due-remind1, due-remind2, batch ids, then one lead key per id
// ARGV: now ms, cutoff ms, batch name, then the ids
// Returns: a code and a notice party per lead, flattened.
var expireScript = redis.NewScript(`
local now, cutoff = ARGV[1], tonumber(ARGV[2])
local out, gone, expired = {}, {}, {}
for i = 7, #KEYS do
  local id = ARGV[i - 3]
  local f = redis.call('HMGET', KEYS[i], 'st', 'rev', 'at', 'inf', 'kind', 'email', 'name')
  local code, party = 0, ''
  if not f[1] then
    code = 1
    gone[#gone + 1] = id
  elseif f[1] ~= 'received' then
    code = 2
  elseif f[4] == '1' or tonumber(f[3]) > cutoff then
    code = 4
  else
    local set = {'st', 'archived', 'oc', 'expired', 'upd', now, 'arc', now, 'al', 'none', 'rev', tostring((tonumber(f[2]) or 0) + 1)}
    local to, name
    if f[5] == 'customer_inquiry' then
      to, name = f[6], f[7]
    else
      local orig = redis.call('HGET', KEYS[i], 'orig')
      if orig then
        local o = cjson.decode(orig)
        to, name = o.email, o.name
      end
    end
    if type(to) == 'string' and to ~= '' then
      party = f[5] == 'customer_inquiry' and 'customer' or 'originator'
      set[#set + 1] = 'nto'; set[#set + 1] = to
    end
    if type(name) == 'string' and name ~= '' then set[#set + 1] = 'ntn'; set[#set + 1] = name end
    redis.call('HDEL', KEYS[i], 'name', 'email', 'phone')
    redis.call('HSET', KEYS[i], unpack(set))
    gone[#gone + 1] = id
    expired[#expired + 1] = id
  end
  out[#out + 1] = code; out[#out + 1] = party
end
if #gone > 0 then redis.call('ZREM', KEYS[1], unpack(gone)) end
if #expired > 0 then
  -- An expired lead leaves whichever of these indexes it is in.
  redis.call('ZREM', KEYS[2], unpack(expired))
  redis.call('ZREM', KEYS[4], unpack(expired))
  redis.call('ZREM', KEYS[5], unpack(expired))
  redis.call('APPEND', KEYS[6], ' ' .. table.concat(expired, ' '))
  redis.call('ZADD', KEYS[3], now, 'closing-batch:' .. ARGV[3])
end
return out
`)

func init() { allScripts = append(allScripts, expireScript) }

// expirePage runs expireScript over ids, expireBatch leads a call, in one
// round trip, and returns what it did to each lead in the order of ids.
func (s *Store) expirePage(ctx context.Context, ids []string, cutoff time.Time) ([]applied, error) {
	k := s.keys
	now := ms(s.clock.Now())
	var names []string
	cmds, err := s.evalPipeline(ctx, func(p redis.Pipeliner) []*redis.Cmd {
		var out []*redis.Cmd
		names = names[:0]
		for batch := range slices.Chunk(ids, expireBatch) {
			name := shortHash(batch...)
			keys := []string{k.dueExpire(), k.dueAlerts(), k.pending(), k.dueRemind(1), k.dueRemind(2), k.closingBatch(name)}
			args := []any{now, ms(cutoff), name}
			for _, id := range batch {
				keys, args = append(keys, k.lead(id)), append(args, id)
			}
			names = append(names, name)
			out = append(out, expireScript.EvalSha(ctx, p, keys, args...))
		}
		return out
	})
	if err != nil {
		return nil, fmt.Errorf("expire leads: %w", err)
	}
	res := make([]applied, 0, len(ids))
	for b, cmd := range cmds {
		vals, err := cmd.Slice()
		if err != nil {
			return nil, fmt.Errorf("expire leads: %w", err)
		}
		for i := 0; i+1 < len(vals); i += 2 {
			code, _ := vals[i].(int64)
			party, _ := vals[i+1].(string)
			res = append(res, applied{Code: code, Party: party, Batch: names[b]})
		}
	}
	return res, nil
}
