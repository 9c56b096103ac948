package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/redis/go-redis/v9"
)

// DigestMember names a recipient's digest of a day in the due-digests
// index and in a digest lead's slot: "<recipient>|<day>". An address may
// hold "|", a day (YYYY-MM-DD) may not, so SplitDigestMember splits at the
// last one.
func DigestMember(rcpt, day string) string { return rcpt + "|" + day }

// SplitDigestMember returns the recipient and day DigestMember joined.
func SplitDigestMember(member string) (rcpt, day string) {
	i := strings.LastIndexByte(member, '|')
	if i < 0 {
		return member, ""
	}
	return member[:i], member[i+1:]
}

// DigestLeads returns the leads waiting in a digest, oldest first.
func (s *Store) DigestLeads(ctx context.Context, rcpt, day string) ([]*leadworker.Lead, error) {
	ids, err := s.rdb.ZRange(ctx, s.keys.digest(rcpt, day), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read digest %s %s: %w", rcpt, day, err)
	}
	leads, err := s.GetMany(ctx, ids)
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
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("read count %s %s: %w", rcpt, day, err)
	}
	return n, nil
}

// DigestSent marks leads as announced by rcpt's digest of day, sent at to
// sentTo (rcpt, or the default contact it fell back to), or, with a
// non-empty failure, as undeliverable, and appends the entries to the
// partners' feeds.
func (s *Store) DigestSent(ctx context.Context, rcpt, day, sentTo string, leads []*leadworker.Lead, at time.Time, failure string, entries map[string]leadworker.FeedEntry) error {
	k := s.keys
	ks := []string{k.digest(rcpt, day), k.dueDigests(), k.pending(), k.sealedDigest(rcpt, day)}
	args := []any{DigestMember(rcpt, day), at.UTC().Format(time.RFC3339Nano), sentTo, failure, FeedLimit, len(leads)}
	for _, l := range leads {
		ks, args = append(ks, k.lead(l.ID)), append(args, l.ID)
	}
	for _, pid := range slices.Sorted(maps.Keys(entries)) {
		e := entries[pid]
		ks, args = append(ks, k.feed(pid)), append(args, feedJSON(&e))
	}
	if err := digestSentScript.Run(ctx, s.rdb, ks, args...).Err(); err != nil {
		return fmt.Errorf("record digest %s %s: %w", rcpt, day, err)
	}
	return nil
}

// DigestPart is one sealed part of a recipient's digest of a day: its
// number, how many parts there were when it was sealed, and its leads.
type DigestPart struct {
	N, Parts int
	IDs      []string
}

// SealedDigest returns the part of rcpt's digest of day that was sealed and
// not yet recorded as sent, if any.
func (s *Store) SealedDigest(ctx context.Context, rcpt, day string) (*DigestPart, error) {
	v, err := s.rdb.Get(ctx, s.keys.sealedDigest(rcpt, day)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read sealed digest %s %s: %w", rcpt, day, err)
	}
	var p DigestPart
	if _, err := fmt.Sscanf(v, "%d %d", &p.N, &p.Parts); err != nil {
		return nil, fmt.Errorf("decode sealed digest %s %s: %w", rcpt, day, err)
	}
	p.IDs = strings.Fields(v)[2:]
	return &p, nil
}

// SealDigest fixes ids as the next part of rcpt's digest of day, which
// with the leads still waiting makes parts parts in all; if a part is
// sealed already, it returns that one instead (seal_digest.lua). A sealed
// part is sent, and resent on a retry, exactly as it is.
func (s *Store) SealDigest(ctx context.Context, rcpt, day string, ids []string, parts int) (*DigestPart, error) {
	return s.seal(ctx, rcpt, day, ids, parts, false)
}

// ResealDigest seals the part being sent again with ids only, which with
// the leads still waiting makes parts parts: the server refused the part
// as too large, so it never went out.
func (s *Store) ResealDigest(ctx context.Context, rcpt, day string, ids []string, parts int) (*DigestPart, error) {
	return s.seal(ctx, rcpt, day, ids, parts, true)
}

func (s *Store) seal(ctx context.Context, rcpt, day string, ids []string, parts int, replace bool) (*DigestPart, error) {
	k := s.keys
	vals, err := sealDigestScript.Run(ctx, s.rdb, []string{k.sealedDigest(rcpt, day), k.digestParts(rcpt, day)},
		strings.Join(ids, " "), parts, flag(replace)).Slice()
	if err != nil || len(vals) != 3 {
		return nil, fmt.Errorf("seal digest %s %s: %w", rcpt, day, err)
	}
	n, _ := vals[0].(int64)
	total, _ := vals[1].(int64)
	list, _ := vals[2].(string)
	return &DigestPart{N: int(n), Parts: int(total), IDs: strings.Fields(list)}, nil
}
