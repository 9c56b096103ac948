package mailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadworker/leadworker/internal/testenv"
)

func TestParseSMTPURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw     string
		want    SMTPConfig
		wantErr string // substring; "" means no error
	}{
		{raw: "smtp://mail.example:25", want: SMTPConfig{Addr: "mail.example:25"}},
		{raw: "smtp://u:p@mail.example:587?tls=required", want: SMTPConfig{Addr: "mail.example:587", RequireTLS: true, Username: "u", Password: "p"}},
		{raw: "smtps://mail.example", want: SMTPConfig{Addr: "mail.example:465", ImplicitTLS: true}},
		{raw: "smtp://mail.example", want: SMTPConfig{Addr: "mail.example:587"}},
		{raw: "smtps://u:p@mail.example:2465", want: SMTPConfig{Addr: "mail.example:2465", ImplicitTLS: true, Username: "u", Password: "p"}},
		{raw: "smtp://mail.example?tls=opportunistic", want: SMTPConfig{Addr: "mail.example:587"}},
		{raw: "smtp://user%40corp:p%40ss%3Aw@mail.example", want: SMTPConfig{Addr: "mail.example:587", Username: "user@corp", Password: "p@ss:w"}},
		{raw: "smtp://onlyuser@mail.example:25", want: SMTPConfig{Addr: "mail.example:25", Username: "onlyuser"}},
		{raw: "smtp://[::1]", want: SMTPConfig{Addr: "[::1]:587"}},
		{raw: "smtp://[::1]:2525", want: SMTPConfig{Addr: "[::1]:2525"}},
		{raw: "http://mail.example:25", wantErr: "must be smtp://"},
		{raw: "mail.example:25", wantErr: "must be smtp://"},
		{raw: "smtp:///nohost", wantErr: "must be smtp://"},
		{raw: "", wantErr: "must be smtp://"},
		{raw: "smtp://mail.example:25?tls=maybe", wantErr: `tls="maybe"`},
		{raw: "smtp://mail.example:25?tls=REQUIRED", wantErr: `tls="REQUIRED"`},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSMTPURL(tt.raw)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSMTPURL(%q) = %+v, %v; want an error containing %q", tt.raw, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSMTPURL(%q): %v", tt.raw, err)
			}
			if got != tt.want {
				t.Errorf("ParseSMTPURL(%q) = %+v, want %+v", tt.raw, got, tt.want)
			}
		})
	}
}

// newPool returns a pool closed when the test ends.
func newPool(t testing.TB, cfg SMTPConfig) *SMTPPool {
	p := NewSMTPPool(cfg)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// send builds the test message with id, to rcpt if given, and sends it.
func send(t testing.TB, s Sender, id, rcpt string) error {
	t.Helper()
	m := testMessage(id)
	if rcpt != "" {
		m.To = rcpt
	}
	raw, err := m.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return s.Send(ctx, Envelope{From: m.From, To: m.To, MessageID: id}, raw)
}

// countIDs counts the accepted messages by Message-Id (without brackets).
func countIDs(t testing.TB, mails []testenv.Mail) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, m := range mails {
		_, rest, _ := bytes.Cut(m.Data, []byte("Message-Id: <"))
		id, _, ok := bytes.Cut(rest, []byte(">\r\n"))
		if !ok {
			t.Fatalf("accepted message without a Message-Id:\n%s", m.Data)
		}
		n[string(id)]++
	}
	return n
}

// waitClosed waits until the server has no open connection.
func waitClosed(t testing.TB, sink *testenv.SMTP) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for sink.ConnStats().Open != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("server still has %d open connections", sink.ConnStats().Open)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSMTPPoolPlainSend(t *testing.T) {
	t.Parallel()
	sink := testenv.StartSMTP(t)
	pool := newPool(t, SMTPConfig{Addr: sink.Addr, PoolSize: 2, Timeout: 5 * time.Second})

	m := testMessage("plain-1@partner.example")
	m.Text = "Hello\n.\n..two dots\n.leading dot\n" // dot-stuffing must round-trip
	raw, err := m.Build()
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.Send(context.Background(), Envelope{From: m.From, To: m.To, MessageID: m.MessageID}, raw); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if err := send(t, pool, "plain-2@partner.example", "other@customer.example"); err != nil {
		t.Fatalf("second Send: %v", err)
	}
	mails := sink.Mails()
	if len(mails) != 2 {
		t.Fatalf("server accepted %d messages, want 2", len(mails))
	}
	got := mails[0]
	if got.From != m.From || len(got.To) != 1 || got.To[0] != m.To {
		t.Errorf("envelope MAIL FROM %q RCPT TO %q, want %q and [%q]", got.From, got.To, m.From, m.To)
	}
	if !bytes.Equal(got.Data, raw) {
		t.Errorf("server received different bytes:\n got %q\nwant %q", got.Data, raw)
	}
	if got.TLS {
		t.Errorf("plain server reports TLS")
	}
	if mails[1].To[0] != "other@customer.example" {
		t.Errorf("second RCPT TO %q", mails[1].To)
	}
	if st := sink.ConnStats(); st.Total != 1 {
		t.Errorf("server saw %d connections for two sequential sends, want 1 (reuse)", st.Total)
	}
	if err := pool.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	waitClosed(t, sink)
}

func TestSMTPPoolTLSAndAuth(t *testing.T) {
	t.Parallel()
	const user, pass = "leadworker", "s3cret:pass"
	type server struct {
		tls, implicit bool
		requireTLS    bool // the server refuses MAIL outside TLS
		auth          bool // the server requires AUTH PLAIN user/pass
	}
	tests := []struct {
		name     string
		srv      server
		cfg      func(s *testenv.SMTP) SMTPConfig
		wantErr  string // substring; "" means delivered
		wantUser string
	}{
		{
			name: "STARTTLS used when offered",
			srv:  server{tls: true},
			cfg:  func(s *testenv.SMTP) SMTPConfig { return SMTPConfig{Addr: s.Addr, TLS: s.ClientTLS()} },
		},
		{
			name: "STARTTLS to a server requiring TLS",
			srv:  server{tls: true, requireTLS: true},
			cfg:  func(s *testenv.SMTP) SMTPConfig { return SMTPConfig{Addr: s.Addr, TLS: s.ClientTLS()} },
		},
		{
			name: "tls=required with STARTTLS offered",
			srv:  server{tls: true, requireTLS: true},
			cfg: func(s *testenv.SMTP) SMTPConfig {
				return SMTPConfig{Addr: s.Addr, TLS: s.ClientTLS(), RequireTLS: true}
			},
		},
		{
			name: "implicit TLS",
			srv:  server{tls: true, implicit: true, requireTLS: true},
			cfg: func(s *testenv.SMTP) SMTPConfig {
				return SMTPConfig{Addr: s.Addr, TLS: s.ClientTLS(), ImplicitTLS: true}
			},
		},
		{
			name: "AUTH PLAIN over STARTTLS",
			srv:  server{tls: true, auth: true},
			cfg: func(s *testenv.SMTP) SMTPConfig {
				return SMTPConfig{Addr: s.Addr, TLS: s.ClientTLS(), Username: user, Password: pass}
			},
			wantUser: user,
		},
		{
			name: "AUTH PLAIN over implicit TLS",
			srv:  server{tls: true, implicit: true, auth: true},
			cfg: func(s *testenv.SMTP) SMTPConfig {
				return SMTPConfig{Addr: s.Addr, TLS: s.ClientTLS(), ImplicitTLS: true, Username: user, Password: pass}
			},
			wantUser: user,
		},
		{
			name: "AUTH via smtps URL",
			srv:  server{tls: true, implicit: true, auth: true},
			cfg: func(s *testenv.SMTP) SMTPConfig {
				c, err := ParseSMTPURL("smtps://" + user + ":s3cret%3Apass@" + s.Addr)
				if err != nil {
					panic(err)
				}
				c.TLS = s.ClientTLS()
				return c
			},
			wantUser: user,
		},
		{
			name: "tls=required without STARTTLS",
			srv:  server{},
			cfg:  func(s *testenv.SMTP) SMTPConfig { return SMTPConfig{Addr: s.Addr, RequireTLS: true} },
			// Must not fall back to plaintext.
			wantErr: "does not offer STARTTLS and tls=required",
		},
		{
			name:    "untrusted certificate is not a plaintext fallback",
			srv:     server{tls: true},
			cfg:     func(s *testenv.SMTP) SMTPConfig { return SMTPConfig{Addr: s.Addr} }, // system roots
			wantErr: "STARTTLS",
		},
		{
			name: "certificate for another name",
			srv:  server{tls: true, implicit: true},
			cfg: func(s *testenv.SMTP) SMTPConfig {
				c := s.ClientTLS()
				c.ServerName = "mail.other.example"
				return SMTPConfig{Addr: s.Addr, TLS: c, ImplicitTLS: true}
			},
			wantErr: "mail.other.example",
		},
		{
			name:    "implicit TLS to a plaintext server",
			srv:     server{},
			cfg:     func(s *testenv.SMTP) SMTPConfig { return SMTPConfig{Addr: s.Addr, ImplicitTLS: true} },
			wantErr: "tls:",
		},
		{
			name: "wrong password",
			srv:  server{tls: true, auth: true},
			cfg: func(s *testenv.SMTP) SMTPConfig {
				return SMTPConfig{Addr: s.Addr, TLS: s.ClientTLS(), Username: user, Password: "wrong"}
			},
			wantErr: "AUTH",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var sink *testenv.SMTP
			if tt.srv.tls {
				sink = testenv.StartSMTPTLS(t, tt.srv.implicit)
			} else {
				sink = testenv.StartSMTP(t)
			}
			sink.RequireTLS(tt.srv.requireTLS)
			if tt.srv.auth {
				sink.RequireAuth(user, pass)
			}
			cfg := tt.cfg(sink)
			cfg.PoolSize, cfg.Timeout = 2, 5*time.Second
			pool := newPool(t, cfg)

			err := send(t, pool, "tls-1@partner.example", "")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Send = %v, want an error containing %q", err, tt.wantErr)
				}
				if errors.Is(err, ErrPermanent) {
					// A configuration or TLS problem is not the message's
					// fault: the job must be retried once it is fixed.
					t.Errorf("Send = %v: a connection set-up failure must not be ErrPermanent", err)
				}
				time.Sleep(50 * time.Millisecond) // a late DATA would show now
				if n := len(sink.Mails()); n != 0 {
					t.Fatalf("server accepted %d messages after a failed set-up", n)
				}
				t.Logf("error: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if err := send(t, pool, "tls-2@partner.example", ""); err != nil {
				t.Fatalf("second Send: %v", err)
			}
			mails := sink.Mails()
			if len(mails) != 2 {
				t.Fatalf("server accepted %d messages, want 2", len(mails))
			}
			for _, m := range mails {
				if !m.TLS {
					t.Errorf("message arrived without TLS")
				}
				if m.User != tt.wantUser {
					t.Errorf("message authenticated as %q, want %q", m.User, tt.wantUser)
				}
			}
			if st := sink.ConnStats(); st.Total != 1 {
				t.Errorf("server saw %d connections, want 1 (reuse over TLS)", st.Total)
			}
		})
	}
}

func TestSMTPPoolReplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		setup         func(*testenv.SMTP)
		recover       func(*testenv.SMTP)
		rcpt          string
		wantPermanent bool
		wantCode      string
	}{
		{
			name:          "550 unknown recipient",
			setup:         func(s *testenv.SMTP) { s.Reject("gone@customer.example") },
			recover:       func(*testenv.SMTP) {},
			rcpt:          "GONE@customer.example",
			wantPermanent: true,
			wantCode:      "550",
		},
		{
			name:     "451 try later",
			setup:    func(s *testenv.SMTP) { s.TempFail(true) },
			recover:  func(s *testenv.SMTP) { s.TempFail(false) },
			wantCode: "451",
		},
		{
			name:     "452 mailbox full",
			setup:    func(s *testenv.SMTP) { s.Full("full@customer.example") },
			recover:  func(*testenv.SMTP) {},
			rcpt:     "full@customer.example",
			wantCode: "452 4.2.2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sink := testenv.StartSMTP(t)
			pool := newPool(t, SMTPConfig{Addr: sink.Addr, PoolSize: 1, Timeout: 5 * time.Second})
			tt.setup(sink)

			err := send(t, pool, "reply-1@partner.example", tt.rcpt)
			if err == nil {
				t.Fatal("Send succeeded, want a rejection")
			}
			if got := errors.Is(err, ErrPermanent); got != tt.wantPermanent {
				t.Errorf("errors.Is(%v, ErrPermanent) = %v, want %v", err, got, tt.wantPermanent)
			}
			if !strings.Contains(err.Error(), tt.wantCode) {
				t.Errorf("error %q does not name the reply code %s", err, tt.wantCode)
			}
			// The error's text is stored with tasks and shown by readiness:
			// it names the codes, never the address the server quoted.
			if strings.Contains(err.Error(), "@") {
				t.Errorf("error %q names an address", err)
			}
			if n := len(sink.Mails()); n != 0 {
				t.Fatalf("server accepted %d messages", n)
			}

			// The connection is reset and kept: the next message goes
			// through on it.
			tt.recover(sink)
			if err := send(t, pool, "reply-2@partner.example", ""); err != nil {
				t.Fatalf("Send after the rejection: %v", err)
			}
			if ids := countIDs(t, sink.Mails()); len(ids) != 1 || ids["reply-2@partner.example"] != 1 {
				t.Errorf("server accepted %v, want only reply-2", ids)
			}
			if st := sink.ConnStats(); st.Total != 1 {
				t.Errorf("server saw %d connections, want 1: the rejected connection should be reset and reused", st.Total)
			}
		})
	}
}

func TestSMTPPoolStaleConnection(t *testing.T) {
	t.Parallel()
	const user, pass = "leadworker", "pw"
	restart := func(_ testing.TB, s *testenv.SMTP) { s.Stop(); s.Restart() }
	drop := func(t testing.TB, s *testenv.SMTP) {
		if n := s.DropConnections(); n != 1 {
			t.Fatalf("dropped %d connections, want 1", n)
		}
	}
	tests := []struct {
		name          string
		tls, implicit bool
		auth          bool
		kill          func(testing.TB, *testenv.SMTP)
	}{
		{name: "plain, server restarted", kill: restart},
		{name: "plain, idle connection closed by server", kill: drop},
		{name: "STARTTLS, server restarted", tls: true, kill: restart},
		{name: "STARTTLS with AUTH, idle connection closed by server", tls: true, auth: true, kill: drop},
		{name: "implicit TLS, server restarted", tls: true, implicit: true, kill: restart},
		{name: "implicit TLS, idle connection closed by server", tls: true, implicit: true, kill: drop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := SMTPConfig{PoolSize: 2, Timeout: 5 * time.Second}
			var sink *testenv.SMTP
			if tt.tls {
				sink = testenv.StartSMTPTLS(t, tt.implicit)
				cfg.TLS, cfg.ImplicitTLS, cfg.RequireTLS = sink.ClientTLS(), tt.implicit, true
			} else {
				sink = testenv.StartSMTP(t)
			}
			if tt.auth {
				sink.RequireAuth(user, pass)
				cfg.Username, cfg.Password = user, pass
			}
			cfg.Addr = sink.Addr
			pool := newPool(t, cfg)

			if err := send(t, pool, "stale-1@partner.example", ""); err != nil {
				t.Fatalf("first Send: %v", err)
			}
			tt.kill(t, sink)
			waitClosed(t, sink)
			time.Sleep(20 * time.Millisecond) // let the FIN reach the client

			if err := send(t, pool, "stale-2@partner.example", ""); err != nil {
				t.Fatalf("Send over a connection the server dropped: %v (want one transparent retry)", err)
			}
			if err := send(t, pool, "stale-3@partner.example", ""); err != nil {
				t.Fatalf("Send after the retry: %v", err)
			}
			ids := countIDs(t, sink.Mails())
			for _, id := range []string{"stale-1@partner.example", "stale-2@partner.example", "stale-3@partner.example"} {
				if ids[id] != 1 {
					t.Errorf("%s arrived %d times, want once (all: %v)", id, ids[id], ids)
				}
			}
			if len(ids) != 3 {
				t.Errorf("server accepted %v, want 3 distinct messages", ids)
			}
			if st := sink.ConnStats(); st.Total != 2 {
				t.Errorf("server saw %d connections, want 2 (the dropped one and its replacement)", st.Total)
			}
		})
	}
}

func TestSMTPPoolIdleTimeout(t *testing.T) {
	t.Parallel()
	sink := testenv.StartSMTP(t)
	pool := newPool(t, SMTPConfig{Addr: sink.Addr, PoolSize: 2, Timeout: 5 * time.Second, IdleTimeout: 50 * time.Millisecond})
	if err := send(t, pool, "idle-1@partner.example", ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	if err := send(t, pool, "idle-2@partner.example", ""); err != nil {
		t.Fatal(err)
	}
	st := sink.ConnStats()
	if st.Total != 2 {
		t.Errorf("server saw %d connections, want 2: an idle connection past IdleTimeout must be replaced", st.Total)
	}
	deadline := time.Now().Add(5 * time.Second)
	for sink.ConnStats().Open != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := sink.ConnStats(); st.Open != 1 {
		t.Errorf("%d connections open, want 1: the expired one must be closed", st.Open)
	}
}

func TestSMTPPoolTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	tests := []struct {
		name string
		addr func(testing.TB) string
		cfg  SMTPConfig
	}{
		{
			name: "TCP accepted, never greets",
			addr: testenv.StartSilentTCP,
		},
		{
			name: "TCP accepted, never answers the TLS handshake",
			addr: testenv.StartSilentTCP,
			cfg:  SMTPConfig{ImplicitTLS: true},
		},
		{
			name: "server stalls before accepting DATA",
			addr: func(t testing.TB) string {
				s := testenv.StartSMTP(t)
				s.Delay(2 * time.Second)
				return s.Addr
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg
			cfg.Addr, cfg.Timeout, cfg.PoolSize = tt.addr(t), timeout, 1
			pool := newPool(t, cfg)
			start := time.Now()
			done := make(chan error, 1)
			go func() { done <- send(t, pool, "timeout-1@partner.example", "") }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("Send still blocked after 10s with Timeout %v", timeout)
			}
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("Send succeeded against a silent server")
			}
			if elapsed > 3*time.Second {
				t.Errorf("Send returned after %v with Timeout %v, want < 3s", elapsed, timeout)
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("Send = %v, want a timeout error", err)
			}
			if errors.Is(err, ErrPermanent) {
				t.Errorf("a timeout must not be ErrPermanent: %v", err)
			}
			t.Logf("returned after %v: %v", elapsed.Round(time.Millisecond), err)
		})
	}
}

func TestSMTPPoolConcurrency(t *testing.T) {
	t.Parallel()
	const goroutines, perGoroutine, poolSize = 64, 20, 4
	tests := []struct {
		name string
		tls  bool
	}{
		{name: "plain"},
		{name: "STARTTLS", tls: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := SMTPConfig{PoolSize: poolSize, Timeout: 20 * time.Second}
			var sink *testenv.SMTP
			if tt.tls {
				sink = testenv.StartSMTPTLS(t, false)
				cfg.TLS, cfg.RequireTLS = sink.ClientTLS(), true
			} else {
				sink = testenv.StartSMTP(t)
			}
			cfg.Addr = sink.Addr
			pool := newPool(t, cfg)

			var wg sync.WaitGroup
			errs := make(chan error, goroutines*perGoroutine)
			for g := range goroutines {
				wg.Go(func() {
					for i := range perGoroutine {
						if err := send(t, pool, fmt.Sprintf("conc-%d-%d@partner.example", g, i), ""); err != nil {
							errs <- err
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			nerr := 0
			for err := range errs {
				if nerr++; nerr <= 5 {
					t.Errorf("Send: %v", err)
				}
			}
			if nerr > 0 {
				t.Fatalf("%d sends failed", nerr)
			}

			mails := sink.Mails()
			ids := countIDs(t, mails)
			if len(mails) != goroutines*perGoroutine || len(ids) != goroutines*perGoroutine {
				t.Errorf("server accepted %d messages with %d distinct ids, want %d", len(mails), len(ids), goroutines*perGoroutine)
			}
			for id, n := range ids {
				if n != 1 {
					t.Errorf("%s arrived %d times", id, n)
				}
			}
			for _, m := range mails {
				if m.TLS != tt.tls {
					t.Fatalf("message TLS = %v, want %v", m.TLS, tt.tls)
				}
			}
			st := sink.ConnStats()
			if st.MaxOpen > poolSize {
				t.Errorf("server saw %d connections open at once, want at most %d", st.MaxOpen, poolSize)
			}
			if st.Total > poolSize {
				t.Errorf("server saw %d connections in all, want at most %d (no connection should be dropped)", st.Total, poolSize)
			}
			t.Logf("connections: %+v", st)
		})
	}
}

// TestSMTPPoolWithAndWithoutPipelining sends the same message to a server
// that offers PIPELINING and to one that does not: both receive it byte for
// byte, dot-stuffed lines included.
func TestSMTPPoolWithAndWithoutPipelining(t *testing.T) {
	t.Parallel()
	for _, pipelining := range []bool{true, false} {
		t.Run(fmt.Sprintf("pipelining=%v", pipelining), func(t *testing.T) {
			t.Parallel()
			sink := testenv.StartSink(t)
			sink.OfferPipelining(pipelining)
			got := make(chan testenv.Mail, 2)
			sink.OnMessage(func(m testenv.Mail) { got <- m })
			pool := newPool(t, SMTPConfig{Addr: sink.Addr, PoolSize: 1, Timeout: 5 * time.Second})
			m := testMessage("pipe@partner.example")
			m.Text = "Hello\n.\n..two dots\n.leading dot\n"
			raw, err := m.Build()
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := pool.Send(context.Background(), Envelope{From: m.From, To: m.To, MessageID: m.MessageID}, raw); err != nil {
					t.Fatalf("Send: %v", err)
				}
				mail := <-got
				if mail.From != m.From || len(mail.To) != 1 || mail.To[0] != m.To || !bytes.Equal(mail.Data, raw) {
					t.Fatalf("server received MAIL FROM %q RCPT TO %q and\n%q\nwant %q, %q and\n%q", mail.From, mail.To, mail.Data, m.From, m.To, raw)
				}
			}
		})
	}
}

// TestMessageOverTheServersSize checks a message larger than the SIZE the
// server advertises: it is refused before it is sent, as too large and
// permanent, and the next message goes through on the same pool.
func TestMessageOverTheServersSize(t *testing.T) {
	t.Parallel()
	sink := testenv.StartSMTPLimited(t, 2000)
	pool := newPool(t, SMTPConfig{Addr: sink.Addr, PoolSize: 1, Timeout: 5 * time.Second})
	big := testMessage("big-1@partner.example")
	big.Text = strings.Repeat("a long line of text\n", 200)
	raw, err := big.Build()
	if err != nil {
		t.Fatal(err)
	}
	err = pool.Send(context.Background(), Envelope{From: big.From, To: big.To, MessageID: big.MessageID}, raw)
	var size *SizeError
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrPermanent) || !errors.As(err, &size) || size.Limit != 2000 {
		t.Fatalf("a %d-byte message to a 2000-byte server: %v", len(raw), err)
	}
	if err := send(t, pool, "small-1@partner.example", ""); err != nil {
		t.Fatalf("a small message after the large one: %v", err)
	}
	if n := len(sink.Mails()); n != 1 {
		t.Fatalf("server accepted %d messages, want the small one", n)
	}
}
