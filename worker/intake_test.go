package worker_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestIntakeIsIdempotent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	created := e.must(201, "POST", "/v1/leads", lead("L-I-1"))
	if created["status"] != "received" || created["alert"] != "contact_me" || created["informational"] != false {
		t.Fatalf("new lead: %v", created)
	}
	// The same lead, with its time written in another zone: same body.
	again := e.must(200, "POST", "/v1/leads", lead("L-I-1", func(l map[string]any) {
		at, _ := time.Parse(time.RFC3339, l["created_at"].(string))
		l["created_at"] = at.In(time.FixedZone("JST", 9*3600)).Format(time.RFC3339)
	}))
	if again["id"] != "L-I-1" || again["updated_at"] != created["updated_at"] {
		t.Fatalf("repeat intake returned %v, want the stored lead %v", again, created)
	}
	res := e.do("POST", "/v1/leads", lead("L-I-1", func(l map[string]any) { l["need"] = "something else" }))
	if code, field, _ := res.Error(t); res.Status != 409 || code != "conflict" || field != "id" {
		t.Fatalf("other body under the same id: %d %s", res.Status, res.Body)
	}
	if got := e.must(200, "GET", "/v1/leads/L-I-1", nil); got["need"] != "Migrate 40 VMs to the cloud" {
		t.Fatalf("a refused intake changed the lead: %v", got["need"])
	}
}

func TestIntakeDerivesStateAndDefaults(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tests := []struct {
		name          string
		change        func(map[string]any)
		informational bool
		alert         string
	}{
		{"contact me offer", nil, false, "contact_me"},
		{"free trial offer", func(l map[string]any) { l["call_to_action"] = "free_trial"; l["contact_requested"] = false }, true, "none"},
		{"get it now offer", func(l map[string]any) { l["call_to_action"] = "get_it_now" }, true, "contact_me"},
		{"profile lead", func(l map[string]any) { l["lead_type"] = "profile"; delete(l, "call_to_action") }, false, "contact_me"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("L-S-%d", i)
			changes := []func(map[string]any){func(l map[string]any) { delete(l, "quality"); delete(l, "created_at") }}
			if tt.change != nil {
				changes = append(changes, tt.change)
			}
			got := e.must(201, "POST", "/v1/leads", lead(id, changes...))
			if got["informational"] != tt.informational || got["alert"] != tt.alert || got["quality"] != "high" {
				t.Fatalf("informational %v alert %v quality %v", got["informational"], got["alert"], got["quality"])
			}
			if got["created_at"] == nil || got["created_at"] == "" {
				t.Fatal("created_at did not default to the time of intake")
			}
		})
	}
}

func TestBatchStoresGoodItemsAndNamesBadOnes(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.must(201, "POST", "/v1/leads", lead("L-B-0"))
	body := `{"leads": [` + strings.Join([]string{
		jsonOf(lead("L-B-1")),
		jsonOf(lead("L-B-2", func(l map[string]any) { l["customer"].(map[string]any)["email"] = "not an email" })),
		jsonOf(lead("L-B-3", func(l map[string]any) { l["kind"] = "cold_call" })),
		`{"id": 42}`,
		jsonOf(lead("L-B-0")),
		jsonOf(lead("L-B-0", func(l map[string]any) { l["need"] = "changed" })),
		jsonOf(lead("L-B-6", func(l map[string]any) { l["partner_id"] = "P-200" })),
	}, ",") + `]}`
	got := e.must(200, "POST", "/v1/leads:batch", body)
	results := got["results"].([]any)
	want := []struct {
		status int
		field  string
	}{{201, ""}, {400, "leads[1].customer.email"}, {400, "leads[2].kind"}, {400, "leads[3].id"}, {200, ""}, {409, "leads[5].id"}, {201, ""}}
	if len(results) != len(want) {
		t.Fatalf("%d results for %d items", len(results), len(want))
	}
	for i, w := range want {
		r := results[i].(map[string]any)
		if int(r["status"].(float64)) != w.status || int(r["index"].(float64)) != i {
			t.Errorf("item %d: %v, want status %d", i, r, w.status)
		}
		if w.field != "" && r["error"].(map[string]any)["field"] != w.field {
			t.Errorf("item %d: error %v, want field %s", i, r["error"], w.field)
		}
	}
	for id, want := range map[string]int{"L-B-1": 200, "L-B-2": 404, "L-B-3": 404, "L-B-6": 200} {
		if res := e.do("GET", "/v1/leads/"+id, nil); res.Status != want {
			t.Errorf("GET %s: %d, want %d", id, res.Status, want)
		}
	}
}

func TestBatchLimits(t *testing.T) {
	t.Parallel()
	e := setup(t)
	items := make([]string, 1001)
	for i := range items {
		items[i] = jsonOf(lead(fmt.Sprintf("L-M-%04d", i)))
	}
	tests := []struct {
		name, body string
		status     int
		field      string
	}{
		{"empty", `{"leads": []}`, 400, "leads"},
		{"over 1000", `{"leads": [` + strings.Join(items, ",") + `]}`, 400, "leads"},
		{"exactly 1000", `{"leads": [` + strings.Join(items[:1000], ",") + `]}`, 200, ""},
		{"over 16 MiB", `{"leads": ["` + strings.Repeat("x", 16<<20) + `"]}`, 413, ""},
	}
	for _, tt := range tests {
		res := e.do("POST", "/v1/leads:batch", tt.body)
		if res.Status != tt.status {
			t.Fatalf("%s: status %d, want %d: %.300s", tt.name, res.Status, tt.status, res.Body)
		}
		if tt.field != "" {
			if _, field, _ := res.Error(t); field != tt.field {
				t.Fatalf("%s: field %q, want %q", tt.name, field, tt.field)
			}
		}
	}
	// The export streams all 1,000 over several pages.
	res := e.do("GET", "/v1/leads?format=csv", nil)
	if lines := strings.Count(string(res.Body), "\n"); res.Status != 200 || lines != 1001 {
		t.Fatalf("export of the 1000 batch: status %d, %d lines", res.Status, lines)
	}
}

func jsonOf(v map[string]any) string {
	return string(mustMarshal(v))
}
