// Command leadworker is the lead notification and expiry worker of a partner
// referrals system. It only wires things together: configuration, then the
// daemon, then run until a signal, then a graceful shutdown.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones for recipients, also in images without zoneinfo

	"github.com/leadworker/leadworker/config"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/worker"
	"github.com/redis/go-redis/v9"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `leadworker: the lead notification and expiry worker

Usage:
  leadworker serve                          run the daemon (HTTP API, task worker, scheduler) until SIGINT/SIGTERM
  leadworker maintenance <job> [--dry-run] [--at T]
                                            run one maintenance job once: expire, archive-offers,
                                            contact-alerts, reminders, digests
  leadworker enqueue <type> '<payload>' [--at T]
                                            enqueue a known task type
  leadworker preview --template NAME --locale L [--out FILE]
                                            render a sample email to a file
  leadworker healthcheck                    exit 0 when the local daemon is ready (for container health checks)
  leadworker version                        print the version

Configuration comes from LEADWORKER_* environment variables; see docs/CONFIGURATION.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// Main runs one subcommand and returns the process exit code.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(ctx, getenv, stderr)
	case "maintenance":
		return maintenance(ctx, args[1:], getenv, stdout, stderr)
	case "enqueue":
		return enqueue(ctx, args[1:], getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, getenv, stdout, stderr)
	case "preview":
		return preview(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "leadworker", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "leadworker: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// serve runs the daemon until ctx is done, then shuts it down.
func serve(ctx context.Context, getenv func(string) string, stderr io.Writer) int {
	cfg, err := config.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "leadworker: configuration error:\n%v\n", err)
		return 2
	}
	log := worker.NewLogger(cfg, stderr)
	redis.SetLogger(worker.RedisLogger(log))
	d := worker.New(cfg, log, clock.Real{})
	if err := d.Open(ctx); err != nil {
		log.WithError(err).Error("leadworker could not start")
		_ = d.Close()
		return 1
	}
	code := 0
	select {
	case <-ctx.Done():
		log.Info("signal received: shutting down")
	case err := <-d.Err():
		log.WithError(err).Error("HTTP server failed: shutting down")
		code = 1
	}
	if err := d.Close(); err != nil {
		log.WithError(err).Error("shutdown was not clean")
		code = 1
	}
	return code
}
