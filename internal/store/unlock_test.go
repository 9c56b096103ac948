package store

import (
	"slices"
	"testing"
	"time"
)

// TestUnlockScript checks unlock.lua: a lock is released by the token that
// took it and by no other.
func TestUnlockScript(t *testing.T) {
	t.Parallel()
	onBackends(t, func(e *scriptEnv) {
		release, err := e.store.Lock(e.ctx, "notify:L-1", time.Minute)
		if err != nil || release == nil {
			e.t.Fatalf("lock: held %t, %v", release == nil, err)
		}
		token := e.rdb.Get(e.ctx, e.keys.lock("notify:L-1")).Val()
		if len(token) != 24 {
			e.t.Fatalf("lock token %q: want 24 hex digits of crypto/rand", token)
		}
		if again, _ := e.store.Lock(e.ctx, "notify:L-1", time.Minute); again != nil {
			e.t.Fatal("a held lock was taken again")
		}
		n, err := unlockScript.Run(e.ctx, e.rdb, []string{e.keys.lock("notify:L-1")}, "other-token").Int()
		if err != nil || n != 0 {
			e.t.Fatalf("unlock with another token: %d %v, want 0", n, err)
		}
		if got := e.keysUnder(); !slices.Equal(got, []string{"lock:notify:L-1"}) {
			e.t.Fatalf("keys after a foreign unlock: %v", got)
		}
		release()
		if got := e.keysUnder(); len(got) != 0 {
			e.t.Fatalf("keys after release: %v", got)
		}
	})
}
