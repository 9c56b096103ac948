package worker_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/metrics"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/leadworker/leadworker/internal/testenv"
	"github.com/leadworker/leadworker/worker/httpapi"
	"github.com/sirupsen/logrus"
	"go.yaml.in/yaml/v3"
)

// The OpenAPI document is held to the code in four ways: its operations
// are exactly the registered routes; its schemas have exactly the fields and
// enum values of the Go types; every request example is sent to a running
// daemon and accepted, and every response example decodes strictly into its
// Go type (and, along the scenario, equals what the daemon answers); and the
// daemon serves it.

const openAPIFile = "httpapi/openapi.yaml"

// oaDoc is the parsed document.
type oaDoc struct {
	raw  []byte
	root map[string]any
}

func loadOpenAPI(t *testing.T) *oaDoc {
	t.Helper()
	raw, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := yaml.Unmarshal(raw, &root); err != nil {
		t.Fatalf("%s is not YAML: %v", openAPIFile, err)
	}
	if v, _ := root["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("openapi version %q, want 3.1.x", v)
	}
	return &oaDoc{raw: raw, root: root}
}

// resolve follows a local $ref ("#/components/...") until it reaches a value.
func (d *oaDoc) resolve(t *testing.T, v any) map[string]any {
	t.Helper()
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("not an object: %v", v)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		v = d.pointer(t, ref)
	}
	t.Fatalf("$ref chain too long at %v", v)
	return nil
}

func (d *oaDoc) pointer(t *testing.T, ref string) any {
	t.Helper()
	if !strings.HasPrefix(ref, "#/") {
		t.Fatalf("only local references are used: %s", ref)
	}
	var v any = d.root
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := v.(map[string]any)
		if !ok || m[part] == nil {
			t.Fatalf("dangling reference %s", ref)
		}
		v = m[part]
	}
	return v
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operation is one documented operation.
type operation struct {
	key    string // "METHOD /path" as documented
	path   string
	method string
	op     map[string]any
	params []any // path-level and operation-level parameters
}

func (d *oaDoc) operations() []operation {
	var out []operation
	for path, item := range obj(d.root["paths"]) {
		for _, m := range httpMethods {
			op := obj(obj(item)[m])
			if op == nil {
				continue
			}
			params, _ := obj(item)["parameters"].([]any)
			more, _ := op["parameters"].([]any)
			out = append(out, operation{key: strings.ToUpper(m) + " " + path, path: path,
				method: strings.ToUpper(m), op: op, params: append(slices.Clone(params), more...)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func (d *oaDoc) operation(t *testing.T, key string) operation {
	t.Helper()
	for _, o := range d.operations() {
		if o.key == key {
			return o
		}
	}
	t.Fatalf("%s is not documented", key)
	return operation{}
}

// schemaName returns the component name a media type's schema refers to.
func schemaName(media map[string]any) string {
	ref, _ := obj(media["schema"])["$ref"].(string)
	return strings.TrimPrefix(ref, "#/components/schemas/")
}

// examples returns the named examples of a media type as JSON.
func (d *oaDoc) examples(t *testing.T, media map[string]any) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	if v, ok := media["example"]; ok {
		out[""] = mustJSONValue(t, v)
	}
	for name, ex := range obj(media["examples"]) {
		ex := d.resolve(t, ex)
		v, ok := ex["value"]
		if !ok {
			t.Fatalf("example %s has no value", name)
		}
		if s, isString := v.(string); isString {
			out[name] = []byte(s) // text examples such as CSV
			continue
		}
		out[name] = mustJSONValue(t, v)
	}
	return out
}

func mustJSONValue(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("example is not JSON: %v", err)
	}
	return b
}

// requestExample returns the named request example of an operation.
func (d *oaDoc) requestExample(t *testing.T, key, name string) []byte {
	t.Helper()
	o := d.operation(t, key)
	body := d.resolve(t, o.op["requestBody"])
	ex, ok := d.examples(t, obj(obj(body["content"])["application/json"]))[name]
	if !ok {
		t.Fatalf("%s has no request example %q", key, name)
	}
	return ex
}

// responseExample returns the named example of one response of an
// operation (the response may be a reference to components).
func (d *oaDoc) responseExample(t *testing.T, key string, status int, contentType, name string) []byte {
	t.Helper()
	o := d.operation(t, key)
	resp := obj(o.op["responses"])[strconv.Itoa(status)]
	if resp == nil {
		t.Fatalf("%s does not document status %d", key, status)
	}
	media := obj(obj(d.resolve(t, resp)["content"])[contentType])
	ex, ok := d.examples(t, media)[name]
	if !ok {
		t.Fatalf("%s %d %s has no example %q", key, status, contentType, name)
	}
	return ex
}

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

func normaliseRoute(r string) string { return pathParam.ReplaceAllString(r, "{}") }

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	r := testenv.StartRedis(t)
	// Every optional dependency is set, so that the routes registered only
	// with it are listed too.
	api := httpapi.New(httpapi.Deps{Store: store.NewStore(r.Client(), "openapi-test:", clock.Real{}),
		Log: logrus.New(), Clock: clock.Real{}, Metrics: metrics.New(), Monitor: http.NotFoundHandler()})

	registered := map[string]string{}
	for _, route := range api.Routes() {
		registered[normaliseRoute(route)] = route
	}
	documented := map[string]string{}
	for _, o := range doc.operations() {
		documented[normaliseRoute(o.key)] = o.key
	}
	for norm, route := range registered {
		if _, ok := documented[norm]; !ok {
			t.Errorf("route %s is not documented in %s", route, openAPIFile)
		}
	}
	for norm, key := range documented {
		// The asynq web monitor is mounted for every method and sub-path
		// under MonitorPath; Routes lists only "METHOD /path" routes.
		if strings.HasPrefix(strings.SplitN(key, " ", 2)[1], httpapi.MonitorPath+"/") {
			continue
		}
		if _, ok := registered[norm]; !ok {
			t.Errorf("%s documents %s, which is not a registered route", openAPIFile, key)
		}
	}

	for _, o := range doc.operations() {
		checkOperation(t, doc, o)
	}
}

// checkOperation checks what every operation must document: its path
// parameters, its security and the statuses its kind of handler returns.
func checkOperation(t *testing.T, doc *oaDoc, o operation) {
	t.Helper()
	declared := map[string]bool{}
	for _, p := range o.params {
		p := doc.resolve(t, p)
		if p["in"] == "path" {
			declared[p["name"].(string)] = true
			if p["required"] != true {
				t.Errorf("%s: path parameter %s must be required", o.key, p["name"])
			}
		}
	}
	for _, m := range pathParam.FindAllString(o.path, -1) {
		if name := strings.Trim(m, "{}"); !declared[name] {
			t.Errorf("%s: path parameter %s is not declared", o.key, name)
		}
		delete(declared, strings.Trim(m, "{}"))
	}
	for name := range declared {
		t.Errorf("%s: parameter %s is not in the path", o.key, name)
	}

	sec, ok := o.op["security"].([]any)
	if !ok {
		t.Errorf("%s: no security given", o.key)
	}
	var schemes []string
	for _, req := range sec {
		for name := range obj(req) {
			schemes = append(schemes, name)
		}
	}
	slices.Sort(schemes)
	want := []string{}
	switch {
	case strings.HasPrefix(o.path, "/v1/"):
		want = []string{"adminToken", "apiToken"}
	case strings.HasPrefix(o.path, "/admin/"):
		want = []string{"adminToken"}
	}
	if !slices.Equal(schemes, want) {
		t.Errorf("%s: security schemes %v, want %v", o.key, schemes, want)
	}

	responses := obj(o.op["responses"])
	need := func(status int, why string) {
		if responses[strconv.Itoa(status)] == nil {
			t.Errorf("%s: status %d is not documented (%s)", o.key, status, why)
		}
	}
	if len(want) > 0 {
		need(401, "it takes a token")
	}
	if o.op["requestBody"] != nil {
		need(400, "it reads a JSON body")
		need(413, "its body is limited")
	}
	for status, resp := range responses {
		resp := doc.resolve(t, resp)
		if resp["description"] == nil {
			t.Errorf("%s %s: no description", o.key, status)
		}
		code, _ := strconv.Atoi(status)
		for ct, media := range obj(resp["content"]) {
			if ct == "application/json" && schemaName(obj(media)) == "" {
				t.Errorf("%s %s: the JSON schema must be a component reference", o.key, status)
			}
			if code >= 400 && schemaName(obj(media)) != "Error" {
				t.Errorf("%s %s: an error answer must use the Error schema", o.key, status)
			}
		}
	}
}

// Go types of the component schemas, for decoding examples strictly and for
// comparing field names. Types the handlers declare inline are mirrored
// here with the same JSON names.
type (
	closeRequest struct {
		Outcome leadworker.Outcome `json:"outcome"`
	}
	batchRequest struct {
		Leads []leadworker.Intake `json:"leads"`
	}
	errorDetail struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	}
	errorResponse struct {
		Error errorDetail `json:"error"`
	}
	batchItem struct {
		Index  int              `json:"index"`
		Status int              `json:"status"`
		Lead   *leadworker.Lead `json:"lead,omitempty"`
		Error  *errorDetail     `json:"error,omitempty"`
	}
	batchResult struct {
		Results []batchItem `json:"results"`
	}
	feedPage struct {
		Items []leadworker.FeedEntry `json:"items"`
	}
	runList struct {
		Runs []store.RunRecord `json:"runs"`
	}
	taskRequest struct {
		Type      string          `json:"type"`
		Payload   json.RawMessage `json:"payload"`
		ProcessAt *time.Time      `json:"process_at"`
	}
	queueInfo struct {
		Queue          string  `json:"queue"`
		Size           int     `json:"size"`
		Pending        int     `json:"pending"`
		Active         int     `json:"active"`
		Scheduled      int     `json:"scheduled"`
		Retry          int     `json:"retry"`
		Archived       int     `json:"archived"`
		Completed      int     `json:"completed"`
		Processed      int     `json:"processed_today"`
		Failed         int     `json:"failed_today"`
		Paused         bool    `json:"paused"`
		LatencySeconds float64 `json:"latency_seconds"`
	}
	queueStats struct {
		Queues []queueInfo `json:"queues"`
	}
	health struct {
		Status string `json:"status"`
	}
	smtpStatus struct {
		LastSuccess *time.Time `json:"last_success,omitempty"`
		LastError   string     `json:"last_error,omitempty"`
		LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	}
	readiness struct {
		Status string      `json:"status"`
		SMTP   *smtpStatus `json:"smtp,omitempty"`
	}
)

var goTypes = map[string]reflect.Type{
	"Intake":             reflect.TypeFor[leadworker.Intake](),
	"Lead":               reflect.TypeFor[leadworker.Lead](),
	"Customer":           reflect.TypeFor[leadworker.Customer](),
	"Person":             reflect.TypeFor[leadworker.Person](),
	"DealContact":        reflect.TypeFor[leadworker.Person](),
	"Notification":       reflect.TypeFor[leadworker.Notification](),
	"Money":              reflect.TypeFor[leadworker.Money](),
	"Deal":               reflect.TypeFor[leadworker.Deal](),
	"DealPatch":          reflect.TypeFor[leadworker.DealPatch](),
	"Decline":            reflect.TypeFor[leadworker.Decline](),
	"CloseRequest":       reflect.TypeFor[closeRequest](),
	"Contact":            reflect.TypeFor[leadworker.Contact](),
	"Contacts":           reflect.TypeFor[leadworker.Contacts](),
	"Preferences":        reflect.TypeFor[leadworker.Preferences](),
	"Partner":            reflect.TypeFor[leadworker.Partner](),
	"Page":               reflect.TypeFor[store.Page](),
	"BatchRequest":       reflect.TypeFor[batchRequest](),
	"BatchItem":          reflect.TypeFor[batchItem](),
	"BatchResult":        reflect.TypeFor[batchResult](),
	"FeedEntry":          reflect.TypeFor[leadworker.FeedEntry](),
	"Feed":               reflect.TypeFor[feedPage](),
	"RunRecord":          reflect.TypeFor[store.RunRecord](),
	"RunList":            reflect.TypeFor[runList](),
	"NotifyPayload":      reflect.TypeFor[tasks.NotifyPayload](),
	"DigestPayload":      reflect.TypeFor[tasks.DigestPayload](),
	"ClosingPayload":     reflect.TypeFor[tasks.ClosingPayload](),
	"ReminderPayload":    reflect.TypeFor[tasks.ReminderPayload](),
	"MaintenancePayload": reflect.TypeFor[tasks.MaintenancePayload](),
	"TaskRequest":        reflect.TypeFor[taskRequest](),
	"Enqueued":           reflect.TypeFor[tasks.Enqueued](),
	"QueueInfo":          reflect.TypeFor[queueInfo](),
	"QueueStats":         reflect.TypeFor[queueStats](),
	"Health":             reflect.TypeFor[health](),
	"Readiness":          reflect.TypeFor[readiness](),
	"SMTPStatus":         reflect.TypeFor[smtpStatus](),
	"ErrorDetail":        reflect.TypeFor[errorDetail](),
	"Error":              reflect.TypeFor[errorResponse](),
}

// taskPayloads are the payload types of the task types.
var taskPayloads = map[string]reflect.Type{
	tasks.TypeNotify:      reflect.TypeFor[tasks.NotifyPayload](),
	tasks.TypeDigest:      reflect.TypeFor[tasks.DigestPayload](),
	tasks.TypeClosing:     reflect.TypeFor[tasks.ClosingPayload](),
	tasks.TypeReminder:    reflect.TypeFor[tasks.ReminderPayload](),
	tasks.TypeMaintenance: reflect.TypeFor[tasks.MaintenancePayload](),
}

// jsonNames lists the JSON object keys encoding/json uses for a struct type,
// with embedded structs promoted (a shallower field shadows a deeper one).
func jsonNames(t reflect.Type) []string {
	seen := map[string]bool{}
	var names []string
	level := []reflect.Type{t}
	for len(level) > 0 {
		var next []reflect.Type
		here := map[string]bool{}
		for _, st := range level {
			for f := range st.Fields() {
				tag := f.Tag.Get("json")
				if tag == "-" || (!f.IsExported() && !f.Anonymous) {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
					next = append(next, f.Type)
					continue
				}
				if name == "" {
					name = f.Name
				}
				if !seen[name] {
					here[name] = true
				}
			}
		}
		for name := range here {
			seen[name] = true
			names = append(names, name)
		}
		level = next
	}
	slices.Sort(names)
	return names
}

func propertyNames(schema map[string]any) []string {
	var names []string
	for name := range obj(schema["properties"]) {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func enumOf(t *testing.T, doc *oaDoc, schema any) []string {
	t.Helper()
	var out []string
	for _, v := range doc.resolve(t, schema)["enum"].([]any) {
		out = append(out, fmt.Sprint(v))
	}
	return out
}

func TestOpenAPISchemasMatchGoTypes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	schemas := obj(obj(doc.root["components"])["schemas"])

	for name, s := range schemas {
		s := obj(s)
		if s["properties"] == nil {
			continue
		}
		typ, ok := goTypes[name]
		if !ok {
			t.Errorf("schema %s has no Go type to check it against; add it to goTypes", name)
			continue
		}
		if got, want := propertyNames(s), jsonNames(typ); !slices.Equal(got, want) {
			t.Errorf("schema %s has properties %v; %s encodes %v", name, got, typ, want)
		}
		required, _ := s["required"].([]any)
		for _, req := range required {
			if !slices.Contains(propertyNames(s), req.(string)) {
				t.Errorf("schema %s requires %s, which it does not define", name, req)
			}
		}
	}
	partnerContacts := obj(obj(obj(schemas["Partner"])["properties"])["contacts"])
	if got, want := propertyNames(partnerContacts), jsonNames(reflect.TypeFor[leadworker.Contacts]()); !slices.Equal(got, want) {
		t.Errorf("Partner.contacts has properties %v, want %v", got, want)
	}

	ref := func(name string) any { return map[string]any{"$ref": "#/components/schemas/" + name} }
	prop := func(schema, property string) any {
		return obj(obj(schemas[schema])["properties"])[property]
	}
	ordered := []struct {
		what   string
		schema any
		want   []string
	}{
		{"Kind", ref("Kind"), leadworker.Kinds},
		{"LeadType", ref("LeadType"), leadworker.LeadTypes},
		{"CallToAction", ref("CallToAction"), leadworker.CallsToAction},
		{"Source", ref("Source"), leadworker.Sources},
		{"Quality", ref("Quality"), leadworker.Qualities},
		{"EmailValidity", ref("EmailValidity"), leadworker.EmailValidites},
		{"PhoneValidity", ref("PhoneValidity"), leadworker.PhoneValidites},
		{"Status", ref("Status"), leadworker.Statuses},
		{"Outcome", ref("Outcome"), leadworker.Outcomes},
		{"Alert", ref("Alert"), []string{string(leadworker.AlertNone), string(leadworker.AlertContactMe), string(leadworker.AlertContactMeOverdue)}},
		{"Locale", ref("Locale"), leadworker.Locales},
		{"Job", ref("Job"), tasks.JobNames},
		{"TaskType", ref("TaskType"), tasks.TaskTypes},
		{"ReminderPayload.stage", prop("ReminderPayload", "stage"), []string{tasks.StageFirst, tasks.StageExpiry}},
		{"CloseRequest.outcome", prop("CloseRequest", "outcome"), []string{string(leadworker.OutcomeWon), string(leadworker.OutcomeLost)}},
	}
	for _, tt := range ordered {
		if got := enumOf(t, doc, tt.schema); !slices.Equal(got, tt.want) {
			t.Errorf("enum %s is %v, want %v", tt.what, got, tt.want)
		}
	}
	feedTypes := feedTypeConsts(t)
	if got := enumOf(t, doc, prop("FeedEntry", "type")); !sameSet(got, feedTypes) {
		t.Errorf("enum FeedEntry.type is %v; package leadworker declares %v", got, feedTypes)
	}

	// The error codes and their statuses, read from worker/httpapi/errors.go.
	table := statusTable(t)
	var codes []string
	for code := range table {
		codes = append(codes, code)
	}
	if got := enumOf(t, doc, prop("ErrorDetail", "code")); !sameSet(got, codes) {
		t.Errorf("enum ErrorDetail.code is %v; errors.go maps %v", got, codes)
	}
	// Every error example sits under the status of its code.
	check := func(where string, status int, media map[string]any) {
		for name, ex := range doc.examples(t, media) {
			var e errorResponse
			if err := json.Unmarshal(ex, &e); err != nil {
				t.Errorf("%s example %s: %v", where, name, err)
				continue
			}
			if table[e.Error.Code] != status {
				t.Errorf("%s example %s: code %s answers %d, not %d", where, name, e.Error.Code, table[e.Error.Code], status)
			}
		}
	}
	for _, o := range doc.operations() {
		for st, resp := range obj(o.op["responses"]) {
			status, _ := strconv.Atoi(st)
			if status >= 400 {
				check(o.key+" "+st, status, obj(obj(doc.resolve(t, resp)["content"])["application/json"]))
			}
		}
	}
	// Operations reference the other component responses, checked above;
	// these two answer on every path instead.
	for name, status := range map[string]int{"NotFound": 404, "MethodNotAllowed": 405} {
		resp := obj(obj(obj(doc.root["components"])["responses"])[name])
		check("components.responses."+name, status, obj(obj(resp["content"])["application/json"]))
	}

	// The query parameters of GET /v1/leads are the keys of listParams.
	var documented []string
	for _, p := range doc.operation(t, "GET /v1/leads").params {
		if p := doc.resolve(t, p); p["in"] == "query" {
			documented = append(documented, p["name"].(string))
		}
	}
	if accepted := compositeKeys(t, "httpapi/list.go", "listParams"); !sameSet(documented, accepted) {
		t.Errorf("GET /v1/leads documents query parameters %v; list.go's listParams accepts %v", documented, accepted)
	}
}

// feedTypeConsts returns the values of package leadworker's string
// constants named Feed<Something>: the feed entry types.
func feedTypeConsts(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, feedConsts(f)...)
	}
	if len(out) == 0 {
		t.Fatal("no Feed* constants found in package leadworker")
	}
	return out
}

// feedConsts returns the values of f's string constants named Feed<X>.
func feedConsts(f *ast.File) []string {
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			if !regexp.MustCompile(`^Feed[A-Z]`).MatchString(name.Name) || i >= len(vs.Values) {
				continue
			}
			if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				v, _ := strconv.Unquote(lit.Value)
				out = append(out, v)
			}
		}
		return true
	})
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// compositeKeys returns the string keys of the map literal assigned to the
// package-level variable name in file.
func compositeKeys(t *testing.T, file, name string) []string {
	t.Helper()
	lit := packageVar(t, file, name)
	var keys []string
	for _, elt := range lit.Elts {
		kv := elt.(*ast.KeyValueExpr)
		s, err := strconv.Unquote(kv.Key.(*ast.BasicLit).Value)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, s)
	}
	return keys
}

func packageVar(t *testing.T, file, name string) *ast.CompositeLit {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, spec := range gen.Specs {
			vs, ok := spec.(*ast.ValueSpec)
			if !ok {
				continue
			}
			for i, n := range vs.Names {
				if n.Name == name && i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.CompositeLit); ok {
						return lit
					}
				}
			}
		}
	}
	t.Fatalf("%s has no variable %s", file, name)
	return nil
}

// statusTable reads errors.go's statusOf: every error code and its status.
func statusTable(t *testing.T) map[string]int {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "httpapi/errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{"EInvalid": leadworker.EInvalid, "ENotFound": leadworker.ENotFound,
		"EConflict": leadworker.EConflict, "EInternal": leadworker.EInternal}
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok {
			for i, name := range vs.Names {
				if i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						consts[name.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
		return true
	})
	statuses := map[string]int{}
	for code := 100; code < 600; code++ {
		if text := http.StatusText(code); text != "" {
			statuses["Status"+strings.Map(func(r rune) rune {
				if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' {
					return r
				}
				return -1
			}, text)] = code
		}
	}
	table := map[string]int{}
	for _, elt := range packageVar(t, "httpapi/errors.go", "statusOf").Elts {
		kv := elt.(*ast.KeyValueExpr)
		var key string
		switch k := kv.Key.(type) {
		case *ast.Ident:
			key = k.Name
		case *ast.SelectorExpr:
			key = k.Sel.Name
		}
		code, ok := consts[key]
		status, known := statuses[kv.Value.(*ast.SelectorExpr).Sel.Name]
		if !ok || !known {
			t.Fatalf("cannot read statusOf entry %s", key)
		}
		table[code] = status
	}
	return table
}

// decodeStrict decodes b into a new value of typ, refusing unknown fields.
func decodeStrict(b []byte, typ reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(reflect.New(typ).Interface()); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

func TestOpenAPIExamplesDecodeIntoGoTypes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	n := 0
	check := func(where string, media map[string]any) {
		name := schemaName(media)
		typ, ok := goTypes[name]
		if !ok {
			t.Errorf("%s: schema %q has no Go type", where, name)
			return
		}
		for ex, b := range doc.examples(t, media) {
			n++
			if err := decodeStrict(b, typ); err != nil {
				t.Errorf("%s example %s does not decode into %s: %v", where, ex, typ, err)
				continue
			}
			if name == "TaskRequest" {
				var req taskRequest
				_ = json.Unmarshal(b, &req)
				if err := decodeStrict(req.Payload, taskPayloads[req.Type]); err != nil {
					t.Errorf("%s example %s: payload does not fit %s: %v", where, ex, req.Type, err)
				}
			}
		}
	}
	for _, o := range doc.operations() {
		if rb := o.op["requestBody"]; rb != nil {
			for ct, media := range obj(doc.resolve(t, rb)["content"]) {
				if ct != "application/json" {
					t.Errorf("%s: request body %s; the API reads JSON only", o.key, ct)
				}
				check(o.key+" request", obj(media))
			}
		}
		for st, resp := range obj(o.op["responses"]) {
			if media := obj(obj(doc.resolve(t, resp)["content"])["application/json"]); media != nil {
				check(o.key+" "+st, media)
			}
		}
	}
	if n < 50 {
		t.Errorf("only %d examples found; the document should have one per request body and answer", n)
	}
}

// call sends one request; token "" sends none.
func call(t *testing.T, e *env, method, path, token string, body []byte, header ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res, raw
}

// volatileFields differ from run to run: times of intake and changes, and
// the announcement, which goes out asynchronously.
var volatileFields = []string{"updated_at", "archived_at", "accepted_at", "notification"}

func stripFields(v any, fields []string) any {
	switch x := v.(type) {
	case map[string]any:
		for _, f := range fields {
			delete(x, f)
		}
		for k := range x {
			x[k] = stripFields(x[k], fields)
		}
	case []any:
		for i := range x {
			x[i] = stripFields(x[i], fields)
		}
	}
	return v
}

// sameJSON reports whether got and want are equal but for the given fields.
func sameJSON(t *testing.T, got, want []byte, ignore []string) (bool, string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return false, fmt.Sprintf("answer is not JSON: %v", err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	g, w = stripFields(g, ignore), stripFields(w, ignore)
	if reflect.DeepEqual(g, w) {
		return true, ""
	}
	gb, _ := json.MarshalIndent(g, "", "  ")
	wb, _ := json.MarshalIndent(w, "", "  ")
	return false, fmt.Sprintf("got  %s\nwant %s", gb, wb)
}

const (
	testAPIToken   = "api-token-0123456789"
	testAdminToken = "admin-token-0123456789"
)

func TestOpenAPIExamplesAgainstTheDaemon(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	e := setup(t, "LEADWORKER_SCHEDULE", "off")

	// Every request example, in an order that makes sense of them; the
	// answer is compared with the response example of the same name where
	// the document has one.
	type step struct {
		method, path string
		op           string // documented operation
		example      string // request example, "" for no body
		status       int
		response     string   // response example to compare with, "" for none
		volatile     []string // fields besides volatileFields that differ per run
	}
	const lead1 = "/v1/leads/L-20261120-0001"
	leadSteps := []step{
		{"PUT", "/v1/partners/P-100/contacts", "PUT /v1/partners/{id}/contacts", "fabrikam_japan", 200, "fabrikam_japan", nil},
		{"PUT", "/v1/partners/P-200/contacts", "PUT /v1/partners/{id}/contacts", "northwind_taiwan", 200, "northwind_taiwan", nil},
		{"PUT", "/v1/partners/P-200/preferences", "PUT /v1/partners/{id}/preferences", "northwind_taiwan", 200, "northwind_taiwan", nil},
		{"GET", "/v1/partners/P-200", "GET /v1/partners/{id}", "", 200, "northwind_taiwan", nil},
		{"POST", "/v1/leads", "POST /v1/leads", "offer_contact_me", 201, "offer_contact_me", nil},
		{"POST", "/v1/leads", "POST /v1/leads", "offer_contact_me", 200, "offer_contact_me", nil},
		{"POST", "/v1/leads", "POST /v1/leads", "qualified_profile", 201, "qualified_profile", nil},
		{"POST", "/v1/leads", "POST /v1/leads", "informational_offer", 201, "informational_offer", nil},
		{"POST", "/v1/leads:batch", "POST /v1/leads:batch", "two_good_one_bad", 200, "two_good_one_bad", nil},
		{"POST", lead1 + "/accept", "POST /v1/leads/{id}/accept", "vm_migration", 200, "vm_migration", nil},
		{"POST", "/v1/leads/L-100-0000/accept", "POST /v1/leads/{id}/accept", "minimal", 200, "minimal", nil},
		{"PATCH", lead1 + "/deal", "PATCH /v1/leads/{id}/deal", "raise_value", 200, "raise_value", nil},
		{"GET", lead1, "GET /v1/leads/{id}", "", 200, "accepted", nil},
		{"POST", "/v1/leads/L-100-0001/decline", "POST /v1/leads/{id}/decline", "no_capacity", 200, "no_capacity", nil},
		{"PUT", "/v1/leads/L-100-0002/favorite", "PUT /v1/leads/{id}/favorite", "", 200, "favorite", nil},
		{"DELETE", "/v1/leads/L-100-0002/favorite", "DELETE /v1/leads/{id}/favorite", "", 200, "unfavorite", nil},
		{"POST", lead1 + "/close", "POST /v1/leads/{id}/close", "won", 200, "won", nil},
		{"POST", "/v1/leads/L-100-0000/close", "POST /v1/leads/{id}/close", "lost", 200, "lost", nil},
		{"GET", "/v1/leads?partner_id=P-100&status=received&limit=1", "GET /v1/leads", "", 200, "received_page", nil},
		{"GET", "/v1/partners/P-100/notifications", "GET /v1/partners/{id}/notifications", "", 200, "", nil},
	}
	// The admin steps come last: the maintenance runs they enqueue would,
	// some day after the examples' dates, expire or archive the leads above.
	adminSteps := []step{
		{"POST", "/admin/v1/tasks", "POST /admin/v1/tasks", "resend_announcement", 202, "resend_announcement", []string{"process_at"}},
		{"POST", "/admin/v1/tasks", "POST /admin/v1/tasks", "digest", 202, "digest", []string{"process_at"}},
		{"POST", "/admin/v1/tasks", "POST /admin/v1/tasks", "closing_notice", 202, "closing_notice", []string{"process_at"}},
		{"POST", "/admin/v1/tasks", "POST /admin/v1/tasks", "reminder", 202, "reminder", nil},
		{"POST", "/admin/v1/tasks", "POST /admin/v1/tasks", "maintenance", 202, "maintenance", []string{"process_at", "task_id"}},
		{"POST", "/admin/v1/maintenance/expire", "POST /admin/v1/maintenance/{job}", "", 202, "expire", []string{"process_at", "task_id"}},
		{"GET", "/admin/v1/maintenance/expire", "GET /admin/v1/maintenance/{job}", "", 200, "", nil},
		{"GET", "/admin/v1/queues", "GET /admin/v1/queues", "", 200, "", nil},
		{"GET", "/healthz", "GET /healthz", "", 200, "ok", nil},
		{"GET", "/readyz", "GET /readyz", "", 200, "ready", []string{"smtp"}},
	}
	used := map[string]bool{}
	run := func(steps []step) {
		t.Helper()
		for _, s := range steps {
			o := doc.operation(t, s.op)
			if !pathMatches(o.path, strings.Split(s.path, "?")[0]) {
				t.Fatalf("step %s %s is not an instance of %s", s.method, s.path, s.op)
			}
			var body []byte
			if s.example != "" {
				body = doc.requestExample(t, s.op, s.example)
				used[s.op+" "+s.example] = true
			}
			res, raw := call(t, e, s.method, s.path, tokenFor(s.path), body)
			if res.StatusCode != s.status {
				t.Fatalf("%s %s with example %q: status %d, want %d: %s", s.method, s.path, s.example, res.StatusCode, s.status, raw)
			}
			resp := obj(o.op["responses"])[strconv.Itoa(s.status)]
			if resp == nil {
				t.Errorf("%s answered %d, which is not documented", s.op, s.status)
				continue
			}
			doc.checkKeys(t, s.method+" "+s.path, doc.resolve(t, resp), raw)
			if s.response == "" {
				continue
			}
			want := doc.responseExample(t, s.op, s.status, "application/json", s.response)
			if ok, diff := sameJSON(t, raw, want, append(slices.Clone(volatileFields), s.volatile...)); !ok {
				t.Errorf("%s %s: the answer differs from the documented example %q:\n%s", s.method, s.path, s.response, diff)
			}
		}
	}
	run(leadSteps)

	t.Run("query parameter examples", func(t *testing.T) {
		for _, key := range []string{"GET /v1/leads", "GET /v1/partners/{id}/notifications"} {
			o := doc.operation(t, key)
			for _, p := range o.params {
				p := doc.resolve(t, p)
				if p["in"] != "query" {
					continue
				}
				ex, ok := p["example"]
				if !ok {
					t.Errorf("%s: query parameter %s has no example", key, p["name"])
					continue
				}
				path := strings.ReplaceAll(o.path, "{id}", "P-100") + "?" + url.Values{p["name"].(string): {fmt.Sprint(ex)}}.Encode()
				res, raw := call(t, e, "GET", path, testAPIToken, nil)
				if res.StatusCode != 200 {
					t.Errorf("GET %s: %d: %s", path, res.StatusCode, raw)
				}
			}
		}
	})

	t.Run("csv export", func(t *testing.T) {
		want := doc.responseExample(t, "GET /v1/leads", 200, "text/csv", "export")
		header, _, _ := strings.Cut(string(want), "\n")
		for _, how := range [][]string{{"?partner_id=P-100&format=csv"}, {"?partner_id=P-100", "Accept", "text/csv"}} {
			res, raw := call(t, e, "GET", "/v1/leads"+how[0], testAPIToken, nil, how[1:]...)
			if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("GET /v1/leads%s %v: %d %s", how[0], how[1:], res.StatusCode, res.Header.Get("Content-Type"))
			}
			got, _, _ := strings.Cut(string(raw), "\n")
			if strings.TrimSuffix(got, "\r") != header {
				t.Errorf("CSV header\n got  %s\n want %s", got, header)
			}
			if n := strings.Count(string(raw), "\n"); n != 6 {
				t.Errorf("CSV export of P-100 has %d lines, want a header and 5 leads:\n%s", n, raw)
			}
		}
	})

	// Error examples the scenario can reproduce exactly.
	t.Run("error examples", func(t *testing.T) {
		intake := doc.requestExample(t, "POST /v1/leads", "offer_contact_me")
		edit := func(b []byte, fn func(map[string]any)) []byte {
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			fn(m)
			return mustMarshal(m)
		}
		checks := []struct {
			method, path, token string
			body                []byte
			op                  string
			status              int
			example             string
		}{
			{"POST", "/v1/leads", testAPIToken, edit(intake, func(m map[string]any) { m["id"] = "L-20261120-0002"; delete(m, "call_to_action") }),
				"POST /v1/leads", 400, "missing_call_to_action"},
			{"POST", "/v1/leads", testAPIToken, edit(intake, func(m map[string]any) { m["need"] = "Something else" }),
				"POST /v1/leads", 409, "id_reused"},
			{"POST", "/v1/leads", testAPIToken, edit(intake, func(m map[string]any) { m["id"] = "L-20261120-0003"; m["priority"] = 1 }),
				"POST /v1/leads", 400, "unknown_field"},
			{"POST", "/v1/leads:batch", testAPIToken, []byte(`{"leads": []}`), "POST /v1/leads:batch", 400, "empty"},
			{"GET", "/v1/leads/L-20261120-9999", testAPIToken, nil, "GET /v1/leads/{id}", 404, "unknown_lead"},
			{"POST", "/v1/leads/L-100-0001/accept", testAPIToken, doc.requestExample(t, "POST /v1/leads/{id}/accept", "minimal"),
				"POST /v1/leads/{id}/accept", 409, "archived"},
			{"PATCH", "/v1/leads/L-100-0002/deal", testAPIToken, []byte(`{}`), "PATCH /v1/leads/{id}/deal", 409, "received"},
			{"POST", "/v1/leads/L-100-0002/close", testAPIToken, []byte(`{"outcome": "won"}`), "POST /v1/leads/{id}/close", 409, "received"},
			{"POST", "/v1/leads/L-100-0002/close", testAPIToken, []byte(`{"outcome": "abandoned"}`), "POST /v1/leads/{id}/close", 400, "bad_outcome"},
			{"POST", "/v1/leads/L-100-0002/decline", testAPIToken, []byte(`{"notes": "n/a"}`), "POST /v1/leads/{id}/decline", 400, "no_reason"},
			{"PUT", "/v1/leads/L-100-0001/favorite", testAPIToken, nil, "PUT /v1/leads/{id}/favorite", 409, "archived"},
			{"GET", "/v1/partners/P-999", testAPIToken, nil, "GET /v1/partners/{id}", 404, "unknown_partner"},
			{"PUT", "/v1/partners/P-999/contacts", testAPIToken, []byte(`{}`), "PUT /v1/partners/{id}/contacts", 400, "no_default"},
			{"PUT", "/v1/partners/P-999/preferences", testAPIToken, []byte(`{"locale": "fr"}`), "PUT /v1/partners/{id}/preferences", 400, "bad_locale"},
			{"GET", "/v1/partners/P-100/notifications?limit=500", testAPIToken, nil, "GET /v1/partners/{id}/notifications", 400, "bad_limit"},
			{"GET", "/v1/leads?sort=newest", testAPIToken, nil, "GET /v1/leads", 400, "unknown_parameter"},
			{"GET", "/v1/leads?limit=0", testAPIToken, nil, "GET /v1/leads", 400, "bad_limit"},
			{"POST", "/admin/v1/maintenance/vacuum", testAdminToken, nil, "POST /admin/v1/maintenance/{job}", 400, "unknown_job"},
			{"POST", "/admin/v1/tasks", testAdminToken, []byte(`{"type": "lead:delete", "payload": {}}`), "POST /admin/v1/tasks", 400, "unknown_type"},
			{"GET", "/admin/v1/queues", "", nil, "GET /admin/v1/queues", 401, "no_token"},
			{"GET", "/admin/v1/queues", testAPIToken, nil, "GET /admin/v1/queues", 401, "wrong_token"},
		}
		for _, c := range checks {
			res, raw := call(t, e, c.method, c.path, c.token, c.body)
			if res.StatusCode != c.status {
				t.Errorf("%s %s: status %d, want %d: %s", c.method, c.path, res.StatusCode, c.status, raw)
				continue
			}
			doc.checkKeys(t, c.method+" "+c.path, doc.resolve(t, obj(doc.operation(t, c.op).op["responses"])[strconv.Itoa(c.status)]), raw)
			want := doc.responseExample(t, c.op, c.status, "application/json", c.example)
			if ok, diff := sameJSON(t, raw, want, nil); !ok {
				t.Errorf("%s %s: the answer differs from the documented example %q:\n%s", c.method, c.path, c.example, diff)
			}
			if c.status == 401 && res.Header.Get("WWW-Authenticate") != `Bearer realm="leadworker"` {
				t.Errorf("%s %s: WWW-Authenticate %q", c.method, c.path, res.Header.Get("WWW-Authenticate"))
			}
		}
		// The answers every path gives to unknown endpoints and methods.
		res, raw := call(t, e, "GET", "/v2/leads", testAPIToken, nil)
		want := doc.examples(t, obj(obj(doc.resolve(t, map[string]any{"$ref": "#/components/responses/NotFound"})["content"])["application/json"]))["no_such_endpoint"]
		if ok, diff := sameJSON(t, raw, want, nil); res.StatusCode != 404 || !ok {
			t.Errorf("GET /v2/leads: %d\n%s", res.StatusCode, diff)
		}
		res, raw = call(t, e, "GET", "/v1/leads:batch", testAPIToken, nil)
		want = doc.examples(t, obj(obj(doc.resolve(t, map[string]any{"$ref": "#/components/responses/MethodNotAllowed"})["content"])["application/json"]))["get_batch"]
		if ok, diff := sameJSON(t, raw, want, nil); res.StatusCode != 405 || res.Header.Get("Allow") != "POST" || !ok {
			t.Errorf("GET /v1/leads:batch: %d Allow %q\n%s", res.StatusCode, res.Header.Get("Allow"), diff)
		}
	})

	t.Run("metrics and monitor", func(t *testing.T) {
		res, raw := call(t, e, "GET", "/metrics", "", nil)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("GET /metrics: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
		excerpt := doc.responseExample(t, "GET /metrics", 200, "text/plain", "excerpt")
		for _, line := range strings.Split(string(excerpt), "\n") {
			if strings.HasPrefix(line, "# ") && !strings.Contains(string(raw), line+"\n") {
				t.Errorf("GET /metrics has no line %q", line)
			}
		}
		res, _ = call(t, e, "GET", httpapi.MonitorPath+"/", testAdminToken, nil)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s/: %d %s", httpapi.MonitorPath, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if res, _ = call(t, e, "GET", httpapi.MonitorPath+"/", testAPIToken, nil); res.StatusCode != 401 {
			t.Errorf("GET %s/ with an API token: %d, want 401", httpapi.MonitorPath, res.StatusCode)
		}
	})

	run(adminSteps)
	for _, o := range doc.operations() {
		rb := o.op["requestBody"]
		if rb == nil {
			continue
		}
		for name := range doc.examples(t, obj(obj(doc.resolve(t, rb)["content"])["application/json"])) {
			if !used[o.key+" "+name] {
				t.Errorf("request example %q of %s is never sent; add a step for it", name, o.key)
			}
		}
	}
}

// checkKeys reports the keys of a JSON answer, at any depth, that the
// response's schema does not define.
func (d *oaDoc) checkKeys(t *testing.T, where string, resp map[string]any, raw []byte) {
	t.Helper()
	media := obj(obj(resp["content"])["application/json"])
	if media == nil {
		return
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Errorf("%s: the answer is not JSON: %v", where, err)
		return
	}
	for _, key := range d.undocumented(t, media["schema"], v, "") {
		t.Errorf("%s: the answer has %s, which %s does not document", where, key, schemaName(media))
	}
}

func (d *oaDoc) undocumented(t *testing.T, schema, v any, at string) []string {
	t.Helper()
	var out []string
	s := d.resolve(t, schema)
	switch x := v.(type) {
	case map[string]any:
		props := map[string]any{}
		var extra any
		closed := false
		d.collect(t, s, props, &extra, &closed)
		for k, val := range x {
			switch sub, ok := props[k]; {
			case ok:
				out = append(out, d.undocumented(t, sub, val, at+"."+k)...)
			case extra != nil:
				out = append(out, d.undocumented(t, extra, val, at+"."+k)...)
			case closed || len(props) > 0:
				out = append(out, at+"."+k)
			}
		}
	case []any:
		if items := s["items"]; items != nil {
			for i, val := range x {
				out = append(out, d.undocumented(t, items, val, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return out
}

// collect gathers the properties a schema defines, through allOf, oneOf and
// anyOf.
func (d *oaDoc) collect(t *testing.T, s map[string]any, props map[string]any, extra *any, closed *bool) {
	t.Helper()
	for k, v := range obj(s["properties"]) {
		props[k] = v
	}
	switch ap := s["additionalProperties"].(type) {
	case bool:
		*closed = *closed || !ap
	case map[string]any:
		*extra = ap
	}
	for _, kw := range []string{"allOf", "oneOf", "anyOf"} {
		subs, _ := s[kw].([]any)
		for _, sub := range subs {
			d.collect(t, d.resolve(t, sub), props, extra, closed)
		}
	}
}

// pathMatches reports whether path is an instance of the template.
func pathMatches(template, path string) bool {
	ts, ps := strings.Split(template, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if strings.HasPrefix(ts[i], "{") && strings.HasSuffix(ts[i], "}") {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if ts[i] != ps[i] {
			return false
		}
	}
	return true
}

func tokenFor(path string) string {
	switch {
	case strings.HasPrefix(path, "/admin/"):
		return testAdminToken
	case strings.HasPrefix(path, "/v1/"):
		return testAPIToken
	}
	return ""
}

func TestOpenAPIIsServed(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	e := setup(t, "LEADWORKER_SCHEDULE", "off")
	res, raw := call(t, e, "GET", "/openapi.yaml", "", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /openapi.yaml without a token: %d: %s", res.StatusCode, raw)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/yaml") {
		t.Errorf("Content-Type %q, want application/yaml", ct)
	}
	if !bytes.Equal(raw, doc.raw) {
		t.Errorf("GET /openapi.yaml serves %d bytes that differ from %s (%d bytes)", len(raw), openAPIFile, len(doc.raw))
	}
}
