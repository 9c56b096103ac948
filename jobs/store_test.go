package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/leadworker/leadworker/internal/clock"
	"github.com/leadworker/leadworker/internal/testenv"
	"github.com/leadworker/leadworker/jobs"
	"github.com/redis/go-redis/v9"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// setup returns a store on a fresh redis-server with a simulated clock at t0.
func setup(t *testing.T) (*jobs.Store, *redis.Client, *clock.Simulated) {
	t.Helper()
	rdb := testenv.StartRedis(t).Client()
	clk := clock.NewSimulated(t0)
	s := jobs.NewStore(rdb, "t:", clk)
	if err := s.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, rdb, clk
}

func intake(id string, created time.Time, change ...func(*jobs.Intake)) jobs.Intake {
	in := jobs.Intake{ID: id, PartnerID: "P-1", Kind: jobs.KindCustomerInquiry, LeadType: jobs.LeadTypeOffer,
		CallToAction: jobs.CTAContactMe, ContactRequested: true, CreatedAt: &created,
		Customer: jobs.Customer{Company: "Contoso", Name: "Hanako", Email: "h@contoso.example", Phone: "+81 3 0000", Country: "JP"}}
	for _, c := range change {
		c(&in)
	}
	return in
}

func mustCreate(t *testing.T, s *jobs.Store, in jobs.Intake) *jobs.Lead {
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
	mustCreate(t, s, intake("trial", cutoff.Add(-time.Hour), func(in *jobs.Intake) { in.CallToAction = jobs.CTAFreeTrial }))
	mustCreate(t, s, intake("accepted", cutoff.Add(-time.Hour)))
	if _, err := s.Accept(ctx, "accepted", jobs.Deal{Name: "d", Value: jobs.Money{Amount: "1", Currency: "USD"}, EstimatedPurchaseDate: "2027-01-01"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id       string
		wantCode string
	}{{"due", ""}, {"young", jobs.EConflict}, {"trial", jobs.EConflict}, {"accepted", jobs.EConflict}, {"due", jobs.EConflict}, {"ghost", jobs.ENotFound}}
	for _, tt := range tests {
		_, err := s.Expire(ctx, tt.id, cutoff)
		if got := jobs.ErrorCode(err); got != tt.wantCode {
			t.Fatalf("expire %s: %v, want code %q", tt.id, err, tt.wantCode)
		}
	}
	l, err := s.Get(ctx, "due")
	if err != nil {
		t.Fatal(err)
	}
	if l.Status != jobs.StatusArchived || l.Outcome != jobs.OutcomeExpired || l.ArchivedAt == nil || l.Alert != jobs.AlertNone {
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
	mustCreate(t, s, intake("offer", t0, func(in *jobs.Intake) { in.CallToAction = jobs.CTAGetItNow; in.ContactRequested = false }))
	deal := jobs.Deal{Name: "d", Value: jobs.Money{Amount: "1", Currency: "USD"}, EstimatedPurchaseDate: "2027-01-01"}
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
	if _, err := s.Decline(ctx, "b", jobs.Decline{Reason: "no"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Close(ctx, "a", jobs.OutcomeLost); err != nil {
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
	l, err := s.Decline(ctx, "a", jobs.Decline{Reason: "no"})
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
	res := s.CreateBatch(ctx, []jobs.Intake{intake("a", t0), intake("b", t0)})
	for _, r := range res {
		if r.Err != nil || !r.Created {
			t.Fatalf("after SCRIPT FLUSH: %+v", r)
		}
	}
}
