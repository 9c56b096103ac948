package jobs

import (
	"testing"
	"time"
)

// TestDigestTimeFollowsDaylightSaving checks the digest goes out at the
// configured wall-clock time on the next day, whatever the UTC offset that
// day.
func TestDigestTimeFollowsDaylightSaving(t *testing.T) {
	t.Parallel()
	ny, _ := time.LoadLocation("America/New_York")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	tests := []struct {
		day  string
		loc  *time.Location
		at   time.Duration
		want string // UTC
	}{
		{"2026-10-31", ny, 8 * time.Hour, "2026-11-01T13:00:00Z"},                // sent on the day DST ends: EST
		{"2026-10-30", ny, 8 * time.Hour, "2026-10-31T12:00:00Z"},                // still EDT
		{"2026-03-07", ny, 8 * time.Hour, "2026-03-08T12:00:00Z"},                // DST starts overnight: EDT
		{"2026-03-07", ny, 2*time.Hour + 30*time.Minute, "2026-03-08T07:30:00Z"}, // 02:30 does not exist: 03:30 EDT
		{"2026-10-31", ny, 1*time.Hour + 30*time.Minute, "2026-11-01T05:30:00Z"}, // 01:30 happens twice: the first
		{"2026-12-31", tokyo, 8 * time.Hour, "2026-12-31T23:00:00Z"},             // year end, no DST
		{"2026-11-20", time.UTC, 0, "2026-11-21T00:00:00Z"},                      // midnight
	}
	for _, tt := range tests {
		n := &Notifier{cfg: NotifyConfig{DigestAt: tt.at}}
		if got := n.digestTime(tt.day, tt.loc).UTC().Format(time.RFC3339); got != tt.want {
			t.Errorf("digest for %s in %s at %v: %s, want %s", tt.day, tt.loc, tt.at, got, tt.want)
		}
	}
}
