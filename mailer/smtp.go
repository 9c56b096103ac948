package mailer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SMTPConfig says how to reach the SMTP server.
type SMTPConfig struct {
	Addr        string // host:port
	ImplicitTLS bool   // smtps://: TLS from the first byte (port 465)
	RequireTLS  bool   // refuse to send unless STARTTLS succeeds
	Username    string
	Password    string
	PoolSize    int           // connections kept open at most
	Timeout     time.Duration // bound on each dial and each transaction
	IdleTimeout time.Duration // idle connections older than this are closed
	TLS         *tls.Config   // nil: the system roots, server name from Addr
	LocalName   string        // name sent in EHLO
}

// ParseSMTPURL reads smtp://[user:pass@]host[:port][?tls=required] or
// smtps://[user:pass@]host[:port].
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") {
		return SMTPConfig{}, errors.New("must be smtp://[user:pass@]host:port or smtps://[user:pass@]host:port")
	}
	c := SMTPConfig{ImplicitTLS: u.Scheme == "smtps", Addr: u.Host}
	if u.Port() == "" {
		c.Addr = net.JoinHostPort(u.Hostname(), map[bool]string{true: "465", false: "587"}[c.ImplicitTLS])
	}
	switch tlsMode := u.Query().Get("tls"); tlsMode {
	case "", "opportunistic":
	case "required":
		c.RequireTLS = true
	default:
		return SMTPConfig{}, fmt.Errorf("tls=%q: use tls=required or leave it out", tlsMode)
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	return c, nil
}

// SMTPPool sends messages over a bounded pool of SMTP connections. Every
// dial and every transaction has a deadline; an idle connection that the
// server dropped is replaced and the message sent again once.
type SMTPPool struct {
	cfg  SMTPConfig
	host string
	sem  chan struct{}
	idle chan *smtpConn
}

type smtpConn struct {
	client     *smtp.Client
	conn       net.Conn
	lastUsed   time.Time
	pipelining bool   // the server offers PIPELINING (RFC 2920)
	sizeLimit  int64  // the SIZE the server advertised (RFC 1870); 0 for none
	mailParams string // what net/smtp adds to MAIL FROM for the server's extensions
}

// NewSMTPPool returns a pool for cfg; it connects lazily.
func NewSMTPPool(cfg SMTPConfig) *SMTPPool {
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 8
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Second
	}
	if cfg.LocalName == "" {
		cfg.LocalName = "localhost"
	}
	host, _, _ := net.SplitHostPort(cfg.Addr)
	return &SMTPPool{cfg: cfg, host: host, sem: make(chan struct{}, cfg.PoolSize), idle: make(chan *smtpConn, cfg.PoolSize)}
}

// Send delivers raw to env.To. A 5xx reply is returned wrapping
// ErrPermanent; anything else (4xx, network) is worth retrying.
func (p *SMTPPool) Send(ctx context.Context, env Envelope, raw []byte) error {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.sem }()
	c, reused, err := p.get(ctx)
	if err != nil {
		return err
	}
	err = c.send(p.cfg.Timeout, env, raw)
	if reused && isStale(err) {
		c.close()
		if c, err = p.dial(ctx); err != nil {
			return err
		}
		err = c.send(p.cfg.Timeout, env, raw)
	}
	p.release(c, err)
	return classify(err)
}

// get takes a fresh-enough idle connection or dials a new one.
func (p *SMTPPool) get(ctx context.Context) (*smtpConn, bool, error) {
	for {
		select {
		case c := <-p.idle:
			if time.Since(c.lastUsed) < p.cfg.IdleTimeout {
				return c, true, nil
			}
			c.close()
		default:
			c, err := p.dial(ctx)
			return c, false, err
		}
	}
}

// release keeps a healthy connection for the next message.
func (p *SMTPPool) release(c *smtpConn, sendErr error) {
	var reply *textproto.Error
	if sendErr != nil && !(errors.As(sendErr, &reply) && c.reset(p.cfg.Timeout) == nil) {
		// Broken, timed out or out of step: close without QUIT, which
		// would wait up to another second for a reply that will not come.
		_ = c.conn.Close()
		return
	}
	c.lastUsed = time.Now()
	select {
	case p.idle <- c:
	default:
		c.close()
	}
}

func (p *SMTPPool) dial(ctx context.Context) (*smtpConn, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", p.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("smtp: dial %s: %w", p.cfg.Addr, err)
	}
	_ = conn.SetDeadline(time.Now().Add(p.cfg.Timeout))
	if p.cfg.ImplicitTLS {
		conn = tls.Client(conn, p.tlsConfig())
	}
	c, err := p.handshake(conn)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("smtp: %s: %w", p.cfg.Addr, err)
	}
	return newSMTPConn(c, conn), nil
}

// handshake greets the server, upgrades to TLS as configured and logs in.
func (p *SMTPPool) handshake(conn net.Conn) (*smtp.Client, error) {
	c, err := smtp.NewClient(conn, p.host)
	if err != nil {
		return nil, err
	}
	if err := c.Hello(p.cfg.LocalName); err != nil {
		return nil, err
	}
	if !p.cfg.ImplicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(p.tlsConfig()); err != nil {
				return nil, fmt.Errorf("STARTTLS: %w", err)
			}
		} else if p.cfg.RequireTLS {
			return nil, errors.New("the server does not offer STARTTLS and tls=required is set")
		}
	}
	if p.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", p.cfg.Username, p.cfg.Password, p.host)); err != nil {
			return nil, fmt.Errorf("AUTH: %w", err)
		}
	}
	return c, nil
}

func (p *SMTPPool) tlsConfig() *tls.Config {
	if p.cfg.TLS != nil {
		return p.cfg.TLS
	}
	return &tls.Config{ServerName: p.host, MinVersion: tls.VersionTLS12}
}

// newSMTPConn wraps a greeted client, noting the extensions sends use.
func newSMTPConn(c *smtp.Client, conn net.Conn) *smtpConn {
	sc := &smtpConn{client: c, conn: conn}
	sc.pipelining, _ = c.Extension("PIPELINING")
	if ok, param := c.Extension("SIZE"); ok {
		sc.sizeLimit, _ = strconv.ParseInt(strings.TrimSpace(param), 10, 64)
	}
	if ok, _ := c.Extension("8BITMIME"); ok {
		sc.mailParams += " BODY=8BITMIME"
	}
	if ok, _ := c.Extension("SMTPUTF8"); ok {
		sc.mailParams += " SMTPUTF8"
	}
	return sc
}

// send runs one mail transaction within timeout.
func (c *smtpConn) send(timeout time.Duration, env Envelope, raw []byte) error {
	if c.sizeLimit > 0 && int64(len(raw)) > c.sizeLimit {
		return &SizeError{Size: int64(len(raw)), Limit: c.sizeLimit}
	}
	_ = c.conn.SetDeadline(time.Now().Add(timeout))
	if c.pipelining {
		return c.sendPipelined(env, raw)
	}
	if err := c.client.Mail(env.From); err != nil {
		return err
	}
	if err := c.client.Rcpt(env.To); err != nil {
		return err
	}
	return c.data(raw)
}

// sendPipelined sends MAIL, RCPT and DATA in one write and then reads their
// replies in order (RFC 2920), saving two round trips per message.
func (c *smtpConn) sendPipelined(env Envelope, raw []byte) error {
	if strings.ContainsAny(env.From+env.To, "\r\n") {
		return errors.New("smtp: an address contains CR or LF")
	}
	text := c.client.Text
	fmt.Fprintf(text.W, "MAIL FROM:<%s>%s\r\nRCPT TO:<%s>\r\nDATA\r\n", env.From, c.mailParams, env.To)
	if err := text.W.Flush(); err != nil {
		return err
	}
	var first error
	dataOK := false
	for i, want := range []int{250, 25, 354} { // as net/smtp: RCPT may answer 251
		_, _, err := text.ReadResponse(want)
		if err != nil && first == nil {
			first = err
		}
		dataOK = i == 2 && err == nil
	}
	switch {
	case first != nil && !dataOK:
		return first // DATA refused: the transaction is over
	case first != nil: // DATA accepted after a refusal: end it without a message
		_, _ = text.W.WriteString(".\r\n")
		if err := text.W.Flush(); err != nil {
			return err
		}
		_, _, _ = text.ReadResponse(250)
		return first
	}
	if err := writeDotted(text.W, raw); err != nil {
		return err
	}
	_, _, err := text.ReadResponse(250)
	return err
}

// data runs the DATA command. It does what net/smtp's Data writer does
// (dot-stuffing, CRLF line ends, the closing dot) a line rather than a byte
// at a time: messages are about 12 KB.
func (c *smtpConn) data(raw []byte) error {
	text := c.client.Text
	id, err := text.Cmd("DATA")
	if err != nil {
		return err
	}
	text.StartResponse(id)
	_, _, err = text.ReadResponse(354)
	text.EndResponse(id)
	if err != nil {
		return err
	}
	if err := writeDotted(text.W, raw); err != nil {
		return err
	}
	_, _, err = text.ReadResponse(250)
	return err
}

// writeDotted writes msg as the body of a DATA command: every line ended by
// CRLF, a line starting with a dot given another, then the closing dot.
func writeDotted(w *bufio.Writer, msg []byte) error {
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > 0 && line[0] == '.' {
			_ = w.WriteByte('.')
		}
		_, _ = w.Write(line)
		_, _ = w.WriteString("\r\n")
	}
	_, _ = w.WriteString(".\r\n")
	return w.Flush()
}

func (c *smtpConn) reset(timeout time.Duration) error {
	_ = c.conn.SetDeadline(time.Now().Add(timeout))
	return c.client.Reset()
}

func (c *smtpConn) close() {
	_ = c.conn.SetDeadline(time.Now().Add(time.Second))
	_ = c.client.Quit()
	_ = c.conn.Close()
}

// Close closes the idle connections.
func (p *SMTPPool) Close() error {
	for {
		select {
		case c := <-p.idle:
			c.close()
		default:
			return nil
		}
	}
}

// isStale reports errors of a connection the server already closed.
func isStale(err error) bool {
	var reply *textproto.Error
	if errors.As(err, &reply) {
		return reply.Code == 421
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// classify turns a server's reply into a ReplyError (permanent for a 5xx)
// and marks other failures as the transport's.
func classify(err error) error {
	var reply *textproto.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &reply):
		return newReplyError(reply.Code, reply.Msg)
	}
	return fmt.Errorf("smtp: %w", err)
}
