package worker_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"

	"github.com/leadworker/leadworker/internal/testenv"
)

// received is an email as a person would read it.
type received struct {
	To        string
	MessageID string
	Subject   string
	Text      string
	HTML      string
	Header    mail.Header
}

// readMail parses a message the SMTP sink accepted.
func readMail(t *testing.T, m testenv.Mail) received {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatalf("not a mail message: %v\n%s", err, m.Data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("subject: %v", err)
	}
	r := received{To: strings.Join(m.To, ","), MessageID: msg.Header.Get("Message-Id"), Subject: subject, Header: msg.Header}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type: %v", err)
	}
	parts := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := parts.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		var body io.Reader = p
		if p.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			body = quotedprintable.NewReader(p)
		}
		b, _ := io.ReadAll(body)
		switch ct := p.Header.Get("Content-Type"); {
		case strings.HasPrefix(ct, "text/plain"):
			r.Text = string(b)
		case strings.HasPrefix(ct, "text/html"):
			r.HTML = string(b)
		}
	}
	if r.Text == "" || r.HTML == "" {
		t.Fatalf("message is not multipart text + HTML:\n%s", m.Data)
	}
	return r
}

// mailsTo returns the parsed messages for one recipient.
func mailsTo(t *testing.T, mails []testenv.Mail, rcpt string) []received {
	t.Helper()
	var out []received
	for _, m := range mails {
		if strings.Join(m.To, ",") == rcpt {
			out = append(out, readMail(t, m))
		}
	}
	return out
}
