package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one message an SMTP server accepted.
type Mail struct {
	From string
	To   []string
	Data []byte
	TLS  bool   // the message came over TLS (STARTTLS or implicit)
	User string // the user that authenticated, if any
}

// SMTP is a real SMTP server on a loopback port, run in-process. It accepts
// every message unless told to reject a recipient permanently or to answer
// every transaction with a temporary failure.
type SMTP struct {
	Addr string
	tb   testing.TB

	mu        sync.Mutex
	server    *smtp.Server
	mails     []Mail
	reject    map[string]bool // recipients answered with 550
	full      map[string]bool // recipients answered with 452
	maxBytes  int64           // the SIZE the server advertises and enforces
	hold      func(Mail) bool // accepted messages whose reply is withheld
	held      chan struct{}   // closed when the withheld replies go out
	tempFail  bool            // answer 451 to every MAIL FROM
	delay     time.Duration   // pause before accepting DATA
	onMessage func(Mail)

	// Set by StartSMTPTLS before serving; read only afterwards.
	tlsConfig *tls.Config // server side; nil: no TLS at all
	implicit  bool        // TLS from the first byte instead of STARTTLS

	requireTLS         bool // answer 530 to MAIL outside TLS
	authUser, authPass string
	open               map[*countedConn]struct{}
	maxOpen, total     int

	// CertPool holds the self-signed certificate of a server started with
	// StartSMTPTLS (nil otherwise).
	CertPool *x509.CertPool
}

// StartSMTP starts an SMTP server on a free loopback port, stopped when the
// test ends. It takes messages of up to 10 MiB (EHLO advertises SIZE).
func StartSMTP(tb testing.TB) *SMTP {
	tb.Helper()
	return StartSMTPLimited(tb, 10<<20)
}

// StartSMTPLimited is StartSMTP with a server that takes messages of at
// most maxBytes, as EHLO's SIZE says, and answers 552 to a larger one.
func StartSMTPLimited(tb testing.TB, maxBytes int64) *SMTP {
	tb.Helper()
	s := &SMTP{tb: tb, reject: map[string]bool{}, full: map[string]bool{}, maxBytes: maxBytes}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen for SMTP: %v", err)
	}
	s.Addr = l.Addr().String()
	s.serve(l)
	tb.Cleanup(s.Stop)
	return s
}

func (s *SMTP) serve(l net.Listener) {
	l = &countingListener{Listener: l, s: s}
	s.mu.Lock()
	tlsConfig, implicit := s.tlsConfig, s.implicit
	s.mu.Unlock()
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s, conn: c}, nil }))
	srv.Domain = "sink.test"
	srv.AllowInsecureAuth = true
	switch {
	case tlsConfig != nil && implicit:
		l = tls.NewListener(l, tlsConfig)
		srv.AllowInsecureAuth = false
	case tlsConfig != nil:
		srv.TLSConfig = tlsConfig // offers STARTTLS
		srv.AllowInsecureAuth = false
	}
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.MaxMessageBytes = s.maxBytes
	s.mu.Lock()
	s.server = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// Stop closes the server and every open connection: clients see the server
// go down.
func (s *SMTP) Stop() {
	s.mu.Lock()
	srv := s.server
	s.server = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Restart starts the server again on the same address after Stop.
func (s *SMTP) Restart() {
	s.tb.Helper()
	var l net.Listener
	var err error
	for range 100 { // the port may linger for a moment
		if l, err = net.Listen("tcp", s.Addr); err == nil {
			s.serve(l)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.tb.Fatalf("restart SMTP on %s: %v", s.Addr, err)
}

// Reject makes the server refuse rcpt with a permanent 550.
func (s *SMTP) Reject(rcpt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject[strings.ToLower(rcpt)] = true
}

// Full makes the server answer rcpt with a temporary 452 (mailbox full),
// quoting the address as real servers do.
func (s *SMTP) Full(rcpt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.full[strings.ToLower(rcpt)] = true
}

// TempFail makes the server answer every new transaction with 451 (on) or
// accept again (off).
func (s *SMTP) TempFail(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tempFail = on
}

// Delay makes the server wait d before accepting each message.
func (s *SMTP) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// OnMessage calls fn, outside the server's lock, for every accepted message.
func (s *SMTP) OnMessage(fn func(Mail)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onMessage = fn
}

// Mails returns the messages accepted so far.
func (s *SMTP) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// WaitFor waits until at least n messages were accepted and returns them,
// failing the test after timeout.
func (s *SMTP) WaitFor(n int, timeout time.Duration) []Mail {
	s.tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		mails := s.Mails()
		if len(mails) >= n {
			return mails
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("SMTP sink got %d messages within %v, want %d", len(mails), timeout, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type session struct {
	s    *SMTP
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if _, isTLS := x.conn.TLSConnectionState(); x.s.requireTLS && !isTLS {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "must issue a STARTTLS command first"}
	}
	if x.s.authUser != "" && x.user == "" {
		return smtp.ErrAuthRequired
	}
	if x.s.tempFail {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	// Real servers quote the address in their reply, as these do.
	if x.s.reject[strings.ToLower(to)] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + to + ">: Recipient address rejected: no such mailbox"}
	}
	if x.s.full[strings.ToLower(to)] {
		return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "<" + to + ">: mailbox full"}
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(x.to) == 0 {
		return errors.New("no recipients")
	}
	x.s.mu.Lock()
	delay := x.s.delay
	x.s.mu.Unlock()
	time.Sleep(delay)
	_, isTLS := x.conn.TLSConnectionState()
	m := Mail{From: x.from, To: x.to, Data: data, TLS: isTLS, User: x.user}
	x.s.mu.Lock()
	x.s.mails = append(x.s.mails, m)
	fn, hold, held := x.s.onMessage, x.s.hold, x.s.held
	x.s.mu.Unlock()
	if fn != nil {
		fn(m)
	}
	if hold != nil && hold(m) {
		<-held // accepted, but the sender does not hear so yet
	}
	return nil
}

// HoldReplies makes the server, once it has accepted a message that match
// selects, withhold its reply until release is called: the sender cannot
// know the message went through, as when it dies or its timeout ends
// first.
func (s *SMTP) HoldReplies(match func(Mail) bool) (release func()) {
	held := make(chan struct{})
	s.mu.Lock()
	s.hold, s.held = match, held
	s.mu.Unlock()
	return sync.OnceFunc(func() {
		s.mu.Lock()
		s.hold = nil
		s.mu.Unlock()
		close(held)
	})
}

// StartSMTPTLS starts an SMTP server like StartSMTP that speaks TLS with a
// self-signed certificate for 127.0.0.1, ::1 and localhost, generated for
// this server: implicit TLS from the first byte (smtps) when implicit is
// true, otherwise STARTTLS offered in EHLO. AUTH is only offered over TLS.
// Clients trust the server with CertPool or ClientTLS.
func StartSMTPTLS(tb testing.TB, implicit bool) *SMTP {
	tb.Helper()
	cert, pool, err := selfSigned()
	if err != nil {
		tb.Fatalf("certificate for SMTP: %v", err)
	}
	s := &SMTP{tb: tb, reject: map[string]bool{}, full: map[string]bool{}, maxBytes: 10 << 20, CertPool: pool, implicit: implicit,
		tlsConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen for SMTP: %v", err)
	}
	s.Addr = l.Addr().String()
	s.serve(l)
	tb.Cleanup(s.Stop)
	return s
}

// ClientTLS returns a new client configuration that trusts this server's
// certificate and names the server 127.0.0.1.
func (s *SMTP) ClientTLS() *tls.Config {
	return &tls.Config{RootCAs: s.CertPool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// RequireTLS makes the server refuse MAIL with 530 on a connection that is
// not encrypted (on) or accept it again (off).
func (s *SMTP) RequireTLS(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requireTLS = on
}

// RequireAuth offers AUTH PLAIN, accepts only user and pass, and refuses
// MAIL with 530 before a successful AUTH. A server from StartSMTPTLS offers
// AUTH only over TLS.
func (s *SMTP) RequireAuth(user, pass string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authUser, s.authPass = user, pass
}

// ConnStats counts the server's TCP connections.
type ConnStats struct {
	Open    int // open now
	MaxOpen int // most open at once
	Total   int // accepted so far
}

// ConnStats returns the connection counts, across Stop and Restart.
func (s *SMTP) ConnStats() ConnStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ConnStats{Open: len(s.open), MaxOpen: s.maxOpen, Total: s.total}
}

// DropConnections closes every open client connection from the server's
// side without a reply, as a server does with idle clients, and keeps
// listening. It returns how many it closed.
func (s *SMTP) DropConnections() int {
	s.mu.Lock()
	conns := make([]*countedConn, 0, len(s.open))
	for c := range s.open {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	return len(conns)
}

// StartSilentTCP listens on a free loopback port, accepts TCP connections
// and never sends a byte: an SMTP server that never greets. Everything is
// closed when the test ends. It returns the address.
func StartSilentTCP(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	tb.Cleanup(func() {
		_ = l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

func (x *session) AuthMechanisms() []string {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if x.s.authUser == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		x.s.mu.Lock()
		ok := x.s.authUser != "" && user == x.s.authUser && pass == x.s.authPass
		x.s.mu.Unlock()
		if !ok || (identity != "" && identity != user) {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "invalid credentials"}
		}
		x.user = user
		return nil
	}), nil
}

// countingListener tracks the connections it accepts in s.
type countingListener struct {
	net.Listener
	s *SMTP
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countedConn{Conn: c, s: l.s}
	l.s.mu.Lock()
	if l.s.open == nil {
		l.s.open = map[*countedConn]struct{}{}
	}
	l.s.open[cc] = struct{}{}
	l.s.total++
	l.s.maxOpen = max(l.s.maxOpen, len(l.s.open))
	l.s.mu.Unlock()
	return cc, nil
}

type countedConn struct {
	net.Conn
	s    *SMTP
	once sync.Once
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.open, c)
		c.s.mu.Unlock()
	})
	return err
}

// selfSigned makes a certificate for the loopback names and a pool trusting
// it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "sink.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
