package httpapi

import (
	"net/http"
	"strconv"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/store"
)

func (a *API) putContacts(w http.ResponseWriter, r *http.Request) {
	var c leadworker.Contacts
	if err := leadworker.FirstErr(leadworker.ValidatePartnerID("partner_id", r.PathValue("id")), decodeJSON(w, r, maxBody, &c)); err != nil {
		a.writeError(w, r, err)
		return
	}
	p, err := a.Store.PutContacts(r.Context(), r.PathValue("id"), c)
	a.answerPartner(w, r, p, err)
}

func (a *API) putPreferences(w http.ResponseWriter, r *http.Request) {
	var prefs leadworker.Preferences
	if err := leadworker.FirstErr(leadworker.ValidatePartnerID("partner_id", r.PathValue("id")), decodeJSON(w, r, maxBody, &prefs)); err != nil {
		a.writeError(w, r, err)
		return
	}
	p, err := a.Store.PutPreferences(r.Context(), r.PathValue("id"), prefs)
	a.answerPartner(w, r, p, err)
}

func (a *API) getPartner(w http.ResponseWriter, r *http.Request) {
	pid := r.PathValue("id")
	if err := leadworker.ValidatePartnerID("partner_id", pid); err != nil {
		a.writeError(w, r, err)
		return
	}
	p, err := a.Store.FindPartner(r.Context(), pid)
	a.answerPartner(w, r, p, err)
}

func (a *API) answerPartner(w http.ResponseWriter, r *http.Request, p *leadworker.Partner, err error) {
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// feed answers a partner's Action Center feed, newest first.
func (a *API) feed(w http.ResponseWriter, r *http.Request) {
	pid := r.PathValue("id")
	limit := store.FeedLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.FeedLimit {
			a.writeError(w, r, leadworker.Invalidf("limit", "limit must be a whole number from 1 to %d", store.FeedLimit))
			return
		}
		limit = n
	}
	if err := leadworker.ValidatePartnerID("partner_id", pid); err != nil {
		a.writeError(w, r, err)
		return
	}
	items, err := a.Store.Feed(r.Context(), pid, limit)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}
