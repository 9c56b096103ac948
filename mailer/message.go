// Package mailer builds email messages and delivers them: over SMTP through
// a pool of connections with a deadline on every step, or, with no SMTP
// server configured, as .eml files in an outbox folder.
package mailer

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/textproto"
	"sync"
	"time"

	"github.com/jordan-wright/email"
	"github.com/leadworker/leadworker/templates"
)

// ErrPermanent marks a delivery the server refused for good (an SMTP 5xx
// reply): retrying cannot help.
var ErrPermanent = errors.New("permanent SMTP rejection")

// Message is one email to one recipient.
type Message struct {
	From      string // a bare address
	To        string // a bare address
	Subject   string
	Text      string
	HTML      string
	MessageID string // without angle brackets; stable per (lead, notice)
	Headers   map[string]string
}

// Envelope is what the transport needs besides the message's bytes.
type Envelope struct {
	From      string
	To        string
	MessageID string
}

// Sender delivers a built message.
type Sender interface {
	Send(ctx context.Context, env Envelope, raw []byte) error
	Close() error
}

// Build checks the addresses and renders the message as multipart text and
// HTML. Addresses must parse as plain addresses and every header value is
// reduced to one line, so no input can add a header.
func (m *Message) Build() ([]byte, error) {
	for _, a := range []string{m.From, m.To} {
		parsed, err := mail.ParseAddress(a)
		if err != nil || parsed.Address != a {
			return nil, fmt.Errorf("%w: address %q is not a plain email address", ErrPermanent, a)
		}
	}
	e := email.NewEmail()
	e.From, e.To = m.From, []string{m.To}
	e.Subject = templates.HeaderSafe(m.Subject)
	e.Text, e.HTML = []byte(m.Text), []byte(m.HTML)
	e.Headers = textproto.MIMEHeader{}
	e.Headers.Set("Message-Id", "<"+templates.HeaderSafe(m.MessageID)+">")
	for k, v := range m.Headers {
		e.Headers.Set(k, templates.HeaderSafe(v))
	}
	return e.Bytes()
}

// Mailer builds messages and hands them to a Sender, remembering how the
// latest delivery went.
type Mailer struct {
	sender Sender
	mu     sync.Mutex
	status Status
}

// Status is what readiness reports about the mail transport.
type Status struct {
	LastSuccess *time.Time `json:"last_success,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
}

// Status returns how the latest deliveries went.
func (ml *Mailer) Status() Status {
	ml.mu.Lock()
	defer ml.mu.Unlock()
	return ml.status
}

func (ml *Mailer) record(err error) {
	now := time.Now().UTC()
	ml.mu.Lock()
	defer ml.mu.Unlock()
	if err == nil {
		ml.status.LastSuccess = &now
		return
	}
	ml.status.LastError, ml.status.LastErrorAt = err.Error(), &now
}

// New returns a mailer delivering through sender.
func New(sender Sender) *Mailer { return &Mailer{sender: sender} }

// Send builds m and delivers it. Errors wrapping ErrPermanent must not be
// retried.
func (ml *Mailer) Send(ctx context.Context, m *Message) error {
	raw, err := m.Build()
	if err != nil {
		return fmt.Errorf("build message %s: %w", m.MessageID, err)
	}
	err = ml.sender.Send(ctx, Envelope{From: m.From, To: m.To, MessageID: m.MessageID}, raw)
	if !errors.Is(err, ErrPermanent) { // a refused address says nothing about the transport
		ml.record(err)
	}
	return err
}

// Close closes the sender.
func (ml *Mailer) Close() error { return ml.sender.Close() }
