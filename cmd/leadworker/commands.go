package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/leadworker/leadworker/config"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/leadworker/leadworker/jobs"
	"github.com/leadworker/leadworker/worker"
)

// withTools loads the configuration, connects and runs fn; it prints errors
// and returns the exit code.
func withTools(ctx context.Context, getenv func(string) string, stderr io.Writer, fn func(*worker.Tools) error) int {
	cfg, err := config.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "leadworker: configuration error:\n%v\n", err)
		return 2
	}
	log := worker.NewLogger(cfg, stderr)
	tools, err := worker.OpenTools(ctx, cfg, log, clock.Real{})
	if err != nil {
		fmt.Fprintf(stderr, "leadworker: %v\n", err)
		return 1
	}
	defer tools.Close()
	if err := fn(tools); err != nil {
		fmt.Fprintf(stderr, "leadworker: %v\n", err)
		return 1
	}
	return 0
}

// maintenance runs one job once: leadworker maintenance <job> [--dry-run] [--at T].
func maintenance(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("maintenance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dry := fs.Bool("dry-run", false, "list what the run would change and send; change nothing")
	at := atFlag{time.Now()}
	fs.Var(&at, "at", "run as of this RFC 3339 instant (default: now)")
	job, rest := firstArg(args)
	if err := fs.Parse(rest); err != nil || fs.NArg() > 0 || tasks.ValidateJob(job) != nil {
		fmt.Fprintf(stderr, "usage: leadworker maintenance <%s> [--dry-run] [--at 2026-12-04T00:00:00Z]\n", joinJobs())
		return 2
	}
	return withTools(ctx, getenv, stderr, func(t *worker.Tools) error {
		rep, err := t.Maintenance.Run(ctx, job, at.t, *dry)
		if rep != nil {
			printReport(stdout, rep)
		}
		return err
	})
}

func firstArg(args []string) (string, []string) {
	if len(args) == 0 {
		return "", nil
	}
	return args[0], args[1:]
}

func joinJobs() string { return strings.Join(tasks.JobNames, "|") }

// atFlag is an RFC 3339 instant given with --at.
type atFlag struct{ t time.Time }

func (a *atFlag) String() string { return a.t.Format(time.RFC3339) }

func (a *atFlag) Set(s string) error {
	t, err := time.Parse(time.RFC3339, s)
	a.t = t
	return err
}

func printReport(w io.Writer, rep *jobs.Report) {
	verb := "changed"
	if rep.DryRun {
		verb = "would change (dry run, nothing changed)"
	}
	fmt.Fprintf(w, "%s at %s: %d %s\n", rep.Job, rep.At.Format(time.RFC3339), len(rep.Changes), verb)
	for _, c := range rep.Changes {
		fmt.Fprintf(w, "  %-9s %-24s %s\n", c.Action, c.LeadID, c.Detail)
	}
}

// enqueue puts a task on the queue: leadworker enqueue <type> '<payload JSON>' [--at T].
func enqueue(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("enqueue", flag.ContinueOnError)
	fs.SetOutput(stderr)
	at := atFlag{time.Now()}
	fs.Var(&at, "at", "process at this RFC 3339 instant (default: now)")
	typ, rest := firstArg(args)
	payload, rest := firstArg(rest)
	if err := fs.Parse(rest); err != nil || typ == "" || payload == "" || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "usage: leadworker enqueue <%s> '<payload JSON>' [--at T]\n  e.g. leadworker enqueue maintenance:run '{\"job\":\"expire\"}'\n", joinTypes())
		return 2
	}
	return withTools(ctx, getenv, stderr, func(t *worker.Tools) error {
		res, err := t.Queue.EnqueueTask(ctx, typ, json.RawMessage(payload), at.t, time.Now())
		if err == nil {
			fmt.Fprintf(stdout, "enqueued %s as %s, to run at %s\n", res.Type, res.TaskID, res.ProcessAt.Format(time.RFC3339))
		}
		return err
	})
}

func joinTypes() string { return strings.Join(tasks.TaskTypes, "|") }
