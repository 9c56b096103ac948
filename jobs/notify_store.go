package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// FeedLimit is how many entries a partner's Action Center feed keeps.
const FeedLimit = 200

// Feed entry types.
const (
	FeedNewLead       = "new_lead"           // a lead was emailed on its own
	FeedDigest        = "digest"             // a digest was sent
	FeedInformational = "informational_lead" // an informational offer lead arrived (feed only)
	FeedClosing       = "closing_notice"     // the customer or originator was told a lead closed
	FeedUndelivered   = "undelivered"        // an announcement could not be delivered
)

// FeedEntry is one item of a partner's Action Center feed.
type FeedEntry struct {
	Type      string    `json:"type"`
	LeadIDs   []string  `json:"lead_ids"`
	Recipient string    `json:"recipient,omitempty"`
	Message   string    `json:"message,omitempty"`
	At        time.Time `json:"at"`
}

// Lead hash fields of the notification record.
const (
	fSlot       = "slot" // "individual" or "digest|<recipient>|<day>": how the lead is announced
	fFallback   = "fb"   // "1" once the location contact was rejected
	fNotice     = "cn"   // closing notice handled
	fNoticeTo   = "nto"  // an expired lead's notice address, erased once the notice is sent
	fNoticeName = "ntn"  // the name that goes with it
)

// claimScript decides, once per lead, whether it is announced on its own or
// in the day's digest: it counts the lead for (recipient, day) and, past the
// threshold, adds it to that digest. A lead already decided keeps its slot.
// A lead to email on its own is also locked for the caller, unless its
// announcement has ended ("done") or another worker holds it ("busy").
//
// A lead in a digest leaves the pending set: the digest index now holds it.
//
// KEYS: lead, count, digest, due-digests, pending, lock
// ARGV: threshold, created ms, id, digest member, send ms, notification JSON
// for digest leads, lock token, lock ttl ms
var claimScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
local slot = redis.call('HGET', KEYS[1], 'slot')
if not slot then
  local n = redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], 864000)
  if n > tonumber(ARGV[1]) then
    redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
    redis.call('ZADD', KEYS[4], 'NX', ARGV[5], ARGV[4])
    redis.call('ZREM', KEYS[5], 'notify:' .. ARGV[3])
    slot = 'digest|' .. ARGV[4]
    redis.call('HSET', KEYS[1], 'slot', slot, 'ntf', ARGV[6])
    return slot
  end
  slot = 'individual'
  redis.call('HSET', KEYS[1], 'slot', slot)
elseif slot ~= 'individual' then
  return slot
elseif redis.call('HEXISTS', KEYS[1], 'ntf') == 1 then
  return 'done'
end
if redis.call('SET', KEYS[6], ARGV[7], 'NX', 'PX', ARGV[8]) then return slot end
return 'busy'
`)

// doneScript records the outcome of a lead's announcement once: the
// notification record, the feed entry, and the end of its pending work. It
// releases the caller's send lock, if it still holds it.
//
// KEYS: lead, pending, feed, lock
// ARGV: notification JSON, pending member, feed entry JSON, feed limit, lock token or ""
var doneScript = redis.NewScript(`
if ARGV[5] ~= '' and redis.call('GET', KEYS[4]) == ARGV[5] then redis.call('DEL', KEYS[4]) end
redis.call('ZREM', KEYS[2], ARGV[2])
local ntf = redis.call('HGET', KEYS[1], 'ntf')
if ntf and string.find(ntf, '"sent_at"', 1, true) then return 0 end
if not redis.call('HGET', KEYS[1], 'id') then return 0 end
redis.call('HSET', KEYS[1], 'ntf', ARGV[1])
if ARGV[3] ~= '' then
  redis.call('LPUSH', KEYS[3], ARGV[3])
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
end
return 1
`)

// digestSentScript marks the leads of a sent digest as announced, takes them
// out of the digest and, when it is empty, out of the due digests.
//
// A digest the server refused for good records the error instead.
//
// KEYS: digest, due-digests, pending, then one lead key per id
// ARGV: digest member, sent time (RFC 3339), recipient, error or "", then the ids
var digestSentScript = redis.NewScript(`
local ntf = {via = 'digest', recipient = ARGV[3], sent_at = ARGV[2]}
if ARGV[4] ~= '' then ntf = {via = 'digest', recipient = ARGV[3], error = ARGV[4]} end
for i = 4, #KEYS do
  local id = ARGV[i + 1]
  redis.call('ZREM', KEYS[1], id)
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('HSET', KEYS[i], 'ntf', cjson.encode(ntf))
  end
  redis.call('ZREM', KEYS[3], 'notify:' .. id)
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('ZREM', KEYS[2], ARGV[1]) end
return 1
`)

// noticeScript records that a lead's closing notice was handled, once.
//
// KEYS: lead, pending, feed
// ARGV: outcome ("sent", "no_recipient", "rejected"), pending member, feed entry JSON or "", feed limit
var noticeScript = redis.NewScript(`
redis.call('ZREM', KEYS[2], ARGV[2])
if redis.call('HGET', KEYS[1], 'cn') or not redis.call('HGET', KEYS[1], 'id') then return 0 end
redis.call('HSET', KEYS[1], 'cn', ARGV[1])
redis.call('HDEL', KEYS[1], 'nto', 'ntn')
if ARGV[3] ~= '' then
  redis.call('LPUSH', KEYS[3], ARGV[3])
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
end
return 1
`)

func init() {
	allScripts = append(allScripts, claimScript, doneScript, digestSentScript, noticeScript, unlockScript)
}

// NoticeDone records how a lead's closing notice ended; false when it had
// already been recorded.
func (s *Store) NoticeDone(ctx context.Context, l *Lead, outcome string, entry *FeedEntry) (bool, error) {
	k := s.keys
	feed := ""
	if entry != nil {
		feed = mustJSON(entry)
	}
	res, err := noticeScript.Run(ctx, s.rdb, []string{k.lead(l.ID), k.pending(), k.feed(l.PartnerID)},
		outcome, closingTaskID(l.ID), feed, FeedLimit).Int()
	if err != nil {
		return false, fmt.Errorf("record closing notice of %s: %w", l.ID, err)
	}
	return res == 1, nil
}

// NoticeState returns how a lead's closing notice ended ("" while not yet)
// and, for an expired lead, the address and name kept for it until it is
// sent.
func (s *Store) NoticeState(ctx context.Context, id string) (state, to, name string, err error) {
	vals, err := s.rdb.HMGet(ctx, s.keys.lead(id), fNotice, fNoticeTo, fNoticeName).Result()
	if err != nil {
		return "", "", "", fmt.Errorf("read notice state of %s: %w", id, err)
	}
	state, _ = vals[0].(string)
	to, _ = vals[1].(string)
	name, _ = vals[2].(string)
	return state, to, name, nil
}

// Claim slots: how a lead's announcement goes on, as ClaimAll decides it.
const (
	SlotIndividual = "individual" // email it now: the caller holds its send lock
	slotDone       = "done"       // its announcement has ended already
	slotBusy       = "busy"       // another worker is sending it
	slotGone       = "gone"       // the lead no longer exists
)

// Claim is one lead's announcement to decide: to whom and for which day,
// and when that day's digest goes out. ClaimAll sets Slot.
type Claim struct {
	Lead   *Lead
	Rcpt   string
	Day    string
	SendAt time.Time
	Slot   string // SlotIndividual, "digest|<recipient>|<day>", or done, busy, gone

	partner   *Partner  // the lead's partner, for a fallback
	recipient Recipient // who Rcpt is
}

// inDigest reports whether the claim put the lead in a digest.
func (c *Claim) inDigest() bool { return strings.HasPrefix(c.Slot, "digest|") }

// ClaimAll counts each lead for its recipient's day, in one round trip, and
// says whether it goes out on its own or joins that day's digest. The answer
// is decided once per lead and then repeated, whatever happens to the
// counter later. A lead to email on its own is locked with token for ttl.
func (s *Store) ClaimAll(ctx context.Context, claims []*Claim, threshold int, token string, ttl time.Duration) error {
	k := s.keys
	cmds, err := s.evalPipeline(ctx, func(p redis.Pipeliner) []*redis.Cmd {
		out := make([]*redis.Cmd, len(claims))
		for i, c := range claims {
			id, member := c.Lead.ID, c.Rcpt+"|"+c.Day
			out[i] = claimScript.EvalSha(ctx, p,
				[]string{k.lead(id), k.count(c.Rcpt, c.Day), k.digest(c.Rcpt, c.Day), k.dueDigests(), k.pending(), k.lock(notifyTaskID(id))},
				threshold, ms(c.Lead.CreatedAt), id, member, ms(c.SendAt), mustJSON(Notification{Via: "digest", Recipient: c.Rcpt}),
				token, ttl.Milliseconds())
		}
		return out
	})
	if err != nil {
		return fmt.Errorf("claim announcements: %w", err)
	}
	for i, c := range claims {
		if c.Slot, err = cmds[i].Text(); err != nil {
			return fmt.Errorf("claim announcement of %s: %w", c.Lead.ID, err)
		}
	}
	return nil
}

// Announcement is how one lead's announcement ended, for DoneAll.
type Announcement struct {
	Lead         *Lead
	Notification Notification
	Entry        *FeedEntry // the partner's feed entry, or nil
}

// DoneAll records how leads' announcements ended, in one round trip: for
// each, once, its notification record, its partner's feed entry and the end
// of its pending work. A lead already recorded as sent keeps its record. It
// releases the send locks taken with token.
func (s *Store) DoneAll(ctx context.Context, outs []Announcement, token string) error {
	cmds, err := s.evalPipeline(ctx, func(p redis.Pipeliner) []*redis.Cmd {
		out := make([]*redis.Cmd, len(outs))
		for i, o := range outs {
			out[i] = s.done(ctx, p, o, token)
		}
		return out
	})
	if err != nil {
		return fmt.Errorf("record announcements: %w", err)
	}
	for i, c := range cmds {
		if err := c.Err(); err != nil {
			return fmt.Errorf("record announcement of %s: %w", outs[i].Lead.ID, err)
		}
	}
	return nil
}

func (s *Store) done(ctx context.Context, c redis.Scripter, o Announcement, token string) *redis.Cmd {
	k := s.keys
	feed := ""
	if o.Entry != nil {
		feed = mustJSON(o.Entry)
	}
	return doneScript.EvalSha(ctx, c, []string{k.lead(o.Lead.ID), k.pending(), k.feed(o.Lead.PartnerID), k.lock(notifyTaskID(o.Lead.ID))},
		mustJSON(o.Notification), notifyTaskID(o.Lead.ID), feed, FeedLimit, token)
}

// Unlock releases the send locks of leads taken with token, in one round
// trip, so a retry can take them at once.
func (s *Store) Unlock(ctx context.Context, ids []string, token string) error {
	ctx = context.WithoutCancel(ctx)
	_, err := s.evalPipeline(ctx, func(p redis.Pipeliner) []*redis.Cmd {
		out := make([]*redis.Cmd, len(ids))
		for i, id := range ids {
			out[i] = unlockScript.EvalSha(ctx, p, []string{s.keys.lock(notifyTaskID(id))}, token)
		}
		return out
	})
	if err != nil {
		return fmt.Errorf("release send locks: %w", err)
	}
	return nil
}

// MarkFallback records that a lead's location contact was rejected, so
// every later attempt goes to the partner's default contact.
func (s *Store) MarkFallback(ctx context.Context, id string) error {
	return s.rdb.HSet(ctx, s.keys.lead(id), fFallback, "1").Err()
}

// DigestLeads returns the leads waiting in a digest, oldest first.
func (s *Store) DigestLeads(ctx context.Context, rcpt, day string) ([]*Lead, error) {
	ids, err := s.rdb.ZRange(ctx, s.keys.digest(rcpt, day), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read digest %s %s: %w", rcpt, day, err)
	}
	leads, err := s.getMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := leads[:0]
	for _, l := range leads {
		if l != nil {
			out = append(out, l)
		}
	}
	return out, nil
}

// DayCount returns how many leads a recipient got on a day.
func (s *Store) DayCount(ctx context.Context, rcpt, day string) (int, error) {
	n, err := s.rdb.Get(ctx, s.keys.count(rcpt, day)).Int()
	if err != nil && err != redis.Nil {
		return 0, fmt.Errorf("read count %s %s: %w", rcpt, day, err)
	}
	return n, nil
}

// DigestSent marks leads as announced by rcpt's digest of day, sent at to
// sentTo (rcpt, or the default contact it fell back to), or, with a
// non-empty failure, as undeliverable, and appends the entries to the
// partners' feeds.
func (s *Store) DigestSent(ctx context.Context, rcpt, day, sentTo string, leads []*Lead, at time.Time, failure string, entries map[string]FeedEntry) error {
	k := s.keys
	ks := []string{k.digest(rcpt, day), k.dueDigests(), k.pending()}
	args := []any{rcpt + "|" + day, at.UTC().Format(time.RFC3339Nano), sentTo, failure}
	for _, l := range leads {
		ks, args = append(ks, k.lead(l.ID)), append(args, l.ID)
	}
	if err := digestSentScript.Run(ctx, s.rdb, ks, args...).Err(); err != nil {
		return fmt.Errorf("record digest %s %s: %w", rcpt, day, err)
	}
	for pid, e := range entries {
		if err := s.pushFeed(ctx, pid, e); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) pushFeed(ctx context.Context, pid string, e FeedEntry) error {
	if err := s.pushList(ctx, s.keys.feed(pid), mustJSON(e), FeedLimit); err != nil {
		return fmt.Errorf("append to feed of %s: %w", pid, err)
	}
	return nil
}

// pushList prepends v to a capped list in one MULTI/EXEC.
func (s *Store) pushList(ctx context.Context, key, v string, limit int) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, key, v)
		p.LTrim(ctx, key, 0, int64(limit)-1)
		return nil
	})
	return err
}

// Feed returns a partner's Action Center feed, newest first.
func (s *Store) Feed(ctx context.Context, pid string, limit int) ([]FeedEntry, error) {
	raw, err := s.rdb.LRange(ctx, s.keys.feed(pid), 0, int64(limit)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("read feed of %s: %w", pid, err)
	}
	out := make([]FeedEntry, 0, len(raw))
	for _, r := range raw {
		var e FeedEntry
		if err := json.Unmarshal([]byte(r), &e); err != nil {
			return nil, fmt.Errorf("decode feed of %s: %w", pid, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Lock takes a short lock named after a task so that two workers never send
// the same message at once (asynq can hand a task to a second worker while
// the first is still finishing it). It returns a release function, or nil
// when somebody else holds the lock.
func (s *Store) Lock(ctx context.Context, name string, ttl time.Duration) (func(), error) {
	token := strconv.FormatInt(time.Now().UnixNano(), 36)
	ok, err := s.rdb.SetNX(ctx, s.keys.lock(name), token, ttl).Result()
	if err != nil || !ok {
		return nil, err
	}
	return func() { unlockScript.Run(context.WithoutCancel(ctx), s.rdb, []string{s.keys.lock(name)}, token) }, nil
}

// unlockScript deletes a lock only if it still holds the caller's token.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// ClearPending forgets pending work that turned out to need nothing.
func (s *Store) ClearPending(ctx context.Context, members ...string) error {
	if len(members) == 0 {
		return nil
	}
	if err := s.rdb.ZRem(ctx, s.keys.pending(), anys(members)...).Err(); err != nil {
		return fmt.Errorf("clear pending %s: %w", strings.Join(members, " "), err)
	}
	return nil
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
