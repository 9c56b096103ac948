package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/redis/go-redis/v9"
)

// FeedLimit is how many entries a partner's Action Center feed keeps.
const FeedLimit = 200

// Lead hash fields of the notification record.
const (
	fSlot       = "slot" // "individual" or "digest|<recipient>|<day>": how the lead is announced
	fFallback   = "fb"   // "1" once the location contact was rejected
	fNotice     = "cn"   // closing notice handled
	fNoticeTo   = "nto"  // an expired lead's notice address, erased once the notice is sent
	fNoticeName = "ntn"  // the name that goes with it
)

// Claim slots: how a lead's announcement goes on, as ClaimAll decides it.
const (
	SlotIndividual = "individual" // email it now: the caller holds its send lock
	SlotDone       = "done"       // its announcement has ended already
	SlotBusy       = "busy"       // another worker is sending it
	SlotGone       = "gone"       // the lead no longer exists
	SlotArchived   = "archived"   // the lead was archived before its email went out: not announced
)

// Claim is one lead's announcement to decide: to whom and for which day,
// and when that day's digest goes out. ClaimAll sets Slot.
type Claim struct {
	Lead   *leadworker.Lead
	Rcpt   string
	Day    string
	SendAt time.Time
	Slot   string // SlotIndividual, "digest|<recipient>|<day>", or done, archived, busy, gone
}

// InDigest reports whether the claim put the lead in a digest.
func (c *Claim) InDigest() bool { return strings.HasPrefix(c.Slot, "digest|") }

// ClaimAll counts each lead for its recipient's day, in one round trip, and
// says whether it goes out on its own or joins that day's digest. The answer
// is decided once per lead and then repeated, whatever happens to the
// counter later. A lead to email on its own is locked with token for ttl.
func (s *Store) ClaimAll(ctx context.Context, claims []*Claim, threshold int, token string, ttl time.Duration) error {
	k := s.keys
	cmds, err := s.evalPipeline(ctx, func(p redis.Pipeliner) []*redis.Cmd {
		out := make([]*redis.Cmd, len(claims))
		for i, c := range claims {
			id, member := c.Lead.ID, DigestMember(c.Rcpt, c.Day)
			out[i] = claimScript.EvalSha(ctx, p,
				[]string{k.lead(id), k.count(c.Rcpt, c.Day), k.digest(c.Rcpt, c.Day), k.dueDigests(), k.pending(), k.lock(tasks.NotifyID(id))},
				threshold, ms(c.Lead.CreatedAt), id, member, ms(c.SendAt), mustJSON(leadworker.Notification{Via: "digest", Recipient: c.Rcpt}),
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
	Lead         *leadworker.Lead
	Notification leadworker.Notification
	Entry        *leadworker.FeedEntry // the partner's feed entry, or nil
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
	return announcedScript.EvalSha(ctx, c, []string{k.lead(o.Lead.ID), k.pending(), k.feed(o.Lead.PartnerID), k.lock(tasks.NotifyID(o.Lead.ID))},
		mustJSON(o.Notification), tasks.NotifyID(o.Lead.ID), feedJSON(o.Entry), FeedLimit, token)
}

// Unlock releases the send locks of leads taken with token, in one round
// trip, so a retry can take them at once.
func (s *Store) Unlock(ctx context.Context, ids []string, token string) error {
	ctx = context.WithoutCancel(ctx)
	_, err := s.evalPipeline(ctx, func(p redis.Pipeliner) []*redis.Cmd {
		out := make([]*redis.Cmd, len(ids))
		for i, id := range ids {
			out[i] = unlockScript.EvalSha(ctx, p, []string{s.keys.lock(tasks.NotifyID(id))}, token)
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

// Feed returns a partner's Action Center feed, newest first.
func (s *Store) Feed(ctx context.Context, pid string, limit int) ([]leadworker.FeedEntry, error) {
	raw, err := s.rdb.LRange(ctx, s.keys.feed(pid), 0, int64(limit)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("read feed of %s: %w", pid, err)
	}
	out := make([]leadworker.FeedEntry, 0, len(raw))
	for _, r := range raw {
		var e leadworker.FeedEntry
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
	token := NewToken()
	ok, err := s.rdb.SetNX(ctx, s.keys.lock(name), token, ttl).Result()
	if err != nil || !ok {
		return nil, err
	}
	return func() { unlockScript.Run(context.WithoutCancel(ctx), s.rdb, []string{s.keys.lock(name)}, token) }, nil
}

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

// NewToken returns a random lock token.
func NewToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
