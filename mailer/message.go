// Package mailer builds email messages and delivers them: over SMTP through
// a pool of connections with a deadline on every step, or, with no SMTP
// server configured, as .eml files in an outbox folder.
package mailer

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jordan-wright/email"
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
//
// The subject and the custom headers carry customer text, so they are
// written here rather than by the email package, which neither folds long
// lines nor encodes text that merely looks like an encoded-word: a mail
// reader would decode "=?UTF-8?Q?=0D=0A?=" in a company name into a line
// break, and a subject of 200 Japanese characters would make one line of
// over 2,000 octets.
func (m *Message) Build() ([]byte, error) {
	for _, a := range [][2]string{{"From", m.From}, {"To", m.To}} {
		parsed, err := mail.ParseAddress(a[1])
		if err != nil || parsed.Address != a[1] {
			// The address itself stays out: the error is stored and shown.
			return nil, fmt.Errorf("%w: the %s address is not a plain email address", ErrPermanent, a[0])
		}
	}
	e := email.NewEmail()
	e.From, e.To = m.From, []string{m.To}
	e.Text, e.HTML = []byte(m.Text), []byte(m.HTML)
	e.Headers = textproto.MIMEHeader{}
	e.Headers.Set("Message-Id", "<"+HeaderSafe(m.MessageID)+">")
	rest, err := e.Bytes()
	if err != nil {
		return nil, err
	}
	var head bytes.Buffer
	if subject := HeaderSafe(m.Subject); subject != "" {
		writeHeader(&head, "Subject", subject)
	}
	for _, k := range slices.Sorted(maps.Keys(m.Headers)) {
		writeHeader(&head, textproto.CanonicalMIMEHeaderKey(k), HeaderSafe(m.Headers[k]))
	}
	out := make([]byte, 0, head.Len()+len(rest))
	return append(append(out, head.Bytes()...), rest...), nil
}

// Header lines are folded to stay within maxLine characters where they can
// be cut (RFC 5322 asks for 78, RFC 2047 for 76 around encoded-words).
const maxLine = 76

// writeHeader writes one header field whose value is a single line. Plain
// printable ASCII is written as it is; anything else is written as
// encoded-words. Either way the line is folded between words.
func writeHeader(b *bytes.Buffer, name, value string) {
	words := strings.Fields(value)
	if !plainHeader(value) {
		words = encodedWords(value)
	}
	b.WriteString(name + ":")
	n := len(name) + 1
	for _, w := range words {
		if n > len(name)+1 && n+1+len(w) > maxLine {
			b.WriteString("\r\n")
			n = 0
		}
		b.WriteString(" " + w)
		n += 1 + len(w)
	}
	b.WriteString("\r\n")
}

// plainHeader reports whether v can go into a header unencoded: printable
// ASCII with no word too long to fit a line and nothing a reader would
// decode as an encoded-word.
func plainHeader(v string) bool {
	for _, w := range strings.Fields(v) {
		if len(w) > maxLine-12 {
			return false
		}
	}
	return !strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r > '~' }) && !strings.Contains(v, "=?")
}

// encodedWords writes v as base64 encoded-words (RFC 2047) of 36 bytes of
// text each, cut between characters; a reader joins them back without the
// spaces between them.
func encodedWords(v string) []string {
	const chunk = 36 // 48 base64 characters, a 60-character word
	var words []string
	for v != "" {
		n := 0
		for n < len(v) {
			_, size := utf8.DecodeRuneInString(v[n:])
			if n+size > chunk {
				break
			}
			n += size
		}
		words = append(words, "=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte(v[:n]))+"?=")
		v = v[n:]
	}
	return words
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

// HeaderSafe turns s into a single header-safe line: control characters
// (CR and LF included) become spaces and runs of spaces collapse.
func HeaderSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
