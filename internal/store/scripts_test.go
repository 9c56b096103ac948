package store

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/leadworker/leadworker"
)

// TestLibScript checks lib.lua and the registry: every script is loaded
// after lib.lua with each F./R./P. name replaced, none left, and lib.lua's
// push_feed keeps a partner's feed newest first (announced.lua's test checks the cap).
func TestLibScript(t *testing.T) {
	t.Parallel()
	lib, err := luaFiles.ReadFile("lua/lib.lua")
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(luaFiles, "lua/*.lua")
	for _, file := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(file, "lua/"), ".lua")
		src, err := scriptSource(name)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if !strings.Contains(src, "local function push_feed") || luaName.MatchString(src[len(lib):]) {
			t.Errorf("%s: not loaded after lib.lua, or a name is left unreplaced", file)
		}
	}
	if _, err := scriptSource("no_such_script"); err == nil {
		t.Error("a missing script loaded")
	}
	onBackends(t, func(e *scriptEnv) {
		l := e.create(testIntake("L-1", scriptT0))[0]
		for _, stage := range []string{"first", "expiry"} { // two entries through push_feed
			e.must(e.store.ReminderDone(e.ctx, l, stage, "sent", &leadworker.FeedEntry{Type: "reminder", LeadIDs: []string{l.ID}, Message: stage}))
		}
		feed, err := e.store.Feed(e.ctx, "P-1", 10)
		e.must(err)
		if len(feed) != 2 || feed[0].Message != "expiry" || feed[1].Message != "first" {
			e.t.Fatalf("feed %+v, want expiry then first", feed)
		}
	})
}
