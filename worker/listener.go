package worker

import (
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// limitListener accepts at most cap(sem) connections at once. Past that it
// answers a new connection 503 and closes it, so a client learns why
// rather than waiting in the accept queue.
type limitListener struct {
	net.Listener
	sem chan struct{}
}

// limitConns returns ln accepting at most max connections at once.
func limitConns(ln net.Listener, max int) net.Listener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, max)}
}

// Accept returns the next connection there is room for.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.sem <- struct{}{}:
			return &limitedConn{Conn: c, release: sync.OnceFunc(func() { <-l.sem })}, nil
		default:
			go refuseConn(c)
		}
	}
}

// tooManyConns is the whole answer to a connection past the cap.
var tooManyConns = func() string {
	body := `{"error":{"code":"unavailable","message":"too many open connections; try again in a moment"}}` + "\n"
	return "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n" +
		"Content-Type: application/json; charset=utf-8\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}()

func refuseConn(c net.Conn) {
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = io.WriteString(c, tooManyConns)
	_ = c.Close()
}

// limitedConn gives its place back when closed.
type limitedConn struct {
	net.Conn
	release func()
}

// Close closes the connection and frees its place.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
