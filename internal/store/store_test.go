package store

import (
	"testing"

	"github.com/leadworker/leadworker"
)

// TestIntakeSurvivesScriptCacheFlush checks that a batch intake, which
// pipelines EVALSHA, still stores every lead after Redis lost its script
// cache (as after a restart): the store loads the scripts and runs the
// calls again.
func TestIntakeSurvivesScriptCacheFlush(t *testing.T) {
	t.Parallel()
	onBackends(t, func(e *scriptEnv) {
		e.must(e.rdb.ScriptFlush(e.ctx).Err())
		res := e.store.CreateBatch(e.ctx, []leadworker.Intake{testIntake("a", scriptT0), testIntake("b", scriptT0)})
		for _, r := range res {
			if r.Err != nil || !r.Created {
				e.t.Fatalf("after SCRIPT FLUSH: %+v", r)
			}
		}
	})
}
