package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/leadworker/leadworker/config"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/metrics"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/leadworker/leadworker/mailer"
	"github.com/leadworker/leadworker/worker/httpapi"
	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"
)

// taskCheckInterval is how often an idle asynq server looks for new tasks;
// asynq's default of one second would delay every notification by up to that.
const taskCheckInterval = 100 * time.Millisecond

// Daemon is a running leadworker: Redis, the asynq server and the HTTP API.
type Daemon struct {
	cfg   *config.Config
	log   *logrus.Logger
	clock clock.Clock

	embedded  *miniredis.Miniredis // nil unless no Redis URL is configured
	rdb       redis.UniversalClient
	store     *store.Store
	mail      *mailer.Mailer
	client    *asynq.Client
	tasks     *asynq.Server
	sched     *scheduler
	inspector *asynq.Inspector
	http      *http.Server
	ln        net.Listener
	metrics   *metrics.Metrics
	monitor   *asynqmon.HTTPHandler
	serveErr  chan error
	running   sync.WaitGroup // task handlers still running, even those asynq gave up on
	closeOnce sync.Once
	closeErr  error
}

// stopIntake stops the scheduler and the task server's fetching together.
func (d *Daemon) stopIntake() {
	var wg sync.WaitGroup
	if d.sched != nil {
		wg.Go(d.sched.stop)
	}
	if d.tasks != nil {
		wg.Go(d.tasks.Stop)
	}
	wg.Wait()
}

// drain lets in-flight requests and task handlers finish, concurrently,
// until deadline.
func (d *Daemon) drain(deadline time.Time) error {
	var wg sync.WaitGroup
	var httpErr error
	if d.http != nil {
		wg.Go(func() {
			ctx, cancel := context.WithDeadline(context.Background(), deadline)
			defer cancel()
			httpErr = d.http.Shutdown(ctx)
		})
	}
	if d.tasks != nil {
		wg.Go(d.tasks.Shutdown) // bounded by asynq's ShutdownTimeout: the same budget
	}
	wg.Wait()
	if !waitFor(&d.running, time.Until(deadline)) {
		d.log.Warn("task handlers still running after the shutdown timeout; closing anyway")
	}
	return httpErr
}

// waitFor waits for wg up to timeout and reports whether it finished.
func waitFor(wg *sync.WaitGroup, timeout time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	if timeout <= 0 {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// New returns a daemon for cfg; Open starts it.
func New(cfg *config.Config, log *logrus.Logger, clk clock.Clock) *Daemon {
	return &Daemon{cfg: cfg, log: log, clock: clk, metrics: metrics.New(), serveErr: make(chan error, 1)}
}

// Open connects to Redis, starts the task server and starts serving HTTP.
// The listener is bound before Open returns, so a taken port fails here.
func (d *Daemon) Open(ctx context.Context) error {
	if err := d.openRedis(ctx); err != nil {
		return err
	}
	d.store = store.NewStore(d.rdb, d.cfg.StorePrefix(), d.clock)
	if err := d.store.Load(ctx); err != nil {
		return err
	}
	if err := d.openMailer(); err != nil {
		return err
	}
	if err := d.startTasks(); err != nil {
		return err
	}
	if err := d.startScheduler(); err != nil {
		return err
	}
	return d.listen()
}

func (d *Daemon) startScheduler() error {
	if !d.cfg.Schedule {
		d.log.Info("LEADWORKER_SCHEDULE=off: maintenance jobs run only when enqueued or run by hand")
		return nil
	}
	s, err := newScheduler(d.cfg, tasks.NewQueue(d.client), d.log, d.clock)
	if err != nil {
		return err
	}
	d.sched = s
	s.start()
	return nil
}

func (d *Daemon) openRedis(ctx context.Context) error {
	if d.cfg.Embedded() {
		m, err := miniredis.Run()
		if err != nil {
			return fmt.Errorf("start embedded Redis: %w", err)
		}
		d.embedded = m
		d.rdb = redis.NewClient(&redis.Options{Addr: m.Addr()})
		d.log.Warn("LEADWORKER_REDIS_URL is not set: using an embedded in-memory Redis; NOTHING SURVIVES A RESTART. Set LEADWORKER_REDIS_URL for production.")
		return nil
	}
	rdb, err := connect(ctx, d.cfg)
	d.rdb = rdb
	return err
}

// connect opens the configured Redis and checks that it answers.
func connect(ctx context.Context, cfg *config.Config) (redis.UniversalClient, error) {
	rdb := cfg.Redis.Client()
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		return rdb, fmt.Errorf("connect to Redis (%s): %w", cfg.Redis, err)
	}
	return rdb, nil
}

// openMailer sends through the configured SMTP server, or into the outbox.
func (d *Daemon) openMailer() error {
	if d.cfg.SMTP != nil {
		d.mail = mailer.New(mailer.NewSMTPPool(*d.cfg.SMTP))
		return nil
	}
	outbox, err := mailer.NewOutbox(d.cfg.OutboxDir)
	if err != nil {
		return fmt.Errorf("LEADWORKER_OUTBOX_DIR: %w", err)
	}
	d.mail = mailer.New(outbox)
	d.log.WithField("dir", d.cfg.OutboxDir).Warn("LEADWORKER_SMTP_URL is not set: emails are written as .eml files to the outbox folder, not sent")
	return nil
}

func (d *Daemon) startTasks() error {
	d.client = asynq.NewClientFromRedisClient(d.rdb)
	d.tasks = asynq.NewServerFromRedisClient(d.rdb, asynq.Config{
		Concurrency:       d.cfg.Concurrency,
		Queues:            tasks.Queues,
		RetryDelayFunc:    tasks.RetryDelay,
		ShutdownTimeout:   d.cfg.ShutdownTimeout,
		TaskCheckInterval: taskCheckInterval,
		Logger:            d.log.WithField("component", "asynq"),
		LogLevel:          asynqLevel(d.log.GetLevel()),
	})
	d.inspector = asynq.NewInspectorFromRedisClient(d.rdb)
	d.metrics.WatchQueues(d.inspector)
	if err := d.tasks.Start(d.handlers()); err != nil {
		return fmt.Errorf("start task server: %w", err)
	}
	return nil
}

func asynqLevel(l logrus.Level) asynq.LogLevel {
	switch {
	case l >= logrus.DebugLevel:
		return asynq.DebugLevel
	case l >= logrus.InfoLevel:
		return asynq.InfoLevel
	case l >= logrus.WarnLevel:
		return asynq.WarnLevel
	}
	return asynq.ErrorLevel
}

func (d *Daemon) listen() error {
	ln, err := net.Listen("tcp", d.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on LEADWORKER_HTTP_ADDR %s: %w", d.cfg.HTTPAddr, err)
	}
	d.ln = limitConns(ln, d.cfg.HTTPMaxConns)
	if err := d.openMonitor(); err != nil {
		return err
	}
	api := httpapi.New(httpapi.Deps{Store: d.store, Queue: tasks.NewQueue(d.client).WithMaxRetry(d.cfg.MaxRetry), Inspector: d.inspector, Log: d.log,
		Clock: d.clock, Metrics: d.metrics, Monitor: d.monitor, Mail: d.mail, APITokens: d.cfg.APITokens, AdminTokens: d.cfg.AdminTokens,
		ExpireAfter: d.cfg.ExpireAfter, AlertAfter: d.cfg.ContactAlertAfter})
	if api.Open() {
		d.log.Warn("no LEADWORKER_API_TOKENS or LEADWORKER_ADMIN_TOKENS set: the API accepts every request and listens on loopback only")
	}
	// ReadTimeout bounds a whole request, body included: a client dribbling
	// a byte at a time is cut off at the deadline, not kept alive by each
	// byte.
	d.http = &http.Server{Handler: api, ReadHeaderTimeout: min(10*time.Second, d.cfg.HTTPReadTimeout),
		ReadTimeout: d.cfg.HTTPReadTimeout, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := d.http.Serve(d.ln); !errors.Is(err, http.ErrServerClosed) {
			d.serveErr <- fmt.Errorf("serve HTTP: %w", err)
		}
	}()
	d.log.WithField("addr", ln.Addr().String()).Info("leadworker is serving")
	return nil
}

// openMonitor prepares the asynq web monitor on the daemon's Redis.
func (d *Daemon) openMonitor() error {
	var opt asynq.RedisConnOpt
	if d.embedded != nil {
		opt = asynq.RedisClientOpt{Addr: d.embedded.Addr()}
	} else {
		opt = d.cfg.Redis.AsynqOpt()
	}
	d.monitor = asynqmon.New(asynqmon.Options{RootPath: httpapi.MonitorPath, RedisConnOpt: opt})
	return nil
}

// Addr is the address the API listens on (useful with port 0).
func (d *Daemon) Addr() string { return d.ln.Addr().String() }

// Err delivers a failure of the HTTP server after Open.
func (d *Daemon) Err() <-chan error { return d.serveErr }

// Store returns the daemon's lead store.
func (d *Daemon) Store() *store.Store { return d.store }

// Close shuts the daemon down gracefully within the configured shutdown
// timeout. It is safe to call after a failed Open, and more than once.
func (d *Daemon) Close() error {
	d.closeOnce.Do(func() { d.closeErr = d.close() })
	return d.closeErr
}

// close shuts down in three steps under one budget, the configured
// shutdown timeout, so a shutdown takes about that long at most:
//
//  1. Stop taking new work, all at once: no more maintenance ticks from
//     this replica, no more tasks fetched from the queues.
//  2. Drain, concurrently and under one deadline: in-flight HTTP requests
//     finish (nothing a client was told is stored goes missing), running
//     task handlers finish (asynq puts back any still running at the
//     deadline), and handlers asynq stopped waiting for, which it cannot
//     stop, get the rest of the budget to record what they sent.
//  3. Close what the work used: the mail connections, then Redis.
func (d *Daemon) close() error {
	d.stopIntake()
	errs := []error{d.drain(time.Now().Add(d.cfg.ShutdownTimeout))}
	if d.mail != nil {
		errs = append(errs, d.mail.Close())
	}
	if d.monitor != nil {
		errs = append(errs, d.monitor.Close())
	}
	if d.rdb != nil {
		errs = append(errs, d.rdb.Close())
	}
	if d.embedded != nil {
		d.embedded.Close()
	}
	d.log.Info("leadworker stopped")
	return errors.Join(errs...)
}
