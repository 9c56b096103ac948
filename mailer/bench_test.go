package mailer

import (
	"context"
	"net/textproto"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jordan-wright/email"
	"github.com/leadworker/leadworker/internal/testenv"
)

const benchGoroutines = 16

// benchMessage is the small message both benchmarks send.
func benchMessage() *Message {
	return &Message{
		From:      "leads@partner.example",
		To:        "sales@customer.example",
		Subject:   "New lead: ACME",
		Text:      "Hello,\nthere is a new lead.\n",
		HTML:      "<p>Hello,</p><p>there is a new lead.</p>",
		MessageID: "bench@partner.example",
	}
}

// runSends calls send b.N times in all from benchGoroutines goroutines,
// checks the sink got every message and reports msgs/s.
func runSends(b *testing.B, sink *testenv.SMTP, send func() error) {
	b.Helper()
	before := len(sink.Mails())
	var next, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for range benchGoroutines {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := send(); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d sends failed, first: %v", n, b.N, firstErr.Load())
	}
	if got := len(sink.Mails()) - before; got != b.N {
		b.Fatalf("sink got %d messages, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkSMTPPoolSend builds and sends through Mailer and SMTPPool (16
// connections) from 16 goroutines.
func BenchmarkSMTPPoolSend(b *testing.B) {
	sink := testenv.StartSMTP(b)
	pool := NewSMTPPool(SMTPConfig{Addr: sink.Addr, PoolSize: benchGoroutines, Timeout: 10 * time.Second})
	defer pool.Close()
	ml := New(pool)
	m := benchMessage()
	ctx := context.Background()
	runSends(b, sink, func() error { return ml.Send(ctx, m) })
}

// BenchmarkBareEmailPool sends the same message through jordan-wright/email's
// own Pool (16 connections), which builds the message on every Send too.
func BenchmarkBareEmailPool(b *testing.B) {
	if raceDetector {
		b.Skip("jordan-wright/email's Pool has a data race on its connection counter; run this benchmark without -race")
	}
	sink := testenv.StartSMTP(b)
	p, err := email.NewPool(sink.Addr, benchGoroutines, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	m := benchMessage()
	e := email.NewEmail()
	e.From, e.To, e.Subject = m.From, []string{m.To}, m.Subject
	e.Text, e.HTML = []byte(m.Text), []byte(m.HTML)
	e.Headers = textproto.MIMEHeader{"Message-Id": {"<" + m.MessageID + ">"}}
	runSends(b, sink, func() error { return p.Send(e, 10*time.Second) })
}
