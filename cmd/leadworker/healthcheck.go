package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/leadworker/leadworker/config"
)

// healthcheck asks the local daemon's /readyz and exits 0 when it is ready:
// a HEALTHCHECK for containers whose image has no shell or curl.
func healthcheck(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "leadworker: configuration error:\n%v\n", err)
		return 2
	}
	host, port, _ := net.SplitHostPort(cfg.HTTPAddr)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/readyz", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "not ready: %v\n", err)
		return 1
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	if res.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "not ready: %s %s\n", res.Status, body)
		return 1
	}
	fmt.Fprintln(stdout, "ready")
	return 0
}
