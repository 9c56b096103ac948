package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/leadworker/leadworker"
	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"
)

// TestErrorStatus checks the code→status table as clients see it: every
// error gets its status and JSON body, and a code the table lacks answers
// 500 rather than an invalid status.
func TestErrorStatus(t *testing.T) {
	t.Parallel()
	log := logrus.New()
	log.SetOutput(io.Discard)
	a := &API{Deps: Deps{Log: log}}
	tests := []struct {
		name     string
		err      error
		status   int
		wantCode string
	}{
		{"invalid", leadworker.Invalidf("id", "id is required"), 400, leadworker.EInvalid},
		{"not found", leadworker.Errorf(leadworker.ENotFound, "lead L-1 does not exist"), 404, leadworker.ENotFound},
		{"conflict", fmt.Errorf("wrapped: %w", leadworker.Errorf(leadworker.EConflict, "no")), 409, leadworker.EConflict},
		{"unknown code", &leadworker.Error{Code: "no_such_code", Message: "?"}, 500, "no_such_code"},
		{"plain error", errors.New("boom"), 500, leadworker.EInternal},
		{"pool timeout", fmt.Errorf("get lead: %w", redis.ErrPoolTimeout), 503, eUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			a.writeError(w, httptest.NewRequest("GET", "/v1/leads/L-1", nil), tt.err)
			var body struct {
				Error errorBody `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if w.Code != tt.status || body.Error.Code != tt.wantCode {
				t.Fatalf("%d %+v, want %d with code %s", w.Code, body.Error, tt.status, tt.wantCode)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" || tt.status == http.StatusOK {
				t.Fatalf("content type %q", ct)
			}
		})
	}
}
