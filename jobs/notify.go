package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/metrics"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/leadworker/leadworker/mailer"
	"github.com/leadworker/leadworker/templates"
	"github.com/sirupsen/logrus"
)

// sendLockTTL bounds how long a crashed sender can block a message.
const sendLockTTL = 2 * time.Minute

// errBusy asks asynq to try later: another worker is sending this message.
var errBusy = errors.New("another worker is sending this message")

// NotifyConfig is what the notification handlers need to know.
type NotifyConfig struct {
	From      string // the From address; its domain ends every Message-ID
	LeadURL   string // link to a lead, "{id}" replaced by its id
	Threshold int    // leads per recipient and day emailed one by one
	// DigestMaxLeads is the most leads one digest email lists; a longer
	// digest goes out in parts. 0 means DefaultDigestMaxLeads.
	DigestMaxLeads int
	DigestAt       time.Duration // time of day the digest goes out, after midnight
	ExpireAfter    time.Duration // how long a lead waits for an answer, as emails tell it
	AlertAfter     time.Duration // how long a contact request is urgent, as emails tell it
	// RemindAfter and RemindBefore are when reminders go out, as they tell it.
	RemindAfter, RemindBefore time.Duration
}

// expireDays and alertHours are the configured periods as emails state
// them, rounded to whole days and hours (at least 1).
func (c NotifyConfig) expireDays() int {
	return max(1, int((c.ExpireAfter+12*time.Hour)/(24*time.Hour)))
}
func (c NotifyConfig) alertHours() int { return max(1, wholeHours(c.AlertAfter)) }

// wholeHours is d rounded to whole hours, at least 1 (0 when d is not set).
func wholeHours(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return max(1, int((d+30*time.Minute)/time.Hour))
}

// Notifier handles the notification tasks: new-lead emails, digests and
// closing notices.
type Notifier struct {
	store *store.Store
	queue *tasks.Queue
	mail  *mailer.Mailer
	clock clock.Clock
	log   *logrus.Logger
	cfg   NotifyConfig
	stats *metrics.Metrics
}

// NewNotifier returns the notification handlers.
func NewNotifier(store *store.Store, queue *tasks.Queue, mail *mailer.Mailer, clk clock.Clock, log *logrus.Logger, cfg NotifyConfig) *Notifier {
	return &Notifier{store: store, queue: queue, mail: mail, clock: clk, log: log, cfg: cfg}
}

// SetMetrics makes the handlers count what they send.
func (n *Notifier) SetMetrics(m *metrics.Metrics) { n.stats = m }

// count records the outcome of one send of a notice type. A server's
// reply text, which may quote an address, is logged at debug level only.
func (n *Notifier) count(notice string, err error) {
	var reply *mailer.ReplyError
	if errors.As(err, &reply) {
		n.log.WithFields(logrus.Fields{"notice": notice, "smtp_code": reply.Code, "smtp_reply": reply.Text}).Debug("mail server refused a message")
	}
	switch {
	case err == nil:
		n.stats.EmailSent(notice)
	case errors.Is(err, mailer.ErrTooLarge):
		n.stats.EmailFailed(notice, "too_large")
	case errors.Is(err, mailer.ErrPermanent):
		n.stats.EmailFailed(notice, "permanent")
	default:
		n.stats.EmailRetried(notice)
	}
}

// Register adds the handlers to mux.
func (n *Notifier) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(tasks.TypeNotify, n.giveUp(n.HandleNotify, n.notifyGaveUp))
	mux.HandleFunc(tasks.TypeNotifyBatch, n.giveUp(n.HandleNotifyBatch, n.notifyGaveUp))
	mux.HandleFunc(tasks.TypeDigest, n.HandleDigest)
	mux.HandleFunc(tasks.TypeClosing, n.giveUp(n.HandleClosing, n.closingGaveUp))
	mux.HandleFunc(tasks.TypeClosingBatch, n.giveUp(n.HandleClosingBatch, n.closingGaveUp))
	mux.HandleFunc(tasks.TypeReminder, n.giveUp(n.HandleReminder, n.reminderGaveUp))
}

func decodePayload(t *asynq.Task, dst any) error {
	if err := json.Unmarshal(t.Payload(), dst); err != nil {
		return fmt.Errorf("%s: bad payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	return nil
}

func (n *Notifier) leadLog(l *leadworker.Lead) *logrus.Entry {
	return n.log.WithFields(logrus.Fields{"lead_id": l.ID, "partner_id": l.PartnerID})
}

// announced reports whether a lead's announcement has ended.
func announced(l *leadworker.Lead) bool {
	nt := l.Notification
	return nt != nil && (nt.SentAt != nil || nt.Error != "" || nt.Via == "feed")
}

func (n *Notifier) entry(typ string, l *leadworker.Lead, rcpt string) *leadworker.FeedEntry {
	return &leadworker.FeedEntry{Type: typ, LeadIDs: []string{l.ID}, Recipient: rcpt, At: n.clock.Now().UTC()}
}

func (n *Notifier) sendTo(ctx context.Context, l *leadworker.Lead, rcpt leadworker.Recipient) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	email, err := templates.Render(templates.NewLead, rcpt.Locale, templates.NewLeadData{RecipientName: rcpt.Name, Lead: n.view(l, rcpt.Locale),
		ExpireDays: n.cfg.expireDays(), AlertHours: n.cfg.alertHours()})
	if err != nil {
		return err
	}
	id := "lead-" + l.ID + ".new"
	if rcpt.Source == leadworker.SourceDefault && l.Location != "" {
		id += ".default"
	}
	err = n.mail.Send(ctx, n.message(rcpt.Email, id, email, l.ID))
	n.count("new_lead", err)
	return err
}

func (n *Notifier) message(to, id string, e templates.Email, leadIDs ...string) *mailer.Message {
	return &mailer.Message{From: n.cfg.From, To: to, Subject: e.Subject, Text: e.Text, HTML: e.HTML,
		MessageID: id + "@" + n.domain(), Headers: map[string]string{"X-Leadworker-Leads": strings.Join(leadIDs, " ")}}
}

func (n *Notifier) domain() string {
	if i := strings.LastIndexByte(n.cfg.From, '@'); i >= 0 {
		return n.cfg.From[i+1:]
	}
	return "localhost"
}

// view is what an email shows of a lead, labels in locale.
func (n *Notifier) view(l *leadworker.Lead, locale string) templates.LeadView {
	label := func(prefix, v string) string {
		if v == "" {
			return ""
		}
		return templates.Label(locale, prefix+v)
	}
	return templates.LeadView{
		ID: l.ID, URL: strings.ReplaceAll(n.cfg.LeadURL, "{id}", l.ID), Company: l.Customer.Company,
		Kind: label("kind.", string(l.Kind)), LeadType: label("lead_type.", string(l.LeadType)),
		CallToAction: label("cta.", string(l.CallToAction)), Source: label("source.", l.Source),
		Country: l.Customer.Country, Need: l.Need, EmailValidity: label("validity.", l.EmailValidity),
		PhoneValidity: label("validity.", l.PhoneValidity), ContactRequested: l.ContactRequested,
		Spam: l.IsSpam(), CreatedAt: l.CreatedAt,
	}
}
