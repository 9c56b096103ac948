package jobs_test

import (
	"testing"

	"github.com/leadworker/leadworker/internal/testenv"
)

// TestMain starts one redis-server for the package's tests; each test keeps
// its keys under its own prefix (testenv.KeyPrefix), or starts a server of
// its own when it inspects asynq's queues.
func TestMain(m *testing.M) { testenv.RunWithRedis(m) }
