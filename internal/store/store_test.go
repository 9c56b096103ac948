package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/leadworker/leadworker/internal/testenv"
	"github.com/redis/go-redis/v9"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// setup returns a store on a fresh redis-server with a simulated clock at t0.
func setup(t *testing.T) (*store.Store, *redis.Client, *clock.Simulated) {
	t.Helper()
	rdb := testenv.StartRedis(t).Client()
	clk := clock.NewSimulated(t0)
	s := store.NewStore(rdb, "t:", clk)
	if err := s.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, rdb, clk
}

func intake(id string, created time.Time, change ...func(*leadworker.Intake)) leadworker.Intake {
	in := leadworker.Intake{ID: id, PartnerID: "P-1", Kind: leadworker.KindCustomerInquiry, LeadType: leadworker.LeadTypeOffer,
		CallToAction: leadworker.CTAContactMe, ContactRequested: true, CreatedAt: &created,
		Customer: leadworker.Customer{Company: "Contoso", Name: "Hanako", Email: "h@contoso.example", Phone: "+81 3 0000", Country: "JP"}}
	for _, c := range change {
		c(&in)
	}
	return in
}

func mustCreate(t *testing.T, s *store.Store, in leadworker.Intake) *leadworker.Lead {
	t.Helper()
	res := s.Create(context.Background(), in)
	if res.Err != nil || !res.Created {
		t.Fatalf("create %s: %+v", in.ID, res)
	}
	return res.Lead
}

func TestExpireRespectsCutoffStatusAndKind(t *testing.T) {
	t.Parallel()
	s, rdb, _ := setup(t)
	ctx := context.Background()
	cutoff := t0.Add(-14 * 24 * time.Hour)
	mustCreate(t, s, intake("due", cutoff))
	mustCreate(t, s, intake("young", cutoff.Add(time.Second)))
	mustCreate(t, s, intake("trial", cutoff.Add(-time.Hour), func(in *leadworker.Intake) { in.CallToAction = leadworker.CTAFreeTrial }))
	mustCreate(t, s, intake("accepted", cutoff.Add(-time.Hour)))
	if _, err := s.Accept(ctx, "accepted", leadworker.Deal{Name: "d", Value: leadworker.Money{Amount: "1", Currency: "USD"}, EstimatedPurchaseDate: "2027-01-01"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id   string
		want store.Result
	}{{"due", store.Changed}, {"young", store.NotDue}, {"trial", store.NotDue}, {"accepted", store.WrongState}, {"due", store.WrongState}, {"ghost", store.NotFound}}
	for _, tt := range tests {
		res, err := s.ExpirePage(ctx, []string{tt.id}, cutoff, false)
		if err != nil || len(res) != 1 || res[0].Code != tt.want {
			t.Fatalf("expire %s: %+v %v, want code %d", tt.id, res, err, tt.want)
		}
	}
	l, err := s.Get(ctx, "due")
	if err != nil {
		t.Fatal(err)
	}
	if l.Status != leadworker.StatusArchived || l.Outcome != leadworker.OutcomeExpired || l.ArchivedAt == nil || l.Alert != leadworker.AlertNone {
		t.Fatalf("expired lead: %+v", l)
	}
	if l.Customer.Name != "" || l.Customer.Email != "" || l.Customer.Phone != "" || l.Customer.Company != "Contoso" || l.Customer.Country != "JP" {
		t.Fatalf("customer after expiry: %+v", l.Customer)
	}
	// Only the closing notice's address and greeting stay, until it is sent.
	raw, _ := rdb.HGetAll(ctx, "t:lead:due").Result()
	for field, v := range raw {
		if field != "nto" && field != "ntn" && (strings.Contains(v, "contoso.example") || strings.Contains(v, "Hanako")) {
			t.Fatalf("contact data left in field %s", field)
		}
	}
	if raw["nto"] != "h@contoso.example" || raw["ntn"] != "Hanako" {
		t.Fatalf("notice address not kept: %v", raw)
	}
}

func TestIndexesFollowTheLifecycle(t *testing.T) {
	t.Parallel()
	s, rdb, _ := setup(t)
	ctx := context.Background()
	mustCreate(t, s, intake("a", t0))
	mustCreate(t, s, intake("b", t0))
	mustCreate(t, s, intake("offer", t0, func(in *leadworker.Intake) { in.CallToAction = leadworker.CTAGetItNow; in.ContactRequested = false }))
	deal := leadworker.Deal{Name: "d", Value: leadworker.Money{Amount: "1", Currency: "USD"}, EstimatedPurchaseDate: "2027-01-01"}
	check := func(key string, want ...string) {
		t.Helper()
		got, _ := rdb.ZRange(ctx, "t:due:"+key, 0, -1).Result()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("due:%s = %v, want %v", key, got, want)
		}
	}
	check("expire", "a", "b")
	check("offers", "offer")
	check("alerts", "a", "b")
	if _, err := s.Accept(ctx, "a", deal); err != nil {
		t.Fatal(err)
	}
	check("expire", "b")
	check("alerts", "a", "b") // an accepted lead keeps its alert
	if _, err := s.Decline(ctx, "b", leadworker.Decline{Reason: "no"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Close(ctx, "a", leadworker.OutcomeLost); err != nil {
		t.Fatal(err)
	}
	check("expire")
	check("alerts")
	check("offers", "offer")
}

func TestTransitionsUseTheClock(t *testing.T) {
	t.Parallel()
	s, _, clk := setup(t)
	ctx := context.Background()
	mustCreate(t, s, intake("a", t0.Add(-time.Hour)))
	clk.Advance(90 * time.Minute)
	l, err := s.Decline(ctx, "a", leadworker.Decline{Reason: "no"})
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(90 * time.Minute); !l.ArchivedAt.Equal(want) || !l.UpdatedAt.Equal(want) {
		t.Fatalf("archived_at %v updated_at %v, want %v", l.ArchivedAt, l.UpdatedAt, want)
	}
}

func TestIntakeSurvivesScriptCacheFlush(t *testing.T) {
	t.Parallel()
	s, rdb, _ := setup(t)
	ctx := context.Background()
	rdb.ScriptFlush(ctx)
	res := s.CreateBatch(ctx, []leadworker.Intake{intake("a", t0), intake("b", t0)})
	for _, r := range res {
		if r.Err != nil || !r.Created {
			t.Fatalf("after SCRIPT FLUSH: %+v", r)
		}
	}
}
