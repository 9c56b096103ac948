package worker_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/leadworker/leadworker/config"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/testenv"
	"github.com/leadworker/leadworker/mailer"
	"github.com/leadworker/leadworker/worker"
	"github.com/leadworker/leadworker/worker/httpapi"
)

const (
	apiAuth   = "Bearer api-token-0123456789"
	adminAuth = "Bearer admin-token-0123456789"
)

// noRedirect is a client that shows a redirect instead of following it.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// send sends a request with auth as its Authorization header (none when
// empty) and returns the response with its body read.
func (e *env) send(method, path, auth string, body io.Reader) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res, raw
}

// errorCode returns error.code of a JSON error body, or "" if it is none.
func errorCode(body []byte) string {
	var b struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(body, &b)
	return b.Error.Code
}

// adminRequest is one request to an admin endpoint or the monitor.
type adminRequest struct {
	method, path string
	body         string
}

// adminRequests lists a request for every admin route the API registers
// (HEAD too for GET routes) and for the monitor's pages and API, its
// destructive actions included.
func adminRequests(t *testing.T) []adminRequest {
	t.Helper()
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	bodies := map[string]string{
		"POST /admin/v1/tasks": `{"type":"lead:notify","payload":{"lead_id":"L-SNEAK"},"process_at":"` + later + `"}`,
	}
	var out []adminRequest
	for _, route := range httpapi.New(httpapi.Deps{}).Routes() {
		method, path, _ := strings.Cut(route, " ")
		if !strings.HasPrefix(path, "/admin/") {
			continue
		}
		concrete := strings.ReplaceAll(path, "{job}", "expire")
		out = append(out, adminRequest{method, concrete, bodies[route]})
		if method == "GET" {
			out = append(out, adminRequest{"HEAD", concrete, ""})
		}
	}
	if len(out) < 5 {
		t.Fatalf("only %d admin requests from the API's routes: %v", len(out), out)
	}
	return append(out, []adminRequest{
		{"GET", httpapi.MonitorPath + "/", ""},
		{"GET", httpapi.MonitorPath + "/queues/notify", ""},
		{"GET", httpapi.MonitorPath + "/api/queues", ""},
		{"GET", httpapi.MonitorPath + "/api/queues/notify/scheduled_tasks", ""},
		{"GET", httpapi.MonitorPath + "/api/redis_info", ""},
		{"GET", httpapi.MonitorPath + "/api/servers", ""},
		{"POST", httpapi.MonitorPath + "/api/queues/notify:pause", ""},
		{"DELETE", httpapi.MonitorPath + "/api/queues/notify?force=true", ""},
		{"DELETE", httpapi.MonitorPath + "/api/queues/notify/scheduled_tasks:delete_all", ""},
		{"POST", httpapi.MonitorPath + "/api/queues/notify/scheduled_tasks:run_all", ""},
		{"POST", httpapi.MonitorPath + "/api/queues/notify/scheduled_tasks:batch_delete", `{"task_ids":["x"]}`},
	}...)
}

// badAdminCredentials are ways of asking that must not open /admin/.
var badAdminCredentials = []struct{ name, auth, query string }{
	{"no token", "", ""},
	{"wrong token sharing a prefix", "Bearer admin-token-0123456780", ""},
	{"wrong token sharing nothing", "Bearer zzzzzzzzzzzzzzzzzzzzzz", ""},
	{"admin token with a byte more", adminAuth + "0", ""},
	{"admin token less a byte", strings.TrimSuffix(adminAuth, "9"), ""},
	{"API token", apiAuth, ""},
	{"both tokens", adminAuth + "," + "api-token-0123456789", ""},
	{"admin token as Basic", "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:admin-token-0123456789")), ""},
	{"admin token without scheme", "admin-token-0123456789", ""},
	{"empty bearer", "Bearer ", ""},
	{"admin token in the query", "", "access_token=admin-token-0123456789&token=admin-token-0123456789"},
}

// TestSecurityAdminEndpointsRefuseBadTokens sends every admin request with
// every bad credential: each gets a 401 JSON error with a Bearer challenge,
// and none has an effect (no task enqueued, no run, no queue paused or
// emptied).
func TestSecurityAdminEndpointsRefuseBadTokens(t *testing.T) {
	t.Parallel()
	e := setup(t)
	// A scheduled task in the notify queue, for the monitor's actions to
	// act on if they got through.
	scheduled := `{"type":"lead:notify","payload":{"lead_id":"L-KEEP"},"process_at":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`
	if res, body := e.send("POST", "/admin/v1/tasks", adminAuth, strings.NewReader(scheduled)); res.StatusCode != 202 {
		t.Fatalf("schedule a task: %d %s", res.StatusCode, body)
	}
	requests := adminRequests(t)
	for _, c := range badAdminCredentials {
		t.Run(c.name, func(t *testing.T) {
			for _, r := range requests {
				path := r.path
				if c.query != "" {
					path += map[bool]string{true: "&", false: "?"}[strings.Contains(path, "?")] + c.query
				}
				res, body := e.send(r.method, path, c.auth, strings.NewReader(r.body))
				if res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer ") {
					t.Errorf("%s %s: %d (WWW-Authenticate %q), want 401 with a Bearer challenge: %.200s",
						r.method, path, res.StatusCode, res.Header.Get("WWW-Authenticate"), body)
				}
				if r.method != "HEAD" && errorCode(body) != "unauthorized" {
					t.Errorf("%s %s: body %.200s, want a JSON error with code unauthorized", r.method, path, body)
				}
			}
		})
	}
	time.Sleep(time.Second) // anything let through would have run by now
	checkAdminUntouched(t, e)
	// The same requests with the admin token reach real endpoints.
	for _, r := range requests {
		if r.method == "GET" || r.method == "HEAD" {
			if res, body := e.send(r.method, r.path, adminAuth, nil); res.StatusCode != 200 {
				t.Errorf("%s %s with the admin token: %d %.200s", r.method, r.path, res.StatusCode, body)
			}
		}
	}
}

// checkAdminUntouched checks, with the admin token, that no maintenance
// run happened and the notify queue holds just its one scheduled task,
// unpaused.
func checkAdminUntouched(t *testing.T, e *env) {
	t.Helper()
	res, body := e.send("GET", "/admin/v1/maintenance/expire", adminAuth, nil)
	var runs struct{ Runs []any }
	if err := json.Unmarshal(body, &runs); res.StatusCode != 200 || err != nil || len(runs.Runs) != 0 {
		t.Errorf("expire runs after refused requests: %d %s", res.StatusCode, body)
	}
	res, body = e.send("GET", "/admin/v1/queues", adminAuth, nil)
	var stats struct {
		Queues []struct {
			Queue     string
			Scheduled int
			Paused    bool
		}
	}
	if err := json.Unmarshal(body, &stats); res.StatusCode != 200 || err != nil {
		t.Fatalf("queues: %d %s", res.StatusCode, body)
	}
	found := false
	for _, q := range stats.Queues {
		if q.Paused {
			t.Errorf("queue %s was paused by a refused request", q.Queue)
		}
		if q.Queue == "notify" {
			found = true
			if q.Scheduled != 1 {
				t.Errorf("notify queue holds %d scheduled tasks, want only the one scheduled with the admin token", q.Scheduled)
			}
		}
	}
	if !found {
		t.Errorf("the notify queue is gone: %s", body)
	}
}

// TestSecurityAdminPathVariants checks that spellings of admin paths do not
// reach an admin handler without a token: they are refused, not found, or
// redirected to the canonical path, which then refuses them.
func TestSecurityAdminPathVariants(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, path := range []string{
		"/admin/v1/queues/", "/admin//v1/queues", "/admin/v1/./queues", "/admin/v1/x/../queues", "/ADMIN/v1/queues",
		"/admin/v1/queues%2F", "/admin%2Fv1%2Fqueues", "/v1/../admin/v1/queues", httpapi.MonitorPath, httpapi.MonitorPath + "//api/queues",
		"/admin/v1/maintenance/expire/", "/admin/v1/maintenance/expire%2F..%2F..%2Fqueues",
	} {
		for _, method := range []string{"GET", "POST", "OPTIONS"} {
			res, body := e.send(method, path, "", nil)
			switch {
			case res.StatusCode >= 300 && res.StatusCode < 400:
				loc := res.Header.Get("Location")
				if follow, _ := e.send(method, loc, "", nil); follow.StatusCode/100 == 2 {
					t.Errorf("%s %s redirects to %s, which answers %d without a token", method, path, loc, follow.StatusCode)
				}
			case res.StatusCode/100 == 2:
				t.Errorf("%s %s without a token: %d %.200s", method, path, res.StatusCode, body)
			}
		}
	}
}

// TestSecurityAdminClosedWithoutAdminTokens checks that with API tokens
// only, no request reaches /admin/, and with admin tokens only, /v1/ takes
// the admin token and nothing else.
func TestSecurityAdminClosedWithoutAdminTokens(t *testing.T) {
	t.Parallel()
	type request struct {
		auth, path string
		status     int
	}
	tests := []struct {
		name, unset string // the token variable left empty
		requests    []request
	}{
		{"API tokens only", "LEADWORKER_ADMIN_TOKENS", []request{
			{apiAuth, "/admin/v1/queues", 401}, {adminAuth, "/admin/v1/queues", 401}, {"", "/admin/v1/queues", 401},
			{apiAuth, httpapi.MonitorPath + "/", 401}, {apiAuth, "/v1/leads", 200},
		}},
		{"admin tokens only", "LEADWORKER_API_TOKENS", []request{
			{adminAuth, "/admin/v1/queues", 200}, {adminAuth, "/v1/leads", 200}, {apiAuth, "/v1/leads", 401}, {"", "/v1/leads", 401},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, tt.unset, "")
			for _, r := range tt.requests {
				if res, body := e.send("GET", r.path, r.auth, nil); res.StatusCode != r.status {
					t.Errorf("GET %s with %q: %d, want %d: %.200s", r.path, r.auth, res.StatusCode, r.status, body)
				}
			}
		})
	}
}

// TestSecurityWrongTokensGetOneAnswer checks that wrong tokens of every
// shape get byte-for-byte the same answer, so the answer tells nothing of
// how close a guess was.
func TestSecurityWrongTokensGetOneAnswer(t *testing.T) {
	t.Parallel()
	e := setup(t)
	guesses := []string{"admin-token-0123456780", "zdmin-token-0123456789", "zzzzzzzzzzzzzzzzzzzzzz", "admin-token-012345678",
		"admin-token-01234567890", "api-token-0123456789", strings.Repeat("a", 4096)}
	for _, path := range []string{"/admin/v1/queues", "/v1/leads"} {
		var first string
		for _, g := range guesses {
			if path == "/v1/leads" && g == "api-token-0123456789" {
				continue
			}
			res, body := e.send("GET", path, "Bearer "+g, nil)
			res.Header.Del("Date")
			answer := fmt.Sprintf("%d %v %s", res.StatusCode, res.Header, body)
			if first == "" {
				first = answer
			}
			if res.StatusCode != 401 || answer != first {
				t.Errorf("GET %s with %.30q: %s\nwant the same 401 as every wrong token: %s", path, g, answer, first)
			}
		}
	}
}

// bodyLimitStep is one request with a JSON body and the answer it gets when
// the body is within the limit.
type bodyLimitStep struct {
	name, method, path, auth string
	body                     any
	limit, status            int
}

// TestSecurityBodyLimits sends every endpoint that takes a JSON body a body
// one byte over its limit (padded before, padded after, and streamed without
// a length): 413 with a JSON error and nothing changed. The same body padded
// to exactly the limit is accepted.
func TestSecurityBodyLimits(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const mib = 1 << 20
	steps := []bodyLimitStep{
		{"intake", "POST", "/v1/leads", apiAuth, lead("L-BIG"), mib, 201},
		{"batch intake", "POST", "/v1/leads:batch", apiAuth, map[string]any{"leads": []any{lead("L-BATCH")}}, 16 * mib, 200},
		{"accept", "POST", "/v1/leads/L-BIG/accept", apiAuth, acceptBody, mib, 200},
		{"edit deal", "PATCH", "/v1/leads/L-BIG/deal", apiAuth, map[string]any{"notes": "moved to Q2"}, mib, 200},
		{"close", "POST", "/v1/leads/L-BIG/close", apiAuth, map[string]any{"outcome": "won"}, mib, 200},
		{"decline", "POST", "/v1/leads/L-BATCH/decline", apiAuth, decline.body, mib, 200},
		{"contacts", "PUT", "/v1/partners/P-100/contacts", apiAuth, fabrikamContacts, mib, 200},
		{"preferences", "PUT", "/v1/partners/P-100/preferences", apiAuth, map[string]any{"locale": "en"}, mib, 200},
		{"admin task", "POST", "/admin/v1/tasks", adminAuth, map[string]any{"type": "maintenance:run", "payload": map[string]any{"job": "digests"}}, mib, 202},
	}
	for _, s := range steps {
		e.settled()
		before := snapshot(e)
		raw := mustMarshal(s.body)
		over := map[string]io.Reader{
			"padded before": bytes.NewReader(pad(raw, s.limit+1, true)),
			"padded after":  bytes.NewReader(pad(raw, s.limit+1, false)),
			"streamed":      io.MultiReader(bytes.NewReader(pad(raw, s.limit+1, true))),
		}
		for shape, body := range over {
			res, answer := e.send(s.method, s.path, s.auth, body)
			if res.StatusCode != http.StatusRequestEntityTooLarge || errorCode(answer) != "too_large" {
				t.Errorf("%s, %s, one byte over: %d %.200s; want 413 too_large", s.name, shape, res.StatusCode, answer)
			}
		}
		if after := snapshot(e); after != before {
			t.Errorf("%s: a refused body changed Redis", s.name)
		}
		if res, answer := e.send(s.method, s.path, s.auth, bytes.NewReader(pad(raw, s.limit, true))); res.StatusCode != s.status {
			t.Errorf("%s, exactly at the limit: %d %.200s; want %d", s.name, res.StatusCode, answer, s.status)
		}
	}
}

// pad pads a JSON body with spaces, before or after it, to n bytes.
func pad(raw []byte, n int, before bool) []byte {
	spaces := bytes.Repeat([]byte{' '}, n-len(raw))
	if before {
		return append(spaces, raw...)
	}
	return append(slices.Clone(raw), spaces...)
}

// headerBreakers are texts that would end a mail header line and start
// another if they reached one unchanged.
var headerBreakers = map[string]string{
	"CRLF":        "\r\nBcc: evil@x.example",
	"LF":          "\nBcc: evil@x.example",
	"CR":          "\rBcc: evil@x.example",
	"NUL":         "\x00Bcc: evil@x.example",
	"tab":         "\tBcc: evil@x.example",
	"vertical":    "\vBcc: evil@x.example",
	"form feed":   "\fBcc: evil@x.example",
	"NEL":         "\u0085Bcc: evil@x.example",
	"escape":      "\x1b[2J",
	"CRLF at end": "\r\n",
}

// TestSecurityHeaderFieldsRefuseLineBreaks sends every field that reaches
// a mail header (subject, To, Message-Id, X-Leadworker-Leads) with a line
// break or another control character: each is refused naming the field,
// nothing is stored and no mail goes out.
func TestSecurityHeaderFieldsRefuseLineBreaks(t *testing.T) {
	t.Parallel()
	e := setup(t)
	customer := func(k, v string) func(map[string]any) {
		return func(l map[string]any) { l["customer"].(map[string]any)[k] = v }
	}
	originator := func(v string) func(map[string]any) {
		return func(l map[string]any) {
			qualified(l)
			l["originator"].(map[string]any)["email"] = v
		}
	}
	contact := func(loc, k, v string) map[string]any {
		c := map[string]any{"default": map[string]any{"email": "leads@fabrikam-jp.example", "name": "Fabrikam"}}
		target := c["default"].(map[string]any)
		if loc != "" {
			target = map[string]any{"email": "tokyo@fabrikam-jp.example", "name": "Tokyo"}
			c["locations"] = map[string]any{loc: target}
		}
		target[k] = v
		return c
	}
	n := 0
	for name, bad := range headerBreakers {
		n++
		id := fmt.Sprintf("L-HB-%02d", n)
		tests := []struct {
			field, method, path string
			body                any
		}{
			{"id", "POST", "/v1/leads", lead(id + bad)},
			{"customer.company", "POST", "/v1/leads", lead(id, customer("company", "Contoso"+bad))},
			{"customer.email", "POST", "/v1/leads", lead(id, customer("email", "hanako@contoso.example"+bad))},
			{"originator.email", "POST", "/v1/leads", lead(id, originator("seller@vendor.example"+bad))},
			{"default.email", "PUT", "/v1/partners/P-HB/contacts", contact("", "email", "leads@fabrikam-jp.example"+bad)},
			{"default.name", "PUT", "/v1/partners/P-HB/contacts", contact("", "name", "Fabrikam"+bad)},
			{"locations.tokyo.email", "PUT", "/v1/partners/P-HB/contacts", contact("tokyo", "email", "tokyo@fabrikam-jp.example"+bad)},
			{"locations.tokyo.name", "PUT", "/v1/partners/P-HB/contacts", contact("tokyo", "name", "Tokyo"+bad)},
			{"preferred_email", "PUT", "/v1/partners/P-HB/preferences", map[string]any{"preferred_email": "sales@fabrikam-jp.example" + bad}},
		}
		for _, tt := range tests {
			res := e.do(tt.method, tt.path, tt.body)
			if res.Status != 400 {
				t.Errorf("%s with %s: %d %.200s, want 400", tt.field, name, res.Status, res.Body)
				continue
			}
			if code, field, _ := res.Error(t); code != "invalid" || field != tt.field {
				t.Errorf("%s with %s: error %s on %q, want invalid on %s", tt.field, name, code, field, tt.field)
			}
		}
		if res := e.do("GET", "/v1/leads/"+id, nil); res.Status != 404 {
			t.Errorf("%s: lead %s was stored", name, id)
		}
	}
	if res := e.do("GET", "/v1/partners/P-HB", nil); res.Status != 404 {
		t.Errorf("partner P-HB was stored: %s", res.Body)
	}
	time.Sleep(500 * time.Millisecond)
	if mails := e.smtp.Mails(); len(mails) != 0 {
		t.Errorf("%d emails went out for refused input", len(mails))
	}
}

// headerTexts are texts a field may hold that look like header syntax to
// a mail reader: they must read as the text they are, in one header.
var headerTexts = []struct{ name, text string }{
	{"plain", "Contoso KK"},
	{"header text", "Contoso Bcc: evil@x.example"},
	{"Q encoded-word", "=?UTF-8?Q?Contoso=0D=0ABcc:_evil@x.example?="},
	{"B encoded-word", "=?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte("Contoso\r\nBcc: evil@x.example")) + "?="},
	{"line separators", "Contoso\u2028Bcc: evil@x.example\u2029X-Injected: 1"},
	{"200 Japanese characters", strings.Repeat("株", 200)},
	{"200 ASCII characters", strings.Repeat("x", 200)},
}

// smuggling ends the SMTP DATA early in every spelling and starts a second
// message, if it reached the wire unchanged.
const smuggling = "first line\r\n.\r\nMAIL FROM:<evil@x.example>\r\nRCPT TO:<victim@x.example>\r\nDATA\r\nSubject: smuggled\r\n\r\nhi\r\n.\r\n" +
	"\n.\nRCPT TO:<victim@x.example>\n\r.\rRCPT TO:<victim@x.example>\r\n.\nRCPT TO:<victim@x.example>\r\n..\r\n"

// mailHeaders are the headers every email carries, each once.
var mailHeaders = []string{"Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To", "X-Leadworker-Leads"}

// TestSecurityMailHeadersHoldFieldText sends new-lead emails, reminders
// and closing notices (to the customer and to the originator) whose
// subjects carry a company name and a partner name that look like header
// syntax, and leads whose need tries to end the SMTP DATA: every message
// the SMTP server receives has exactly the expected headers, its subject
// reads as one line holding the text, and nothing else is delivered.
func TestSecurityMailHeadersHoldFieldText(t *testing.T) {
	t.Parallel()
	e := setup(t)
	created := createdAt(time.Now().UTC().Add(-25 * time.Hour))
	ids := map[string]string{} // lead id -> the text its mails must show
	for i, h := range headerTexts {
		partner := fmt.Sprintf("P-H%d", i)
		e.must(200, "PUT", "/v1/partners/"+partner+"/contacts", map[string]any{"default": map[string]any{
			"email": fmt.Sprintf("leads-%d@partner.example", i), "name": h.text}})
		company := func(l map[string]any) {
			// No flame or spam mark: ASCII text keeps the whole subject ASCII.
			l["partner_id"], l["need"], l["contact_requested"] = partner, smuggling, false
			l["customer"].(map[string]any)["company"] = h.text
			l["customer"].(map[string]any)["email"] = fmt.Sprintf("buyer-%d@customer.example", i)
		}
		cust, qual := fmt.Sprintf("L-H%d-%s", i, strings.Repeat("C", 50)), fmt.Sprintf("L-H%d-Q", i)
		e.must(201, "POST", "/v1/leads", lead(cust, created, company))
		e.must(201, "POST", "/v1/leads", lead(qual, created, company, qualified))
		ids[cust], ids[qual] = h.text, h.text
	}
	n := len(ids)
	e.settle(n)
	e.settled()
	e.run(e.tools().Maintenance, "reminders", time.Now(), false)
	e.settle(2 * n)
	for id := range ids {
		e.must(200, "POST", "/v1/leads/"+id+"/decline", decline.body)
	}
	e.settle(3 * n)
	for _, m := range e.smtp.Mails() {
		checkMailHeaders(t, m, ids)
		if r := readMail(t, m); strings.Contains(r.MessageID, ".new@") && !strings.Contains(r.Text, "MAIL FROM:<evil@x.example>") {
			t.Errorf("%s: the need is not shown as text:\n%s", r.MessageID, r.Text)
		}
	}
}

// checkMailHeaders checks one received message: one envelope recipient that
// is also its To, exactly mailHeaders each once, printable ASCII header
// lines within 998 octets, leads in X-Leadworker-Leads that texts knows,
// and a subject that reads as one line holding the text of its leads.
func checkMailHeaders(t *testing.T, m testenv.Mail, texts map[string]string) {
	t.Helper()
	r := readMail(t, m)
	if len(m.To) != 1 || strings.Contains(m.To[0], "victim") {
		t.Fatalf("envelope recipients %q", m.To)
	}
	var names []string
	for name, vals := range r.Header {
		names = append(names, name)
		if len(vals) != 1 {
			t.Errorf("%s: %d %s headers", r.MessageID, len(vals), name)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, mailHeaders) {
		t.Errorf("%s: headers %q, want %q", r.MessageID, names, mailHeaders)
	}
	head, _, _ := strings.Cut(string(m.Data), "\r\n\r\n")
	for line := range strings.SplitSeq(head, "\r\n") {
		if len(line) > 998 || strings.ContainsFunc(line, func(r rune) bool { return r < ' ' && r != '\t' || r > '~' }) {
			t.Errorf("%s: raw header line %.100q (%d octets)", r.MessageID, line, len(line))
		}
	}
	if to, err := r.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != m.To[0] {
		t.Errorf("%s: To %q, envelope %q", r.MessageID, r.Header.Get("To"), m.To)
	}
	leads, err := new(mime.WordDecoder).DecodeHeader(r.Header.Get("X-Leadworker-Leads"))
	text, ok := texts[leads]
	if err != nil || !ok {
		t.Fatalf("%s: X-Leadworker-Leads %q (%v) names no lead of the test", r.MessageID, leads, err)
	}
	if strings.ContainsFunc(r.Subject, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) && r != ' ' }) ||
		!strings.Contains(r.Subject, mailer.HeaderSafe(text)) {
		t.Errorf("%s: subject reads %q; want one line holding %q", r.MessageID, r.Subject, mailer.HeaderSafe(text))
	}
}

// TestSecurityLongHeadersArriveWhole sends a digest of 150 leads with ids of
// the longest length allowed: its X-Leadworker-Leads names every one and is
// folded into lines an SMTP server accepts.
func TestSecurityLongHeadersArriveWhole(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_DIGEST_THRESHOLD", "1")
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	var items, want []string
	for i := range 150 {
		id := fmt.Sprintf("L-%03d-%s", i, strings.Repeat("D", 58))
		items = append(items, jsonOf(lead(id, createdAt(tokyoDay().Add(time.Duration(i)*time.Minute)))))
		want = append(want, id)
	}
	e.must(200, "POST", "/v1/leads:batch", `{"leads":[`+strings.Join(items, ",")+`]}`)
	e.settle(1)
	e.settled()
	e.run(e.tools().Maintenance, "digests", time.Now(), false)
	mails := e.settle(2)
	var listed []string
	for i, m := range mails {
		listed = append(listed, strings.Fields(m.Header.Get("X-Leadworker-Leads"))...)
		checkMailHeaders(t, e.smtp.Mails()[i], map[string]string{m.Header.Get("X-Leadworker-Leads"): ""})
	}
	slices.Sort(listed)
	if !slices.Equal(listed, want) {
		t.Fatalf("the two emails name %d leads, want all 150", len(listed))
	}
}

// xss is customer text built to break out of HTML, tagged with the field it
// is put in.
func xss(tag string) string {
	return `<script>alert("` + tag + `")</script><img src=x onerror=alert('` + tag + `')>"' onmouseover=alert(1) x='</title><!-- R&D &lt;b&gt;`
}

// markup is what must not appear in an email's HTML once the escaped
// customer text is taken out.
var markup = []string{"<script", "<img", "onerror", "onmouseover", "alert(", "<!--", "&lt;b&gt;"}

// TestSecurityCustomerTextIsEscapedInHTML puts markup in every field that
// an HTML email shows (company, need, contact name, partner name, customer
// and originator names) and sends the new-lead email, the digest,
// reminders and both closing notices: each shows every field it carries as
// escaped text, and holds no markup from it.
func TestSecurityCustomerTextIsEscapedInHTML(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_DIGEST_THRESHOLD", "1")
	e.must(200, "PUT", "/v1/partners/P-XSS/contacts", map[string]any{
		"default":   map[string]any{"email": "default@xss.example", "name": xss("partner")},
		"locations": map[string]any{"tokyo": map[string]any{"email": "tokyo@xss.example", "name": xss("contact")}},
	})
	fields := func(l map[string]any) {
		l["partner_id"], l["need"] = "P-XSS", xss("need")
		l["customer"].(map[string]any)["company"] = xss("company")
		l["customer"].(map[string]any)["name"] = xss("customer")
		l["customer"].(map[string]any)["email"] = "buyer@customer-xss.example"
	}
	originator := func(l map[string]any) {
		qualified(l)
		l["originator"] = map[string]any{"name": xss("originator"), "email": "seller@vendor-xss.example"}
	}
	day := tokyoDay()
	e.must(201, "POST", "/v1/leads", lead("L-XSS-A", createdAt(day), fields))
	e.settle(1)
	e.must(201, "POST", "/v1/leads", lead("L-XSS-B", createdAt(day.Add(time.Minute)), fields, originator))
	e.settled()
	tools := e.tools().Maintenance
	e.run(tools, "digests", time.Now(), false)
	e.run(tools, "reminders", time.Now(), false)
	e.settle(4)
	e.must(200, "POST", "/v1/leads/L-XSS-A/decline", decline.body)
	e.must(200, "POST", "/v1/leads/L-XSS-B/decline", decline.body)
	partnerMail := []string{"contact", "company", "need"}
	want := map[string][]string{ // recipient -> tags its emails show
		"tokyo@xss.example":          partnerMail,
		"buyer@customer-xss.example": {"customer", "partner", "company"},
		"seller@vendor-xss.example":  {"originator", "partner", "company"},
	}
	kinds := map[string]int{}
	for _, m := range e.settle(6) {
		tags, ok := want[m.To]
		if !ok {
			t.Fatalf("email to %s", m.To)
		}
		kinds[mailKind(m.MessageID)]++
		checkEscaped(t, m, tags)
	}
	if got := fmt.Sprint(kinds); got != "map[closing:2 digest:1 new:1 reminder-first:2]" {
		t.Errorf("kinds of email %s, want a new-lead email, a digest, 2 reminders and 2 closing notices", got)
	}
}

// mailKind names the kind of email a Message-Id belongs to: "digest", or
// what follows the lead id ("new", "reminder-first", "closing").
func mailKind(messageID string) string {
	if strings.HasPrefix(messageID, "<digest-") {
		return "digest"
	}
	local, _, _ := strings.Cut(messageID, "@")
	return local[strings.LastIndexByte(local, '.')+1:]
}

// checkEscaped checks that m shows the text of every tagged field escaped
// in its HTML and as written in its plain text, and that its HTML holds
// no markup once that text is taken out.
func checkEscaped(t *testing.T, m received, tags []string) {
	t.Helper()
	html := m.HTML
	for _, tag := range tags {
		escaped := template.HTMLEscapeString(xss(tag))
		if !strings.Contains(html, escaped) {
			t.Errorf("%s: the %s field is not shown escaped in the HTML:\n%s", m.MessageID, tag, m.HTML)
		}
		if !strings.Contains(m.Text, xss(tag)) {
			t.Errorf("%s: the %s field is not shown as written in the text:\n%s", m.MessageID, tag, m.Text)
		}
		html = strings.ReplaceAll(html, escaped, "")
	}
	for _, bad := range markup {
		if strings.Contains(strings.ToLower(html), bad) {
			t.Errorf("%s: %q in the HTML outside the escaped customer text:\n%s", m.MessageID, bad, m.HTML)
		}
	}
}

// TestSecurityExpiredLeadsKeepNoContactData expires leads of every kind
// through the admin endpoint (closing notice sent, refused by the SMTP
// server, sent to the originator, no address at all; the first two
// announced on their own, the rest in a digest) and scans every Redis key:
// before the expiry each contact's name, email and phone are found; after
// it and its notices, none is, in any key name, field or value, and the API
// shows none.
func TestSecurityExpiredLeadsKeepNoContactData(t *testing.T) {
	t.Parallel()
	e := setup(t, "LEADWORKER_DIGEST_THRESHOLD", "2")
	e.must(200, "PUT", "/v1/partners/P-100/contacts", fabrikamContacts)
	// 13 days old: announced (a lead past its deadline would not be), then
	// expired by a run two days ahead.
	old := time.Now().UTC().Add(-13 * 24 * time.Hour)
	leads := []struct{ id, name, email, phone string }{
		{"L-EXP-SENT", "Sent Sato", "sent@customer-a.example", "+81-3-1111-0001"},
		{"L-EXP-REFUSED", "Refused Ito", "refused@customer-b.example", "+81-3-1111-0002"},
		{"L-EXP-QUAL", "Qualified Kato", "qualified@customer-c.example", "+81-3-1111-0003"},
		{"L-EXP-NOMAIL", "Nomail Endo", "", "+81-3-1111-0004"},
		{"L-EXP-DIGEST", "Digest Abe", "digest@customer-e.example", "+81-3-1111-0005"},
	}
	e.smtp.Reject("refused@customer-b.example")
	var secrets []string
	for i, c := range leads {
		e.must(201, "POST", "/v1/leads", lead(c.id, createdAt(old.Add(time.Duration(i)*time.Minute)), func(l map[string]any) {
			l["customer"] = map[string]any{"company": "Contoso KK", "name": c.name, "email": c.email, "phone": c.phone, "country": "JP"}
			if c.id == "L-EXP-QUAL" {
				qualified(l)
			}
		}))
		e.settled() // claimed before the next arrives: the first two go out on their own
		secrets = append(secrets, c.name, c.phone)
		if c.email != "" {
			secrets = append(secrets, c.email)
		}
	}
	e.run(e.tools().Maintenance, "digests", time.Now(), false)
	e.settled()
	if found := scanRedis(e, secrets); len(found) != len(secrets) {
		t.Fatalf("before the expiry the scan finds only %v of %v: it would prove nothing", found, secrets)
	}
	e.run(e.tools().Maintenance, "expire", time.Now().Add(2*24*time.Hour), false)
	waitFor(t, func() bool {
		return len(mailsTo(t, e.smtp.Mails(), "sent@customer-a.example")) == 1 &&
			len(mailsTo(t, e.smtp.Mails(), "digest@customer-e.example")) == 1 &&
			len(mailsTo(t, e.smtp.Mails(), "marketer@vendor.example")) == 1
	})
	e.settled()
	for _, c := range leads {
		got := e.must(200, "GET", "/v1/leads/"+c.id, nil)
		cust := got["customer"].(map[string]any)
		if got["outcome"] != "expired" || cust["name"] != nil || cust["email"] != nil || cust["phone"] != nil {
			t.Errorf("%s after expiry: outcome %v, customer %v", c.id, got["outcome"], cust)
		}
	}
	if n, _ := e.must(200, "GET", "/v1/leads/L-EXP-DIGEST", nil)["notification"].(map[string]any); n["via"] != "digest" {
		t.Errorf("L-EXP-DIGEST was announced %v, want in a digest", n)
	}
	if found := scanRedis(e, secrets); len(found) != 0 {
		t.Fatalf("after the expiry Redis still holds %v", found)
	}
}

// scanRedis scans every key in Redis, its name and everything it holds,
// and returns each secret found, with where.
func scanRedis(e *env, secrets []string) map[string]string {
	e.t.Helper()
	ctx := context.Background()
	c := e.redis.Client()
	found := map[string]string{}
	look := func(key, where, s string) {
		for _, secret := range secrets {
			if strings.Contains(strings.ToLower(s), strings.ToLower(secret)) {
				found[secret] = key + " " + where
			}
		}
	}
	iter := c.Scan(ctx, 0, "*", 500).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		look(key, "(name)", key)
		for _, v := range redisContents(ctx, e, key) {
			look(key, "", v)
		}
	}
	if err := iter.Err(); err != nil {
		e.t.Fatal(err)
	}
	return found
}

// redisContents returns everything a key holds: hash fields and values,
// list, set and sorted-set members, strings and stream entries.
func redisContents(ctx context.Context, e *env, key string) []string {
	c := e.redis.Client()
	switch typ := c.Type(ctx, key).Val(); typ {
	case "hash":
		var out []string
		for k, v := range c.HGetAll(ctx, key).Val() {
			out = append(out, k, v)
		}
		return out
	case "stream":
		var out []string
		for _, m := range c.XRange(ctx, key, "-", "+").Val() {
			out = append(out, fmt.Sprint(m.Values))
		}
		return out
	case "none":
		return nil // gone since the scan listed it
	case "string", "list", "set", "zset":
		return redisValues(ctx, c, key)
	default:
		e.t.Fatalf("key %s has type %s, which the scan cannot read", key, typ)
	}
	return nil
}

// formulaCases are cells a spreadsheet would read as a formula, per
// customer-supplied column of the CSV export.
var formulaCases = []struct {
	column, value string
	set           func(l map[string]any, v string)
}{
	{"CustomerCompany", `=HYPERLINK("http://evil.example","x")`, setCustomer("company")},
	{"CustomerCompany", "+1+1", setCustomer("company")},
	{"CustomerCompany", "-1+1", setCustomer("company")},
	{"CustomerCompany", "@SUM(1,1)", setCustomer("company")},
	{"ContactName", "=cmd|' /C calc'!A0", setCustomer("name")},
	{"ContactName", "+Sato", setCustomer("name")},
	{"ContactName", "-Sato", setCustomer("name")},
	{"ContactName", "@Sato", setCustomer("name")},
	{"ContactEmail", "=1+1@customer.example", setCustomer("email")},
	{"ContactEmail", "+sato@customer.example", setCustomer("email")},
	{"ContactEmail", "-sato@customer.example", setCustomer("email")},
	{"ContactPhone", "+81 3 0000 0000", setCustomer("phone")},
	{"ContactPhone", "-1-555-0100", setCustomer("phone")},
	{"Need", "=1+1", setNeed},
	{"Need", "+1", setNeed},
	{"Need", "-1", setNeed},
	{"Need", "@A1", setNeed},
	{"Need", "\t=1+1", setNeed},
	{"Need", "\r=1+1", setNeed},
	{"DealName", `=HYPERLINK("http://evil.example","x")`, nil},
	{"DealName", "+1", nil},
	{"DealName", "-1", nil},
	{"DealName", "@A1", nil},
}

func setCustomer(k string) func(map[string]any, string) {
	return func(l map[string]any, v string) { l["customer"].(map[string]any)[k] = v }
}

func setNeed(l map[string]any, v string) { l["need"] = v }

// TestSecurityCSVExportNeutralisesFormulas exports leads whose
// customer-supplied cells start with = + - @ tab or carriage return: each
// such cell is exported with a leading quote and otherwise unchanged, no
// cell of the export starts with a formula character, and the JSON API
// still shows the text as given.
func TestSecurityCSVExportNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for i, c := range formulaCases {
		id := fmt.Sprintf("L-CSV-%02d", i)
		e.must(201, "POST", "/v1/leads", lead(id, func(l map[string]any) {
			l["partner_id"] = "P-CSV"
			if c.set != nil {
				c.set(l, c.value)
			}
		}))
		if c.set == nil {
			accept := map[string]any{}
			for k, v := range acceptBody {
				accept[k] = v
			}
			accept["deal_name"] = c.value
			e.must(200, "POST", "/v1/leads/"+id+"/accept", accept)
		}
	}
	for _, how := range []struct{ query, accept string }{{"format=csv&", ""}, {"", "text/csv"}} {
		res := e.do("GET", "/v1/leads?"+how.query+"partner_id=P-CSV", nil, "Accept", how.accept)
		rows, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
		if res.Status != 200 || err != nil || len(rows) != 1+len(formulaCases) {
			t.Fatalf("export: %d, %v, %d rows: %.300s", res.Status, err, len(rows), res.Body)
		}
		checkFormulaRows(t, rows)
	}
	for i, c := range formulaCases {
		if c.column == "Need" {
			got := e.must(200, "GET", fmt.Sprintf("/v1/leads/L-CSV-%02d", i), nil)
			if got["need"] != c.value {
				t.Errorf("JSON need %q, want %q as given", got["need"], c.value)
			}
		}
	}
}

// checkFormulaRows checks an export of the formula cases.
func checkFormulaRows(t *testing.T, rows [][]string) {
	t.Helper()
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, row := range rows[1:] {
		for i, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("%s: column %s starts with a formula character: %q", row[col["LeadId"]], rows[0][i], cell)
			}
		}
		var i int
		if _, err := fmt.Sscanf(row[col["LeadId"]], "L-CSV-%02d", &i); err != nil {
			t.Fatalf("row of an unknown lead: %q", row)
		}
		c := formulaCases[i]
		if got := row[col[c.column]]; got != "'"+c.value {
			t.Errorf("%s %s = %q, want %q", row[col["LeadId"]], c.column, got, "'"+c.value)
		}
	}
}

// randomSecret returns prefix and 16 random bytes in hex: a string that
// appears nowhere unless the test put it there.
func randomSecret(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// TestSecurityLogsHoldNoSecrets runs a daemon that logs everything (trace
// level, JSON and text) through requests with right and wrong tokens in the
// Authorization header and in query strings, admin actions, the monitor,
// SMTP authentication failures, a Redis outage and a shutdown: no token and
// no SMTP password appears in its log.
func TestSecurityLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			api, admin, wrong, smtpPass := randomSecret("api-"), randomSecret("admin-"), randomSecret("wrong-"), randomSecret("smtp-")
			sink := testenv.StartSMTP(t)
			sink.RequireAuth("leadworker", "another-password")
			e := traceDaemon(t, format, "LEADWORKER_API_TOKENS", api, "LEADWORKER_ADMIN_TOKENS", admin,
				"LEADWORKER_SMTP_URL", "smtp://leadworker:"+smtpPass+"@"+sink.Addr)
			secretScenario(e, api, admin, wrong)
			if err := e.daemon.Close(); err != nil {
				t.Logf("close: %v", err)
			}
			logs := e.logs.String()
			for _, want := range []string{"leadworker is serving", "task enqueued by an admin", "AUTH: 535", "request failed"} {
				if !strings.Contains(logs, want) {
					t.Fatalf("the log lacks %q; the scenario did not run:\n%s", want, logs)
				}
			}
			for name, secret := range map[string]string{"API token": api, "admin token": admin, "wrong token": wrong, "SMTP password": smtpPass} {
				if strings.Contains(logs, secret) || strings.Contains(logs, secret[len(secret)-32:]) {
					t.Errorf("the %s is in the log", name)
				}
			}
		})
	}
}

// secretScenario sends requests with right and wrong tokens to e, then
// stops its Redis and sends more.
func secretScenario(e *env, api, admin, wrong string) {
	e.t.Helper()
	steps := []struct {
		method, path, auth string
		body               any
		status             int
	}{
		{"GET", "/v1/leads", "Bearer " + api, nil, 200},
		{"GET", "/v1/leads", "Bearer " + admin, nil, 200},
		{"GET", "/v1/leads", "Bearer " + wrong, nil, 401},
		{"GET", "/v1/leads", "Basic " + base64.StdEncoding.EncodeToString([]byte("x:"+api)), nil, 401},
		{"PUT", "/v1/partners/P-100/contacts", "Bearer " + api, fabrikamContacts, 200},
		{"POST", "/v1/leads", "Bearer " + api, lead("L-LOG"), 201},
		{"GET", "/v1/leads?access_token=" + api + "&token=" + admin, "Bearer " + api, nil, 400},
		{"GET", "/v1/leads?status=" + api, "Bearer " + api, nil, 400},
		{"GET", "/v1/leads?access_token=" + api, "", nil, 401},
		{"GET", "/admin/v1/queues", "Bearer " + admin, nil, 200},
		{"GET", "/admin/v1/queues", "Bearer " + api, nil, 401},
		{"GET", "/admin/v1/queues?token=" + admin, "Bearer " + wrong, nil, 401},
		{"POST", "/admin/v1/maintenance/expire", "Bearer " + admin, nil, 202},
		{"POST", "/admin/v1/tasks", "Bearer " + admin, map[string]any{"type": "maintenance:run", "payload": map[string]any{"job": "digests"}}, 202},
		{"GET", httpapi.MonitorPath + "/api/queues", "Bearer " + admin, nil, 200},
		{"GET", httpapi.MonitorPath + "/api/queues?token=" + admin, "Bearer " + wrong, nil, 401},
	}
	run := func(method, path, auth string, body any, status int) {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(mustMarshal(body))
		}
		res, answer := e.send(method, path, auth, rd)
		if res.StatusCode != status && (status != 500 || res.StatusCode < 500) {
			e.t.Errorf("%s %s: %d, want %d: %.200s", method, strings.Split(path, "?")[0], res.StatusCode, status, answer)
		}
	}
	for _, s := range steps {
		run(s.method, s.path, s.auth, s.body, s.status)
	}
	time.Sleep(time.Second) // the announcement fails at SMTP AUTH and is logged
	e.redis.Stop()
	run("POST", "/v1/leads", "Bearer "+api, lead("L-LOG-2"), 503)
	run("GET", "/admin/v1/queues", "Bearer "+admin, nil, 500) // any 5xx
	run("GET", "/readyz", "", nil, 503)
}

// traceDaemon starts a daemon like setup that logs at trace level in
// format, with the extra variables.
func traceDaemon(t *testing.T, format string, vars ...string) *env {
	t.Helper()
	r := testenv.StartRedis(t)
	values := map[string]string{
		"LEADWORKER_REDIS_URL": r.URL(), "LEADWORKER_MAIL_FROM": "leads@portal.example", "LEADWORKER_HTTP_ADDR": "127.0.0.1:0",
		"LEADWORKER_SHUTDOWN_TIMEOUT": "2s", "LEADWORKER_LOG_LEVEL": "trace", "LEADWORKER_LOG_FORMAT": format, "LEADWORKER_SCHEDULE": "off",
	}
	for i := 0; i+1 < len(vars); i += 2 {
		values[vars[i]] = vars[i+1]
	}
	cfg, err := config.Load(func(k string) string { return values[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &lockedWriter{}
	d := worker.New(cfg, worker.NewLogger(cfg, logs), clock.Real{})
	if err := d.Open(t.Context()); err != nil {
		t.Fatalf("open daemon: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return &env{t: t, base: "http://" + d.Addr(), redis: r, redisURL: r.URL(), daemon: d, logs: logs}
}
