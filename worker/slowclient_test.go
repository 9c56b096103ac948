package worker_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// startRequest opens a connection to the daemon and sends a lead intake's
// headers, announcing a body of n bytes that it does not send.
func startRequest(t *testing.T, e *env, n string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", e.daemon.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, "POST /v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+e.token+
		"\r\nContent-Type: application/json\r\nContent-Length: "+n+"\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestSlowRequestBodyIsCutOff checks that a client dribbling its body a
// byte every 100 ms is cut off once LEADWORKER_HTTP_READ_TIMEOUT (1 s) has
// passed since its request began, not kept alive by each byte.
func TestSlowRequestBodyIsCutOff(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_HTTP_READ_TIMEOUT", "1s")
	start := time.Now()
	conn := startRequest(t, e, "100000")
	go func() {
		for {
			time.Sleep(100 * time.Millisecond)
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.Copy(io.Discard, conn) // until the server closes the connection
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("a dribbling client kept its connection for %v with a 1s read timeout", took.Round(time.Millisecond))
	}
}

// TestConnectionsPastTheCapAreRefused checks LEADWORKER_HTTP_MAX_CONNS: with
// three connections held open, a fourth is answered 503 and closed; once
// one closes, requests are served again.
func TestConnectionsPastTheCapAreRefused(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_HTTP_MAX_CONNS", "3")
	held := []net.Conn{startRequest(t, e, "10"), startRequest(t, e, "10"), startRequest(t, e, "10")}
	// Until the server has accepted all three, a fourth may still be served.
	waitFor(t, func() bool { return healthz(t, e) == http.StatusServiceUnavailable })
	held[0].Close()
	waitFor(t, func() bool { return healthz(t, e) == http.StatusOK })
}

// healthz asks GET /healthz on a connection of its own and returns the
// status.
func healthz(t *testing.T, e *env) int {
	t.Helper()
	conn, err := net.Dial("tcp", e.daemon.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	res.Body.Close()
	return res.StatusCode
}
