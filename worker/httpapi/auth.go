package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/leadworker/leadworker"
)

// auth checks bearer tokens. Tokens are compared as SHA-256 digests in
// constant time against every configured token, so neither a token's length
// nor how much of it matched shows in the response time.
type auth struct {
	api, admin [][32]byte
}

func newAuth(apiTokens, adminTokens []string) auth {
	digests := func(ts []string) [][32]byte {
		out := make([][32]byte, len(ts))
		for i, t := range ts {
			out[i] = sha256.Sum256([]byte(t))
		}
		return out
	}
	return auth{api: digests(apiTokens), admin: digests(adminTokens)}
}

// open reports whether no tokens are configured at all.
func (a auth) open() bool { return len(a.api) == 0 && len(a.admin) == 0 }

func matches(token string, allowed [][32]byte) bool {
	d := sha256.Sum256([]byte(token))
	ok := 0
	for i := range allowed {
		ok |= subtle.ConstantTimeCompare(d[:], allowed[i][:])
	}
	return ok == 1
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return "", false
	}
	return strings.TrimSpace(h[7:]), true
}

// check returns nil when the request carries one of the allowed tokens.
func (a auth) check(r *http.Request, allowed ...[][32]byte) error {
	if a.open() {
		return nil
	}
	token, ok := bearer(r)
	if !ok {
		return leadworker.Errorf(eUnauthorized, "send a token as Authorization: Bearer <token>")
	}
	for _, set := range allowed {
		if matches(token, set) {
			return nil
		}
	}
	return leadworker.Errorf(eUnauthorized, "the token is not valid for %s", r.URL.Path)
}

// v1 lets requests with an API or admin token through.
func (a *API) v1(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := a.auth.check(r, a.auth.api, a.auth.admin); err != nil {
			a.writeError(w, r, err)
			return
		}
		h(w, r)
	}
}

// admin lets requests with an admin token through.
func (a *API) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := a.auth.check(r, a.auth.admin); err != nil {
			a.writeError(w, r, err)
			return
		}
		h(w, r)
	}
}

// Open reports whether the API was built with no tokens at all, and so lets
// every request through.
func (a *API) Open() bool { return a.auth.open() }
