// Package mailtest has a mailer.Sender that records what it is given, for
// unit tests of the code that sends mail.
package mailtest

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"sync"

	"github.com/leadworker/leadworker/mailer"
)

// Recorder is a mailer.Sender that keeps every message it is given, for
// unit tests of the handlers. A recipient can be made to refuse mail for
// good (as an SMTP 5xx would) or for now (as a 4xx or a dropped connection
// would).
type Recorder struct {
	mu      sync.Mutex
	sent    []Recorded
	refuse  map[string]bool
	failing map[string]bool
	limit   int64 // the server's SIZE; 0 for none
}

// Recorded is one message a Recorder accepted.
type Recorded struct {
	Env mailer.Envelope
	Raw []byte
}

// NewRecorder returns a Recorder that accepts everything.
func NewRecorder() *Recorder {
	return &Recorder{refuse: map[string]bool{}, failing: map[string]bool{}}
}

// Send records the message, or refuses it as set by Refuse and Fail.
func (r *Recorder) Send(_ context.Context, env mailer.Envelope, raw []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rcpt := strings.ToLower(env.To)
	switch {
	case r.limit > 0 && int64(len(raw)) > r.limit:
		return &mailer.SizeError{Size: int64(len(raw)), Limit: r.limit}
	case r.refuse[rcpt]:
		return fmt.Errorf("550 mailbox unavailable: %w", mailer.ErrPermanent)
	case r.failing[rcpt]:
		return fmt.Errorf("451 try again later")
	}
	r.sent = append(r.sent, Recorded{Env: env, Raw: bytes.Clone(raw)})
	return nil
}

// Close does nothing.
func (r *Recorder) Close() error { return nil }

// Refuse makes rcpt refuse every later message for good.
func (r *Recorder) Refuse(rcpt string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refuse[strings.ToLower(rcpt)] = true
}

// Fail makes rcpt fail every later message for now (on) or accept again.
func (r *Recorder) Fail(rcpt string, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failing[strings.ToLower(rcpt)] = on
}

// Limit makes the recorder refuse, as too large, every later message of
// more than n bytes, as a server advertising SIZE n does.
func (r *Recorder) Limit(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.limit = n
}

// Sent returns the messages accepted so far, in order.
func (r *Recorder) Sent() []Recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Recorded(nil), r.sent...)
}

// Header returns a header of the message, encoded words decoded.
func (m Recorded) Header(name string) string {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return ""
	}
	v := msg.Header.Get(name)
	if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
		return d
	}
	return v
}
