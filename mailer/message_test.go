package mailer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"strings"
	"testing"
)

// testMessage returns a small valid message with the given id.
func testMessage(id string) *Message {
	return &Message{
		From:      "leads@partner.example",
		To:        "sales@customer.example",
		Subject:   "New lead: ACME",
		Text:      "Hello,\nthere is a new lead " + id + ".\n",
		HTML:      "<p>Hello,</p><p>there is a new lead <b>" + id + "</b>.</p>",
		MessageID: id,
		Headers:   map[string]string{"X-Leadworker-Leads": "lead-1"},
	}
}

// parseRaw parses a built message, failing the test if it does not parse.
func parseRaw(t *testing.T, raw []byte) *mail.Message {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot parse the message: %v\n%s", err, raw)
	}
	return msg
}

// headerLines returns the raw header lines (before the first empty line).
func headerLines(raw []byte) []string {
	head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	return strings.Split(head, "\r\n")
}

func TestBuildMultipartAlternative(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		text, html string
	}{
		{"ascii", "Hello,\nnew lead.\n", "<p>Hello,</p><p>new lead.</p>"},
		{"qp-sensitive", "a=b 100% =?x?= \nline with trailing space \n" + strings.Repeat("long ", 40) + "\n", "<p style=\"x=y\">=3D</p>"},
		{"utf8", "Grüße, новый лид, 新しいリード\n", "<p>Grüße, новый лид, 新しいリード</p>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := testMessage("lead-1.new@partner.example")
			m.Text, m.HTML = tt.text, tt.html
			raw, err := m.Build()
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			msg := parseRaw(t, raw)
			mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
			if err != nil || mt != "multipart/alternative" {
				t.Fatalf("Content-Type = %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
			}
			mr := multipart.NewReader(msg.Body, params["boundary"])
			want := []struct{ typ, body string }{{"text/plain", tt.text}, {"text/html", tt.html}}
			for i, w := range want {
				part, err := mr.NextPart() // decodes quoted-printable
				if err != nil {
					t.Fatalf("part %d: %v", i, err)
				}
				pt, pp, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
				if pt != w.typ || !strings.EqualFold(pp["charset"], "utf-8") {
					t.Errorf("part %d Content-Type = %q, want %s; charset=UTF-8", i, part.Header.Get("Content-Type"), w.typ)
				}
				body, err := io.ReadAll(part)
				if err != nil {
					t.Fatalf("part %d: %v", i, err)
				}
				if got := strings.ReplaceAll(string(body), "\r\n", "\n"); got != w.body {
					t.Errorf("part %d body = %q, want %q", i, got, w.body)
				}
			}
			if _, err := mr.NextPart(); err != io.EOF {
				t.Errorf("want exactly two parts, next part: %v", err)
			}
			for _, line := range headerLines(raw) {
				if len(line) > 998 {
					t.Errorf("header line longer than 998 octets: %.80q...", line)
				}
			}
		})
	}
}

func TestBuildHeaders(t *testing.T) {
	t.Parallel()
	dec := new(mime.WordDecoder)
	tests := []struct {
		name        string
		modify      func(*Message)
		wantSubject string // decoded
		wantHeaders map[string]string
	}{
		{
			name:        "stable message id",
			modify:      func(m *Message) { m.MessageID = "lead-42.new.default@partner.example" },
			wantSubject: "New lead: ACME",
			wantHeaders: map[string]string{"Message-Id": "<lead-42.new.default@partner.example>"},
		},
		{
			name:        "subject injection",
			modify:      func(m *Message) { m.Subject = "Hi\r\nBcc: evil@example.com" },
			wantSubject: "Hi Bcc: evil@example.com",
		},
		{
			name:        "subject bare LF injection",
			modify:      func(m *Message) { m.Subject = "Hi\nBcc: evil@example.com\n\nbody" },
			wantSubject: "Hi Bcc: evil@example.com body",
		},
		{
			name:        "custom header injection",
			modify:      func(m *Message) { m.Headers = map[string]string{"X-Leadworker-Leads": "a b\r\nBcc: evil@example.com"} },
			wantSubject: "New lead: ACME",
			wantHeaders: map[string]string{"X-Leadworker-Leads": "a b Bcc: evil@example.com"},
		},
		{
			name:        "message id injection",
			modify:      func(m *Message) { m.MessageID = "x@y>\r\nBcc: evil@example.com" },
			wantSubject: "New lead: ACME",
			wantHeaders: map[string]string{"Message-Id": "<x@y> Bcc: evil@example.com>"},
		},
		{
			name:        "japanese subject",
			modify:      func(m *Message) { m.Subject = "新しいリード: 株式会社テスト（東京）" },
			wantSubject: "新しいリード: 株式会社テスト（東京）",
		},
		{
			name:        "russian subject",
			modify:      func(m *Message) { m.Subject = "Новый лид: ООО «Тест» — Москва" },
			wantSubject: "Новый лид: ООО «Тест» — Москва",
		},
		{
			name:        "long japanese subject",
			modify:      func(m *Message) { m.Subject = strings.Repeat("新しいリードが届きました。", 8) },
			wantSubject: strings.Repeat("新しいリードが届きました。", 8),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := testMessage("lead-1.new@partner.example")
			tt.modify(m)
			raw, err := m.Build()
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			msg := parseRaw(t, raw)
			for _, h := range []string{"Bcc", "Cc", "Reply-To"} {
				if v, ok := msg.Header[h]; ok {
					t.Errorf("unexpected %s header %q", h, v)
				}
			}
			for _, h := range []string{"Subject", "Message-Id", "From", "To", "Date", "Mime-Version"} {
				if n := len(msg.Header[h]); n != 1 {
					t.Errorf("%d %s headers, want 1", n, h)
				}
			}
			rawSubject := msg.Header.Get("Subject")
			for _, r := range rawSubject {
				if r > 0x7e || r < 0x20 {
					t.Fatalf("Subject not encoded to printable ASCII: %q", rawSubject)
				}
			}
			subject, err := dec.DecodeHeader(rawSubject)
			if err != nil || subject != tt.wantSubject {
				t.Errorf("Subject %q decodes to %q (%v), want %q", rawSubject, subject, err, tt.wantSubject)
			}
			for k, want := range tt.wantHeaders {
				got, err := dec.DecodeHeader(msg.Header.Get(k))
				if err != nil || got != want || len(msg.Header[k]) != 1 {
					t.Errorf("%s = %q (%d values, %v), want exactly %q", k, msg.Header[k], len(msg.Header[k]), err, want)
				}
			}
			if to, err := msg.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != m.To {
				t.Errorf("To = %v (%v), want %s", to, err, m.To)
			}
			if from, err := msg.Header.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != m.From {
				t.Errorf("From = %v (%v), want %s", from, err, m.From)
			}
			for _, line := range headerLines(raw) {
				if strings.HasPrefix(strings.ToLower(line), "bcc:") {
					t.Errorf("raw header line %q", line)
				}
			}
		})
	}
}

func TestBuildRefusesAddresses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		from, to string
	}{
		{"to with display name", "", "Bob <bob@customer.example>"},
		{"to with CRLF", "", "bob@customer.example\r\n"},
		{"to with CR", "", "bob@customer.example\rBcc: x@y.example"},
		{"to with LF", "", "bob@customer.example\nBcc: x@y.example"},
		{"to header injection", "", "a@b.example>\r\nBcc: x@y"},
		{"to angle brackets", "", "<bob@customer.example>"},
		{"to two addresses", "", "bob@customer.example, eve@evil.example"},
		{"to quoted local part", "", `"bob"@customer.example`},
		{"to empty", "", ""},
		{"to no domain", "", "bob"},
		{"from with display name", "Leads <leads@partner.example>", ""},
		{"from injection", "leads@partner.example\r\nBcc: x@y", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := testMessage("refused@partner.example")
			if tt.from != "" {
				m.From = tt.from
			}
			if tt.to != "" || tt.from == "" {
				m.To = tt.to
			}
			raw, err := m.Build()
			if !errors.Is(err, ErrPermanent) {
				t.Fatalf("Build = %d bytes, %v; want an error wrapping ErrPermanent", len(raw), err)
			}

			// Through a Mailer, nothing reaches the sender.
			dir := t.TempDir()
			out, err := NewOutbox(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := New(out).Send(context.Background(), m); !errors.Is(err, ErrPermanent) {
				t.Errorf("Mailer.Send = %v, want ErrPermanent", err)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("outbox has %d entries after a refused message", len(entries))
			}
		})
	}
}
