// Package config loads leadworker's configuration from LEADWORKER_*
// environment variables, fills in defaults and validates it, so that a bad
// value stops start-up with a message naming the variable.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/leadworker/leadworker/internal/redisconn"
	"github.com/leadworker/leadworker/mailer"
	"github.com/robfig/cron/v3"
	"github.com/sirupsen/logrus"
)

// Config is everything the daemon can be told.
type Config struct {
	// RedisURL is redis://, rediss://, redis-sentinel:// or
	// redis-cluster://; empty starts an embedded, in-memory Redis that keeps
	// nothing across restarts.
	RedisURL string
	// Redis is RedisURL parsed; nil when embedded.
	Redis *redisconn.Target
	// KeyPrefix starts every Redis key of the lead store.
	KeyPrefix string
	// HTTPAddr is the API's listen address.
	HTTPAddr string
	// HTTPReadTimeout bounds reading a whole request, headers and body.
	HTTPReadTimeout time.Duration
	// HTTPMaxConns caps the API's open connections.
	HTTPMaxConns int
	// APITokens are accepted by the intake and partner endpoints.
	APITokens []string
	// AdminTokens are accepted by /admin/ endpoints.
	AdminTokens []string
	// LogLevel is a logrus level name.
	LogLevel logrus.Level
	// LogFormat is "json", "text" or "auto" (text on a terminal, else JSON).
	LogFormat string
	// Concurrency is the number of tasks the worker runs at once.
	Concurrency int
	// MaxRetry is how many times an email task is retried after a
	// temporary failure before the failure is recorded for good.
	MaxRetry int
	// ShutdownTimeout bounds the drain of HTTP requests and running tasks.
	ShutdownTimeout time.Duration
	// SMTP is the mail server; nil writes mail to OutboxDir instead.
	SMTP *mailer.SMTPConfig
	// OutboxDir receives .eml files when no SMTP server is configured.
	OutboxDir string
	// MailFrom is the From address of every email.
	MailFrom string
	// LeadURL links to a lead; "{id}" is replaced by its id.
	LeadURL string
	// DigestThreshold is how many leads per recipient and day are emailed
	// one by one before the rest wait for the digest.
	DigestThreshold int
	// DigestMaxLeads is the most leads one part of a digest lists.
	DigestMaxLeads int
	// DigestAt is the time of day (after midnight, recipient's time zone)
	// the digest of the previous day goes out.
	DigestAt time.Duration
	// ExpireAfter is how long a received lead waits for an answer.
	ExpireAfter time.Duration
	// ContactAlertAfter is how long a contact request shows as urgent.
	ContactAlertAfter time.Duration
	// RemindAfter is when the first reminder goes out; 0 sends none.
	RemindAfter time.Duration
	// RemindBeforeExpiry is how long before expiry the second reminder goes
	// out; 0 sends none.
	RemindBeforeExpiry time.Duration
	// OfferArchiveMonths is the age in calendar months at which
	// informational offer leads are archived.
	OfferArchiveMonths int
	// Schedule runs the maintenance jobs from this replica's cron.
	Schedule bool
	// Cron holds each maintenance job's schedule.
	Cron map[string]string
}

// CronParser reads schedules: five fields (minute to weekday), an optional
// leading seconds field, or descriptors such as @hourly and @every 30s.
var CronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Var describes one environment variable for the documentation and errors.
type Var struct {
	Name    string
	Default string
	Help    string
	parse   func(c *Config, v string) error
}

// Vars lists every variable the daemon reads, with its default.
var Vars = []Var{
	{"LEADWORKER_REDIS_URL", "", "Redis to use: redis://[user:pass@]host:port/db (rediss:// for TLS), redis-sentinel://[:pass@]host:26379,host:26380/master[?db=N], or redis-cluster://[:pass@]host:7000,host:7001. Empty: an embedded in-memory Redis (nothing survives a restart).", parseRedisURL},
	{"LEADWORKER_KEY_PREFIX", "leadworker:", "Prefix of every lead-store key in Redis.", parsePrefix},
	{"LEADWORKER_HTTP_ADDR", "127.0.0.1:8080", "Listen address of the HTTP API. Without tokens only a loopback address is allowed.", parseAddr},
	{"LEADWORKER_HTTP_READ_TIMEOUT", "60s", "Time a client has to send a whole request, headers and body together (Go duration); a client still sending then is cut off. A 16 MiB batch at 60 s needs about 2.2 Mbit/s.", durationVar(func(c *Config) *time.Duration { return &c.HTTPReadTimeout }, false)},
	{"LEADWORKER_HTTP_MAX_CONNS", "1024", "Open connections the API accepts at most (1-100000); past that a new connection is answered 503 and closed.", parseMaxConns},
	{"LEADWORKER_API_TOKENS", "", "Comma-separated bearer tokens for /v1/ endpoints.", parseTokens(func(c *Config) *[]string { return &c.APITokens })},
	{"LEADWORKER_ADMIN_TOKENS", "", "Comma-separated bearer tokens for /admin/ endpoints.", parseTokens(func(c *Config) *[]string { return &c.AdminTokens })},
	{"LEADWORKER_LOG_LEVEL", "info", "One of trace, debug, info, warn, error.", parseLevel},
	{"LEADWORKER_LOG_FORMAT", "auto", "json, text, or auto (text on a terminal, JSON otherwise).", parseFormat},
	{"LEADWORKER_CONCURRENCY", "10", "Tasks processed at once by this replica (1-1000).", parseConcurrency},
	{"LEADWORKER_MAX_RETRY", "20", "Retries of an email after a temporary failure (0-100), 2 s apart and doubling up to 10 minutes: 20 span about two hours. Then the failure is recorded on the lead.", parseMaxRetry},
	{"LEADWORKER_SHUTDOWN_TIMEOUT", "10s", "The one budget of a shutdown: in-flight requests and running tasks drain together within it (Go duration, e.g. 30s).", parseShutdown},
	{"LEADWORKER_SMTP_URL", "", "Mail server: smtp://[user:pass@]host:port (STARTTLS when offered; add ?tls=required to insist) or smtps://host:465 (implicit TLS). Empty: write .eml files to LEADWORKER_OUTBOX_DIR.", parseSMTPURL},
	{"LEADWORKER_SMTP_POOL", "8", "SMTP connections kept open at most (1-256).", parseSMTPPool},
	{"LEADWORKER_SMTP_TIMEOUT", "10s", "Bound on each SMTP dial and each message transaction.", parseSMTPTimeout},
	{"LEADWORKER_OUTBOX_DIR", "./outbox", "Folder for .eml files when LEADWORKER_SMTP_URL is empty.", parseOutbox},
	{"LEADWORKER_MAIL_FROM", "leadworker@localhost", "From address of every email; its domain ends every Message-ID.", parseMailFrom},
	{"LEADWORKER_LEAD_URL", "http://127.0.0.1:8080/v1/leads/{id}", "Link to a lead in emails; {id} is replaced by the lead id.", parseLeadURL},
	{"LEADWORKER_DIGEST_THRESHOLD", "10", "Leads per recipient and day emailed one by one; later ones wait for the digest (1-10000).", parseThreshold},
	{"LEADWORKER_DIGEST_MAX_LEADS", "200", "Leads one digest email lists at most (1-10000); a longer digest goes out in parts, each saying which part it is.", parseDigestMax},
	{"LEADWORKER_DIGEST_AT", "08:00", "Time of day (HH:MM, recipient's time zone) when the previous day's digest goes out.", parseDigestAt},
	{"LEADWORKER_EXPIRE_AFTER", "14d", "Age at which a received lead expires (Go duration or days, e.g. 336h or 14d).", durationVar(func(c *Config) *time.Duration { return &c.ExpireAfter }, false)},
	{"LEADWORKER_CONTACT_ALERT_AFTER", "72h", "Age at which a contact request's alert turns overdue.", durationVar(func(c *Config) *time.Duration { return &c.ContactAlertAfter }, false)},
	{"LEADWORKER_REMIND_AFTER", "24h", "Age at which an unanswered lead's first reminder goes out; 0 sends none.", durationVar(func(c *Config) *time.Duration { return &c.RemindAfter }, true)},
	{"LEADWORKER_REMIND_BEFORE_EXPIRY", "48h", "How long before expiry the second reminder goes out; 0 sends none.", durationVar(func(c *Config) *time.Duration { return &c.RemindBeforeExpiry }, true)},
	{"LEADWORKER_OFFER_ARCHIVE_MONTHS", "6", "Age in calendar months at which informational offer leads are archived (1-120).", parseOfferMonths},
	{"LEADWORKER_SCHEDULE", "on", "on: this replica's cron triggers the maintenance jobs (each tick runs once across replicas); off: an external scheduler runs `leadworker maintenance`.", parseSchedule},
	{"LEADWORKER_CRON_EXPIRE", "* * * * *", "Schedule of the expire job (cron, UTC; an optional leading seconds field).", cronVar("expire")},
	{"LEADWORKER_CRON_ARCHIVE_OFFERS", "0 3 * * *", "Schedule of the archive-offers job.", cronVar("archive-offers")},
	{"LEADWORKER_CRON_CONTACT_ALERTS", "* * * * *", "Schedule of the contact-alerts job.", cronVar("contact-alerts")},
	{"LEADWORKER_CRON_REMINDERS", "* * * * *", "Schedule of the reminders job.", cronVar("reminders")},
	{"LEADWORKER_CRON_DIGESTS", "* * * * *", "Schedule of the digests job (also re-enqueues work whose enqueue was lost).", cronVar("digests")},
}

// Load reads the configuration through getenv (os.Getenv in production) and
// returns every bad value at once, each naming its variable.
func Load(getenv func(string) string) (*Config, error) {
	c := &Config{}
	var errs []error
	for _, v := range Vars {
		val := strings.TrimSpace(getenv(v.Name))
		if val == "" {
			val = v.Default
		}
		if err := v.parse(c, val); err != nil {
			errs = append(errs, fmt.Errorf("%s%s: %w", v.Name, shown(v.Name, val), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, c.validate()
}

// shown renders a value for an error message; secrets are never shown.
func shown(name, val string) string {
	switch name {
	case "LEADWORKER_REDIS_URL", "LEADWORKER_API_TOKENS", "LEADWORKER_ADMIN_TOKENS", "LEADWORKER_SMTP_URL":
		return ""
	}
	return fmt.Sprintf("=%q", val)
}

// Embedded reports whether the daemon runs its own in-memory Redis.
func (c *Config) Embedded() bool { return c.RedisURL == "" }

// validate checks rules that span variables.
func (c *Config) validate() error {
	if c.RemindBeforeExpiry >= c.ExpireAfter {
		return fmt.Errorf("LEADWORKER_REMIND_BEFORE_EXPIRY (%v) must be shorter than LEADWORKER_EXPIRE_AFTER (%v)", c.RemindBeforeExpiry, c.ExpireAfter)
	}
	if len(c.APITokens) == 0 && len(c.AdminTokens) == 0 && !IsLoopback(c.HTTPAddr) {
		return fmt.Errorf("LEADWORKER_HTTP_ADDR=%q listens beyond this machine but no LEADWORKER_API_TOKENS or LEADWORKER_ADMIN_TOKENS are set: set tokens, or listen on 127.0.0.1", c.HTTPAddr)
	}
	return nil
}

// IsLoopback reports whether a listen address only accepts local
// connections.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func parseRedisURL(c *Config, v string) error {
	if v == "" {
		return nil
	}
	t, err := redisconn.Parse(v)
	if err != nil {
		return err
	}
	c.RedisURL, c.Redis = v, t
	return nil
}

// StorePrefix is the prefix of the lead store's keys. On a Cluster it is a
// hash tag, so that every key a script touches lives in one slot: the lead
// store then lives on one master (asynq spreads its queues over slots).
func (c *Config) StorePrefix() string {
	if c.Redis != nil && c.Redis.Kind == "cluster" {
		return "{" + strings.TrimSuffix(c.KeyPrefix, ":") + "}:"
	}
	return c.KeyPrefix
}

func parsePrefix(c *Config, v string) error {
	if strings.ContainsAny(v, " {}\t\r\n") {
		return errors.New("must not contain spaces or braces")
	}
	c.KeyPrefix = v
	return nil
}

func parseAddr(c *Config, v string) error {
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		return errors.New("must be host:port, such as 127.0.0.1:8080 or :8080")
	}
	c.HTTPAddr = v
	return nil
}

func parseTokens(field func(*Config) *[]string) func(*Config, string) error {
	return func(c *Config, v string) error {
		var tokens []string
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "" {
				continue
			}
			if len(t) < 16 {
				return errors.New("each token must be at least 16 characters long")
			}
			tokens = append(tokens, t)
		}
		*field(c) = tokens
		return nil
	}
}

func parseLevel(c *Config, v string) error {
	l, err := logrus.ParseLevel(v)
	if err != nil {
		return errors.New("must be one of trace, debug, info, warn, error")
	}
	c.LogLevel = l
	return nil
}

func parseFormat(c *Config, v string) error {
	switch v {
	case "auto", "json", "text":
		c.LogFormat = v
		return nil
	}
	return errors.New("must be auto, json or text")
}

func parseMaxRetry(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 100 {
		return errors.New("must be a whole number from 0 to 100")
	}
	c.MaxRetry = n
	return nil
}

func parseMaxConns(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100000 {
		return errors.New("must be a whole number from 1 to 100000")
	}
	c.HTTPMaxConns = n
	return nil
}

func parseConcurrency(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return errors.New("must be a whole number from 1 to 1000")
	}
	c.Concurrency = n
	return nil
}

func parseShutdown(c *Config, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return errors.New("must be a positive Go duration such as 10s or 1m")
	}
	c.ShutdownTimeout = d
	return nil
}

func parseSMTPURL(c *Config, v string) error {
	if v == "" {
		return nil
	}
	smtp, err := mailer.ParseSMTPURL(v)
	if err != nil {
		return err
	}
	c.SMTP = &smtp
	return nil
}

// parseSMTPPool and parseSMTPTimeout run after parseSMTPURL (Vars order)
// and only matter when an SMTP server is configured.
func parseSMTPPool(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 256 {
		return errors.New("must be a whole number from 1 to 256")
	}
	if c.SMTP != nil {
		c.SMTP.PoolSize = n
	}
	return nil
}

func parseSMTPTimeout(c *Config, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return errors.New("must be a positive Go duration such as 10s")
	}
	if c.SMTP != nil {
		c.SMTP.Timeout = d
	}
	return nil
}

func parseOutbox(c *Config, v string) error {
	c.OutboxDir = v
	return nil
}

func parseMailFrom(c *Config, v string) error {
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v {
		return errors.New("must be a plain email address such as leads@partner-portal.example")
	}
	c.MailFrom = v
	return nil
}

func parseLeadURL(c *Config, v string) error {
	u, err := url.Parse(strings.ReplaceAll(v, "{id}", "x"))
	if err != nil || !strings.Contains(v, "{id}") || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an http(s) URL containing {id}, such as https://portal.example/referrals/leads/{id}")
	}
	c.LeadURL = v
	return nil
}

func parseDigestMax(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10000 {
		return errors.New("must be a whole number from 1 to 10000")
	}
	c.DigestMaxLeads = n
	return nil
}

func parseThreshold(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10000 {
		return errors.New("must be a whole number from 1 to 10000")
	}
	c.DigestThreshold = n
	return nil
}

func parseDigestAt(c *Config, v string) error {
	t, err := time.Parse("15:04", v)
	if err != nil {
		return errors.New("must be a time of day as HH:MM, such as 08:00")
	}
	c.DigestAt = time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
	return nil
}

// durationVar parses a Go duration or a whole number of days ("14d").
func durationVar(field func(*Config) *time.Duration, zeroOK bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if days, ok := strings.CutSuffix(v, "d"); ok {
			var n int
			n, err = strconv.Atoi(days)
			d = time.Duration(n) * 24 * time.Hour
		}
		if err != nil || d < 0 || (d == 0 && !zeroOK) {
			return errors.New("must be a positive Go duration such as 72h or a number of days such as 14d")
		}
		*field(c) = d
		return nil
	}
}

func parseOfferMonths(c *Config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 120 {
		return errors.New("must be a whole number of months from 1 to 120")
	}
	c.OfferArchiveMonths = n
	return nil
}

func parseSchedule(c *Config, v string) error {
	switch v {
	case "on", "off":
		c.Schedule = v == "on"
		return nil
	}
	return errors.New("must be on or off")
}

func cronVar(job string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if _, err := CronParser.Parse(v); err != nil {
			return fmt.Errorf("is not a schedule: %v", err)
		}
		if c.Cron == nil {
			c.Cron = map[string]string{}
		}
		c.Cron[job] = v
		return nil
	}
}
