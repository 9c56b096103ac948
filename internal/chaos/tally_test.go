//go:build chaos

package chaos

import (
	"bytes"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/leadworker/leadworker/internal/testenv"
)

// Kinds of message, told apart by their Message-ID.
const (
	kindNew            = "new"             // <lead-<id>.new@…>
	kindFallback       = "new.default"     // <lead-<id>.new.default@…>, after a location contact refused
	kindDigest         = "digest"          // <digest-<day>-<hash>@…>, leads in X-Leadworker-Leads
	kindDigestFallback = "digest.default"  // <digest-<day>-<hash>.default@…>, after a location contact refused
	kindClosing        = "closing"         // <lead-<id>.closing@…>
	kindReminderFirst  = "reminder-first"  // <lead-<id>.reminder-first@…>
	kindReminderExpiry = "reminder-expiry" // <lead-<id>.reminder-expiry@…>
	kindOther          = "other"
)

// announcing are the kinds that announce a new lead.
var announcing = []string{kindNew, kindFallback, kindDigest, kindDigestFallback}

var (
	leadMessageID   = regexp.MustCompile(`^<lead-(.+)\.(new|new\.default|closing|reminder-first|reminder-expiry)@[^>]+>$`)
	digestMessageID = regexp.MustCompile(`^<digest-\d{4}-\d{2}-\d{2}-[0-9a-f]+(\.default)?@[^>]+>$`)
)

// message is one Message-ID the sink accepted, however many times.
type message struct {
	id     string
	kind   string
	to     []string
	leads  []string
	copies int         // times the sink accepted this Message-ID
	at     []time.Time // when each copy was accepted
}

// copy returns m with its own slices; the caller holds the tally's lock.
func (m *message) copy() message {
	c := *m
	c.at, c.to, c.leads = slices.Clone(m.at), slices.Clone(m.to), slices.Clone(m.leads)
	return c
}

// tally classifies every message the sink accepts as it arrives.
type tally struct {
	mu    sync.Mutex
	byID  map[string]*message
	order []*message // first arrival order
	total int        // messages accepted, copies included
	bad   []string   // messages that did not parse or whose headers disagree
}

// newTally returns an empty tally fed by sink.
func newTally(sink *testenv.SMTP) *tally {
	t := &tally{byID: map[string]*message{}}
	sink.OnMessage(t.add)
	return t
}

// add classifies one accepted message.
func (t *tally) add(m testenv.Mail) {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total++
	if err != nil {
		t.bad = append(t.bad, fmt.Sprintf("unparsable message: %v", err))
		return
	}
	id := msg.Header.Get("Message-Id")
	now := time.Now()
	if prev := t.byID[id]; prev != nil {
		prev.copies++
		prev.at = append(prev.at, now)
		return
	}
	kind, leads, problem := classify(id, strings.Fields(msg.Header.Get("X-Leadworker-Leads")))
	if problem != "" {
		t.bad = append(t.bad, problem)
	}
	rec := &message{id: id, kind: kind, to: slices.Clone(m.To), leads: leads, copies: 1, at: []time.Time{now}}
	t.byID[id] = rec
	t.order = append(t.order, rec)
}

// classify tells a message's kind and leads from its Message-ID and its
// X-Leadworker-Leads header; problem says what disagrees.
func classify(id string, header []string) (kind string, leads []string, problem string) {
	if sub := leadMessageID.FindStringSubmatch(id); sub != nil {
		if len(header) != 1 || header[0] != sub[1] {
			problem = fmt.Sprintf("%s: X-Leadworker-Leads is %q", id, header)
		}
		return sub[2], []string{sub[1]}, problem
	}
	if sub := digestMessageID.FindStringSubmatch(id); sub != nil {
		if len(header) == 0 {
			problem = id + ": a digest without X-Leadworker-Leads"
		}
		if sub[1] != "" {
			return kindDigestFallback, header, problem
		}
		return kindDigest, header, problem
	}
	return kindOther, header, "unexpected Message-ID " + id
}

// count is how many messages, copies included, the sink accepted.
func (t *tally) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.total
}

// problems returns what did not parse or disagreed.
func (t *tally) problems() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.bad)
}

// byLead returns, per lead, the distinct messages of the given kinds that
// name it.
func (t *tally) byLead(kinds ...string) map[string][]message {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string][]message{}
	for _, m := range t.order {
		if !slices.Contains(kinds, m.kind) {
			continue
		}
		for _, id := range m.leads {
			out[id] = append(out[id], m.copy())
		}
	}
	return out
}

// messages returns the distinct messages of the given kinds, in order of
// first arrival.
func (t *tally) messages(kinds ...string) []message {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []message
	for _, m := range t.order {
		if slices.Contains(kinds, m.kind) {
			out = append(out, m.copy())
		}
	}
	return out
}

// resentAround describes the announcements that came more than once
// relative to instant: how many had their first copy before it, which
// had it after, and when the later copies came.
func (t *tally) resentAround(instant time.Time) (firstBefore int, firstAfter []string, span string) {
	var lo, hi time.Duration
	for _, m := range t.messages(announcing...) {
		if m.copies < 2 {
			continue
		}
		if m.at[0].Before(instant) {
			firstBefore++
		} else {
			firstAfter = append(firstAfter, fmt.Sprintf("%s (at %s)", m.id, m.at[0].UTC().Format("15:04:05.000")))
		}
		for _, at := range m.at[1:] {
			d := at.Sub(instant)
			if lo == 0 || d < lo {
				lo = d
			}
			hi = max(hi, d)
		}
	}
	return firstBefore, firstAfter, fmt.Sprintf("%s–%s", secs(lo), secs(hi))
}

// allAnnounced reports whether every lead in ids is in an announcement.
func (t *tally) allAnnounced(ids []string) bool {
	got := t.byLead(announcing...)
	for _, id := range ids {
		if len(got[id]) == 0 {
			return false
		}
	}
	return true
}

// outcome is what the sink says about a set of accepted leads.
type outcome struct {
	in         int      // leads accepted (2xx)
	announced  int      // accepted leads named by at least one announcement
	duplicated int      // accepted leads named by two or more distinct announcements
	lost       int      // accepted leads named by none
	resent     int      // extra copies of an announcement's Message-ID (the same email again)
	unasked    int      // announced leads that were never accepted
	individual int      // announcements sent one by one (new, new.default)
	digests    int      // digests
	examples   []string // a few lost or duplicated leads, for the failure message
}

// outcome counts the announcements of the accepted leads.
func (t *tally) outcome(accepted []string) outcome {
	o := outcome{in: len(accepted)}
	got := t.byLead(announcing...)
	want := map[string]bool{}
	for _, id := range accepted {
		want[id] = true
		switch n := len(got[id]); {
		case n == 0:
			o.lost++
			o.example(id + ": never announced")
		case n > 1:
			o.duplicated++
			o.announced++
			o.example(fmt.Sprintf("%s: in %d messages %v", id, n, ids(got[id])))
		default:
			o.announced++
		}
	}
	for id := range got {
		if !want[id] {
			o.unasked++
		}
	}
	for _, m := range t.messages(announcing...) {
		o.resent += m.copies - 1
		if m.kind == kindDigest || m.kind == kindDigestFallback {
			o.digests++
		} else {
			o.individual++
		}
	}
	return o
}

func (o *outcome) example(s string) {
	if len(o.examples) < 10 {
		o.examples = append(o.examples, s)
	}
}

// ids lists the Message-IDs of ms.
func ids(ms []message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%s×%d", m.id, m.copies)
	}
	return out
}
