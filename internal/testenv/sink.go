package testenv

import (
	"bufio"
	"bytes"
	"net"
	"strings"
	"sync"
	"testing"
)

// Sink is a lean SMTP server for benchmarks. It speaks the part of SMTP a
// client sending plain mail needs (EHLO or HELO, MAIL, RCPT, DATA, RSET,
// NOOP, QUIT, with PIPELINING) over real TCP and accepts every message,
// reading each line in place, so that the sink costs a benchmark that shares
// its CPUs little.
// Tests that need TLS, AUTH, rejections or outages use SMTP.
type Sink struct {
	Addr string

	ln        net.Listener
	mu        sync.Mutex
	onMessage func(Mail)
	plain     bool // do not offer PIPELINING
	conns     sync.WaitGroup
}

// StartSink starts a Sink on a free loopback port, stopped when tb ends.
func StartSink(tb testing.TB) *Sink {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen for the SMTP sink: %v", err)
	}
	s := &Sink{Addr: ln.Addr().String(), ln: ln}
	go s.accept()
	tb.Cleanup(s.stop)
	return s
}

// OnMessage calls fn with every message accepted from now on, from the
// connection's goroutine.
func (s *Sink) OnMessage(fn func(Mail)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onMessage = fn
}

// OfferPipelining sets whether EHLO offers PIPELINING (it does at first),
// for connections opened from now on.
func (s *Sink) OfferPipelining(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plain = !on
}

func (s *Sink) stop() {
	_ = s.ln.Close()
	s.conns.Wait()
}

func (s *Sink) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.conns.Go(func() { s.serve(c) })
	}
}

// serve runs one SMTP session.
func (s *Sink) serve(c net.Conn) {
	defer c.Close()
	r, w := bufio.NewReaderSize(c, 64<<10), bufio.NewWriter(c)
	var m Mail
	reply := func(line string) error { // flushed once the client waits (PIPELINING)
		_, _ = w.WriteString(line + "\r\n")
		if r.Buffered() > 0 {
			return nil
		}
		return w.Flush()
	}
	if reply("220 sink.test ESMTP") != nil {
		return
	}
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(strings.TrimRight(string(line), "\r\n"), " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			err = reply(s.ehlo())
		case "MAIL":
			m = Mail{From: address(arg)}
			err = reply("250 OK")
		case "RCPT":
			m.To = append(m.To, address(arg))
			err = reply("250 OK")
		case "DATA":
			err = s.data(r, reply, m)
		case "RSET":
			m = Mail{}
			err = reply("250 OK")
		case "NOOP":
			err = reply("250 OK")
		case "QUIT":
			_ = reply("221 bye")
			return
		default:
			err = reply("502 command not implemented")
		}
		if err != nil {
			return
		}
	}
}

func (s *Sink) ehlo() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.plain {
		return "250 sink.test"
	}
	return "250-sink.test\r\n250 PIPELINING"
}

// data reads one message up to the line holding a single dot, undoing the
// dot-stuffing, and hands it to the OnMessage function.
func (s *Sink) data(r *bufio.Reader, reply func(string) error, m Mail) error {
	if err := reply("354 end data with <CR><LF>.<CR><LF>"); err != nil {
		return err
	}
	var buf bytes.Buffer
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if string(line) == ".\r\n" {
			break
		}
		if line[0] == '.' {
			line = line[1:]
		}
		buf.Write(line)
	}
	m.Data = buf.Bytes()
	s.mu.Lock()
	fn := s.onMessage
	s.mu.Unlock()
	if fn != nil {
		fn(m)
	}
	return reply("250 OK: queued")
}

// address takes the address out of "FROM:<a@b> BODY=8BITMIME".
func address(arg string) string {
	_, rest, _ := strings.Cut(arg, "<")
	a, _, _ := strings.Cut(rest, ">")
	return a
}
