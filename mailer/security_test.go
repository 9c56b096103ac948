package mailer

import (
	"encoding/base64"
	"mime"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// builtHeaders are the header names every built message carries, each once.
var builtHeaders = []string{"Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To", "X-Leadworker-Leads"}

// checkHeaders builds m and checks what a mail reader sees of its headers:
// exactly builtHeaders, each once, the subject and X-Leadworker-Leads
// decoding to the given text as one header-safe line, and every raw header
// line printable ASCII, folded to 78 octets where it can be cut and never
// over the 998 of RFC 5322.
func checkHeaders(t *testing.T, m *Message) {
	t.Helper()
	raw, err := m.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	msg := parseRaw(t, raw)
	var names []string
	for name, vals := range msg.Header {
		names = append(names, name)
		if len(vals) != 1 {
			t.Errorf("%d %s headers: %q", len(vals), name, vals)
		}
	}
	slices.Sort(names)
	want := builtHeaders
	if HeaderSafe(m.Subject) == "" {
		want = slices.DeleteFunc(slices.Clone(want), func(h string) bool { return h == "Subject" })
	}
	if !slices.Equal(names, want) {
		t.Errorf("headers %q, want %q", names, want)
	}
	for _, line := range headerLines(raw) {
		if strings.ContainsFunc(line, func(r rune) bool { return r < 0x20 && r != '\t' || r > 0x7e }) {
			t.Errorf("raw header line is not printable ASCII: %q", line)
		}
		if len(line) > 998 || len(line) > 78 && cuttable(line) {
			t.Errorf("header line of %d octets: %.80q...", len(line), line)
		}
	}
	for name, text := range map[string]string{"Subject": m.Subject, "X-Leadworker-Leads": m.Headers["X-Leadworker-Leads"]} {
		got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get(name))
		if err != nil {
			t.Errorf("%s %q does not decode: %v", name, msg.Header.Get(name), err)
			continue
		}
		if got != HeaderSafe(text) {
			t.Errorf("%s reads %q, want %q", name, got, HeaderSafe(text))
		}
		if strings.ContainsFunc(got, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) && r != ' ' }) {
			t.Errorf("%s reads as more than one line: %q", name, got)
		}
	}
}

// cuttable reports whether a header line holds more than one word after
// the field name, so that it could have been folded.
func cuttable(line string) bool {
	if line[0] != ' ' && line[0] != '\t' {
		_, line, _ = strings.Cut(line, ":")
	}
	return len(strings.Fields(line)) > 1
}

// TestSecurityHeadersReadAsWritten checks that text in the subject and the
// custom header reads, once decoded by a mail reader, exactly as it was
// written: encoded-words (RFC 2047) in customer text must not decode into
// line breaks or other headers.
func TestSecurityHeadersReadAsWritten(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return "=?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?=" }
	tests := []struct {
		name, subject, leads string
	}{
		{"plain", "New lead from Contoso (L-1)", "L-1"},
		{"CRLF", "New lead from Contoso\r\nBcc: evil@x.example (L-1)", "L-1\r\nBcc: evil@x.example"},
		{"Q encoded-word with CRLF", "New lead from =?UTF-8?Q?x=0D=0ABcc:_evil@x.example?= (L-1)", "L-1"},
		{"B encoded-word with CRLF", "New lead from " + b64("x\r\nBcc: evil@x.example") + " (L-1)", "L-1"},
		{"lower-case encoded-word", "New lead from =?utf-8?q?x=0ABcc:_evil@x.example?= (L-1)", "L-1"},
		{"encoded-word alone", "=?ISO-8859-1?Q?=0D=0AX-Injected:_1?=", "=?UTF-8?Q?L-1=0D=0ABcc:_evil@x.example?="},
		{"encoded-word and Japanese", "🔥 至急: =?UTF-8?Q?x=0ABcc:_e@x.example?= 様からの新しいリード（L-1）", "L-1"},
		{"unfinished encoded-word", "New lead from =?UTF-8?Q?x (L-1)", "L-1"},
		{"line and paragraph separators", "Contoso\u2028Bcc: evil@x.example\u2029X-Injected: 1", "L-1\u0085L-2"},
		{"long encoded-word text", strings.Repeat("=?UTF-8?Q?=0A?= Контосо ", 12), "L-1 L-2"},
		{"empty", "", "L-1"},
		{"200 Japanese characters", "🔥【至急】" + strings.Repeat("株", 200) + " 様からの新しいリード（" + strings.Repeat("L", 64) + "）", "L-1"},
		{"200 characters outside the BMP", strings.Repeat("𠀋", 200), "L-1"},
		{"a digest of 1,000 leads", "1000 more new leads for 2026-11-20", strings.TrimSpace(strings.Repeat("L-20261120-0001 ", 1000))},
		{"a word too long for a line", strings.Repeat("x", 300), strings.Repeat("L", 64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := testMessage("lead-1.new@partner.example")
			m.Subject, m.Headers = tt.subject, map[string]string{"X-Leadworker-Leads": tt.leads}
			checkHeaders(t, m)
		})
	}
}

// FuzzBuildHeaders puts arbitrary text into the subject and the custom
// header of a message: whatever the text, the message has exactly the
// expected headers and each value reads back as the one line written.
func FuzzBuildHeaders(f *testing.F) {
	for _, seed := range [][2]string{
		{"New lead from Contoso (L-1)", "L-1"},
		{"ACME\r\nBcc: evil@example.com", "L-1\nX-Injected: 1"},
		{"=?UTF-8?Q?x=0D=0ABcc:_evil@x.example?=", "=?UTF-8?B?eA0KQmNjOiBldmlsQHguZXhhbXBsZQ==?="},
		{"新しいリード: 株式会社テスト（東京）", "L-1 L-2"},
		{"\x00\x1b[31m\u2028\u2029\u0085", "\xff\xfe"},
		{"", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, subject, leads string) {
		m := testMessage("lead-1.new@partner.example")
		m.Subject, m.Headers = subject, map[string]string{"X-Leadworker-Leads": leads}
		checkHeaders(t, m)
	})
}

// TestHeaderSafe checks the one-line form of header text: control
// characters become spaces and spaces collapse.
func TestHeaderSafe(t *testing.T) {
	t.Parallel()
	if got, want := HeaderSafe(" a\r\n\tb \x00c\u0085 "), "a b c"; got != want {
		t.Errorf("HeaderSafe = %q, want %q", got, want)
	}
}
