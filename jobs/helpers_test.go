package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/leadworker/leadworker/internal/testenv"
	"github.com/leadworker/leadworker/internal/testenv/mailtest"
	"github.com/leadworker/leadworker/jobs"
	"github.com/leadworker/leadworker/mailer"
	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"
)

// t0 is where the simulated clock starts: 07:00 on 12 March 2091 in Tokyo.
// It lies far ahead of the real clock, so asynq keeps a digest task
// scheduled for its send time instead of making it pending at once.
var t0 = time.Date(2091, 3, 11, 22, 0, 0, 0, time.UTC)

var tokyo = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		panic(err)
	}
	return loc
}()

// jst is a wall-clock time of a day in Tokyo, the partners' time zone.
func jst(day string, hour, minute int) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, day, tokyo)
	if err != nil {
		panic(err)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), hour, minute, 0, 0, tokyo)
}

// Addresses of the fixtures.
const (
	domain         = "portal.example"
	tokyoContact   = "tokyo@fabrikam.example"  // P-100, location tokyo
	osakaContact   = "osaka@fabrikam.example"  // P-100, location osaka (Japanese)
	defaultContact = "leads@fabrikam.example"  // P-100's default contact
	preferredEmail = "ops@northwind.example"   // P-200's preferred email
	customerEmail  = "ana@contoso.example"     // every lead's customer, unless changed
	originatorMail = "marketer@vendor.example" // every qualified lead's originator
)

// notifyConfig is the handlers' configuration: two leads a day one by one,
// the digest at 08:00 the next morning.
var notifyConfig = jobs.NotifyConfig{
	From: "leads@" + domain, LeadURL: "https://" + domain + "/leads/{id}", Threshold: 2, DigestAt: 8 * time.Hour,
	ExpireAfter: 14 * 24 * time.Hour, AlertAfter: 72 * time.Hour, RemindAfter: 24 * time.Hour, RemindBefore: 48 * time.Hour,
}

// maintenanceConfig is the maintenance jobs' configuration, production's
// defaults.
var maintenanceConfig = jobs.MaintenanceConfig{
	ExpireAfter: 14 * 24 * time.Hour, OfferArchiveAfter: 6, AlertAfter: 72 * time.Hour,
	RemindAfter: 24 * time.Hour, RemindBefore: 48 * time.Hour,
}

// env is one test's world: a store under the test's own key prefix, a
// queue, the handlers and the maintenance jobs wired as worker/tasks.go
// wires them, a recording mail sender and a simulated clock.
type env struct {
	t        *testing.T
	ctx      context.Context
	rdb      *redis.Client
	prefix   string
	store    *store.Store
	queue    *tasks.Queue
	notifier *jobs.Notifier
	maint    *jobs.Maintenance
	mail     *mailtest.Recorder
	clock    *clock.Simulated
	insp     *asynq.Inspector // nil unless the test has a redis-server of its own
}

// newEnv returns an env on the package's shared redis-server. Its asynq
// tasks share that server with other tests', so it must not inspect them.
func newEnv(t *testing.T) *env {
	t.Helper()
	return build(t, testenv.SharedRedis(t), false)
}

// newQueueEnv returns an env on a redis-server of its own, with an asynq
// Inspector to read what was enqueued.
func newQueueEnv(t *testing.T) *env {
	t.Helper()
	return build(t, testenv.StartRedis(t).Client(), true)
}

func build(t *testing.T, rdb *redis.Client, own bool) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), rdb: rdb, prefix: testenv.KeyPrefix(t),
		mail: mailtest.NewRecorder(), clock: clock.NewSimulated(t0)}
	e.store = store.NewStore(rdb, e.prefix, e.clock)
	if err := e.store.Load(e.ctx); err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { client.Close() })
	if own {
		e.insp = asynq.NewInspectorFromRedisClient(rdb)
		t.Cleanup(func() { e.insp.Close() })
	}
	log := logrus.New()
	logs := &syncBuffer{}
	log.SetOutput(logs)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("handler log:\n%s", logs.String())
		}
	})
	e.queue = tasks.NewQueue(client)
	e.notifier = jobs.NewNotifier(e.store, e.queue, mailer.New(e.mail), e.clock, log, notifyConfig)
	e.maint = jobs.NewMaintenance(e.store, e.queue, e.clock, log, maintenanceConfig)
	e.partners()
	return e
}

// syncBuffer is a log output safe for the handlers' goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// partners describes P-100 (Fabrikam: a default contact and the contacts of
// its tokyo and osaka locations, all in Tokyo time) and P-200 (Northwind:
// contacts, and a preferred email that wins over them). P-999 is never
// described: nobody receives its leads.
func (e *env) partners() {
	e.t.Helper()
	contact := func(email, name, locale string) leadworker.Contact {
		return leadworker.Contact{Email: email, Name: name, Locale: locale, TimeZone: "Asia/Tokyo"}
	}
	def := contact(defaultContact, "Fabrikam", "en")
	_, err := e.store.PutContacts(e.ctx, "P-100", leadworker.Contacts{Default: &def, Locations: map[string]leadworker.Contact{
		"tokyo": contact(tokyoContact, "Fabrikam Tokyo", "en"), "osaka": contact(osakaContact, "大阪営業部", "ja")}})
	if err != nil {
		e.t.Fatal(err)
	}
	nw := contact("sales@northwind.example", "Northwind", "en")
	if _, err := e.store.PutContacts(e.ctx, "P-200", leadworker.Contacts{Default: &nw,
		Locations: map[string]leadworker.Contact{"taipei": contact("taipei@northwind.example", "Northwind Taipei", "en")}}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.PutPreferences(e.ctx, "P-200", leadworker.Preferences{PreferredEmail: preferredEmail}); err != nil {
		e.t.Fatal(err)
	}
}

// leadOpt changes the intake a test lead is made from.
type leadOpt func(*leadworker.Intake)

// createdAt backdates the lead.
func createdAt(t time.Time) leadOpt { return func(in *leadworker.Intake) { in.CreatedAt = &t } }

// forPartner sends the lead to a partner and location ("" for none).
func forPartner(pid, location string) leadOpt {
	return func(in *leadworker.Intake) { in.PartnerID, in.Location = pid, location }
}

// informational makes the lead an informational offer lead (test drive).
func informational(in *leadworker.Intake) { in.CallToAction = leadworker.CTATestDrive }

// qualified makes the lead a marketing-qualified lead from a vendor
// marketer: its closing notice goes to the originator.
func qualified(in *leadworker.Intake) {
	in.Kind, in.LeadType, in.CallToAction = leadworker.KindMarketingQualified, leadworker.LeadTypeProfile, ""
	in.Originator = &leadworker.Person{Name: "Vendor Marketer", Email: originatorMail}
}

// spam makes the lead potential spam.
func spam(in *leadworker.Intake) { in.Quality = "low" }

// noCustomerEmail leaves the customer without an address.
func noCustomerEmail(in *leadworker.Intake) { in.Customer.Email = "" }

// customerIn sets the customer's country, which picks their language.
func customerIn(country string) leadOpt {
	return func(in *leadworker.Intake) { in.Customer.Country = country }
}

// customerAt sets the customer's email address.
func customerAt(email string) leadOpt {
	return func(in *leadworker.Intake) { in.Customer.Email = email }
}

// noContactRequest makes a lead whose customer did not ask to be contacted.
func noContactRequest(in *leadworker.Intake) { in.ContactRequested = false }

// intake is a customer inquiry for P-100's tokyo location, created an hour
// ago, with the changes of opts.
func (e *env) intake(id string, opts ...leadOpt) leadworker.Intake {
	created := e.clock.Now().Add(-time.Hour)
	in := leadworker.Intake{
		ID: id, PartnerID: "P-100", Location: "tokyo",
		Kind: leadworker.KindCustomerInquiry, LeadType: leadworker.LeadTypeOffer, CallToAction: leadworker.CTAContactMe,
		Source:   "azure_marketplace",
		Customer: leadworker.Customer{Company: "Contoso Ltd", Name: "Ana Silva", Email: customerEmail, Phone: "+1-206-555-0100", Country: "US"},
		Need:     "Migrate 40 VMs to the cloud",
		Quality:  "high", EmailValidity: "valid", PhoneValidity: "unknown",
		ContactRequested: true, CreatedAt: &created,
	}
	for _, o := range opts {
		o(&in)
	}
	return in
}

// create stores one lead, taken in alone (its pending work is notify:<id>).
func (e *env) create(id string, opts ...leadOpt) *leadworker.Lead {
	e.t.Helper()
	r := e.store.Create(e.ctx, e.intake(id, opts...))
	if r.Err != nil || !r.Created {
		e.t.Fatalf("create %s: created %v, %v", id, r.Created, r.Err)
	}
	return r.Lead
}

// lead reads a lead back from the store.
func (e *env) lead(id string) *leadworker.Lead {
	e.t.Helper()
	l, err := e.store.Get(e.ctx, id)
	if err != nil {
		e.t.Fatalf("get %s: %v", id, err)
	}
	return l
}

// leads reads leads back from the store.
func (e *env) leads(ids ...string) []*leadworker.Lead {
	out := make([]*leadworker.Lead, len(ids))
	for i, id := range ids {
		out[i] = e.lead(id)
	}
	return out
}

// handle runs the handler of a task type on payload (JSON-encoded unless it
// is already json.RawMessage), as asynq would hand it the task.
func (e *env) handle(typ string, payload any) error {
	e.t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	handlers := map[string]func(context.Context, *asynq.Task) error{
		tasks.TypeNotify: e.notifier.HandleNotify, tasks.TypeNotifyBatch: e.notifier.HandleNotifyBatch,
		tasks.TypeDigest: e.notifier.HandleDigest, tasks.TypeClosing: e.notifier.HandleClosing,
		tasks.TypeClosingBatch: e.notifier.HandleClosingBatch, tasks.TypeReminder: e.notifier.HandleReminder,
		tasks.TypeMaintenance: e.maint.HandleMaintenance,
	}
	h := handlers[typ]
	if h == nil {
		e.t.Fatalf("no handler for task type %s", typ)
	}
	return h(e.ctx, asynq.NewTask(typ, raw))
}

func (e *env) notify(id string) error {
	return e.handle(tasks.TypeNotify, tasks.NotifyPayload{LeadID: id})
}

// mustNotify announces each lead in turn, failing on any error.
func (e *env) mustNotify(ids ...string) {
	e.t.Helper()
	for _, id := range ids {
		if err := e.notify(id); err != nil {
			e.t.Fatalf("announce %s: %v", id, err)
		}
	}
}

func (e *env) digest(rcpt, day string) error {
	return e.handle(tasks.TypeDigest, tasks.DigestPayload{Recipient: rcpt, Day: day})
}

func (e *env) closing(id string) error {
	return e.handle(tasks.TypeClosing, tasks.ClosingPayload{LeadID: id})
}

func (e *env) reminder(id, stage string) error {
	return e.handle(tasks.TypeReminder, tasks.ReminderPayload{LeadID: id, Stage: stage})
}

// decline declines a received lead, as the API does.
func (e *env) decline(id string) {
	e.t.Helper()
	if _, err := e.store.Decline(e.ctx, id, leadworker.Decline{Reason: "not_a_fit"}); err != nil {
		e.t.Fatalf("decline %s: %v", id, err)
	}
}

// accept accepts a received lead, as the API does.
func (e *env) accept(id string) {
	e.t.Helper()
	deal := leadworker.Deal{Name: "VM migration", Value: leadworker.Money{Amount: "25000", Currency: "USD"}, EstimatedPurchaseDate: "2091-06-30"}
	if _, err := e.store.Accept(e.ctx, id, deal); err != nil {
		e.t.Fatalf("accept %s: %v", id, err)
	}
}

// run runs a maintenance job as of at, with the clock set to at, and
// returns its changes.
func (e *env) run(job string, at time.Time, dry bool) []jobs.Change {
	e.t.Helper()
	e.clock.Set(at)
	rep, err := e.maint.Run(e.ctx, job, at, dry)
	if err != nil {
		e.t.Fatalf("%s at %s (dry %v): %v", job, at, dry, err)
	}
	if rep.Job != job || !rep.At.Equal(at) || rep.DryRun != dry {
		e.t.Fatalf("report of %s at %s (dry %v) says %s at %s (dry %v)", job, at, dry, rep.Job, rep.At, rep.DryRun)
	}
	return rep.Changes
}

// changeList renders changes as sorted "action lead detail" lines.
func changeList(cs []jobs.Change) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, strings.Join(slices.DeleteFunc([]string{c.Action, c.LeadID, c.Detail}, func(s string) bool { return s == "" }), " "))
	}
	slices.Sort(out)
	return out
}

// wantChanges checks a report's changes, in any order.
func (e *env) wantChanges(what string, got []jobs.Change, want ...string) {
	e.t.Helper()
	slices.Sort(want)
	if g := changeList(got); !slices.Equal(g, want) {
		e.t.Fatalf("%s changed\n  %s\nwant\n  %s", what, strings.Join(g, "\n  "), strings.Join(want, "\n  "))
	}
}

// mail is what a recipient sees of one message.
type mail struct {
	To, ID, Subject string
	Leads           string // the X-Leadworker-Leads header: the lead ids, in order
}

// mails returns the messages sent so far, in the order they were sent.
func (e *env) mails() []mail {
	var out []mail
	for _, m := range e.mail.Sent() {
		out = append(out, mail{To: m.Env.To, ID: strings.Trim(m.Header("Message-Id"), "<>"),
			Subject: m.Header("Subject"), Leads: m.Header("X-Leadworker-Leads")})
	}
	return out
}

// wantMails checks every message sent so far, in any order, by recipient
// and Message-ID, and by subject and lead list where want gives them.
func (e *env) wantMails(want ...mail) {
	e.t.Helper()
	got := e.mails()
	byID := func(a, b mail) int { return strings.Compare(a.ID, b.ID) }
	slices.SortFunc(got, byID)
	slices.SortFunc(want, byID)
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		g, w := got[i], want[i]
		ok = g.To == w.To && g.ID == w.ID && (w.Subject == "" || g.Subject == w.Subject) && (w.Leads == "" || g.Leads == w.Leads)
	}
	if !ok {
		e.t.Fatalf("mails sent:\n%s\nwant:\n%s", formatMails(got), formatMails(want))
	}
}

func formatMails(ms []mail) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "  to %s, Message-ID %s, subject %q, leads %q\n", m.To, m.ID, m.Subject, m.Leads)
	}
	if len(ms) == 0 {
		b.WriteString("  none\n")
	}
	return b.String()
}

// msgID is a Message-ID of the test's mail domain.
func msgID(local string) string { return local + "@" + domain }

// digestID is the Message-ID of rcpt's digest of day listing ids, in
// order; suffix is ".default" for the copy sent to the default contact.
func digestID(rcpt, day, suffix string, ids ...string) string {
	return msgID("digest-" + day + "-" + tasks.ShortHash(append([]string{rcpt}, ids...)...) + suffix)
}

// ntf is what a lead's notification record should say; a zero sent means
// no sent_at, an empty err no error, and err is matched as a substring.
type ntf struct {
	via, rcpt string
	sent      time.Time
	err       string
}

// wantNotification checks a lead's notification record; a zero want means
// the lead has none.
func (e *env) wantNotification(id string, want ntf) {
	e.t.Helper()
	n := e.lead(id).Notification
	if want == (ntf{}) {
		if n != nil {
			e.t.Fatalf("%s: notification %+v, want none", id, *n)
		}
		return
	}
	if n == nil {
		e.t.Fatalf("%s: no notification, want %+v", id, want)
	}
	sentOK := (n.SentAt == nil) == want.sent.IsZero() && (n.SentAt == nil || n.SentAt.Equal(want.sent))
	errOK := (n.Error == "") == (want.err == "") && strings.Contains(n.Error, want.err)
	if n.Via != want.via || n.Recipient != want.rcpt || !sentOK || !errOK {
		e.t.Fatalf("%s: notification via %q to %q, sent at %v, error %q\nwant via %q to %q, sent at %v, error %q",
			id, n.Via, n.Recipient, n.SentAt, n.Error, want.via, want.rcpt, want.sent, want.err)
	}
}

// entry is what a feed entry should say; msg is matched as a substring.
type entry struct {
	typ  string
	ids  string // space-separated
	rcpt string
	msg  string
}

// wantFeed checks a partner's whole feed, newest first.
func (e *env) wantFeed(pid string, want ...entry) {
	e.t.Helper()
	feed, err := e.store.Feed(e.ctx, pid, store.FeedLimit)
	if err != nil {
		e.t.Fatal(err)
	}
	ok := len(feed) == len(want)
	for i := 0; ok && i < len(feed); i++ {
		ok = want[i].matches(feed[i])
	}
	if !ok {
		e.t.Fatalf("feed of %s:\n%swant %+v", pid, formatFeed(feed), want)
	}
}

// wantFeedHead checks the newest entry of a partner's feed.
func (e *env) wantFeedHead(pid string, want entry) {
	e.t.Helper()
	feed, err := e.store.Feed(e.ctx, pid, store.FeedLimit)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(feed) == 0 || !want.matches(feed[0]) {
		e.t.Fatalf("feed of %s:\n%swant first %+v", pid, formatFeed(feed), want)
	}
}

func (w entry) matches(f leadworker.FeedEntry) bool {
	return f.Type == w.typ && strings.Join(f.LeadIDs, " ") == w.ids && f.Recipient == w.rcpt &&
		(f.Message == "") == (w.msg == "") && strings.Contains(f.Message, w.msg)
}

func formatFeed(feed []leadworker.FeedEntry) string {
	var b strings.Builder
	for _, f := range feed {
		fmt.Fprintf(&b, "  %s %v to %q %q\n", f.Type, f.LeadIDs, f.Recipient, f.Message)
	}
	return b.String()
}

// due lists an index's members due by cutoff.
func (e *env) due(idx store.Index, cutoff time.Time) []string {
	e.t.Helper()
	members, err := e.store.Due(e.ctx, idx, cutoff, 0, store.SweepPage)
	if err != nil {
		e.t.Fatal(err)
	}
	return members
}

// never is a cutoff after everything: due(idx, never) lists a whole index.
var never = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// wantPending checks the store's whole pending set, in any order.
func (e *env) wantPending(want ...string) {
	e.t.Helper()
	got := e.due(store.Pending, never)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		e.t.Fatalf("pending work %v, want %v", got, want)
	}
}

// task returns a queued task; only a queue env can read them.
func (e *env) task(queue, id string) *asynq.TaskInfo {
	e.t.Helper()
	info, err := e.insp.GetTaskInfo(queue, id)
	if err != nil {
		e.t.Fatalf("task %s in queue %s: %v", id, queue, err)
	}
	return info
}

// queued lists the ids of every task in a queue, pending or scheduled.
func (e *env) queued(queue string) []string {
	e.t.Helper()
	var ids []string
	for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){e.insp.ListPendingTasks, e.insp.ListScheduledTasks} {
		infos, err := list(queue, asynq.PageSize(1000))
		if err != nil && !strings.Contains(err.Error(), "queue not found") {
			e.t.Fatalf("list queue %s: %v", queue, err)
		}
		for _, info := range infos {
			ids = append(ids, info.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// runQueued runs a queued task through its handler, as a worker would.
func (e *env) runQueued(queue, id string) error {
	e.t.Helper()
	info := e.task(queue, id)
	return e.handle(info.Type, json.RawMessage(info.Payload))
}

// dump renders every key of the test (every key of its own server, asynq's
// included, for a queue env) with its contents, for before/after checks.
func (e *env) dump() string {
	e.t.Helper()
	pattern := e.prefix + "*"
	if e.insp != nil {
		pattern = "*"
	}
	keys, err := e.rdb.Keys(e.ctx, pattern).Result()
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		var v any
		switch typ := e.rdb.Type(e.ctx, k).Val(); typ {
		case "string":
			v = e.rdb.Get(e.ctx, k).Val()
		case "hash":
			v = e.rdb.HGetAll(e.ctx, k).Val() // fmt prints maps sorted
		case "zset":
			v = e.rdb.ZRangeWithScores(e.ctx, k, 0, -1).Val()
		case "list":
			v = e.rdb.LRange(e.ctx, k, 0, -1).Val()
		case "set":
			members := e.rdb.SMembers(e.ctx, k).Val()
			slices.Sort(members)
			v = members
		default:
			v = typ
		}
		fmt.Fprintf(&b, "%s %v\n", k, v)
	}
	return b.String()
}
