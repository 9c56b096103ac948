package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/leadworker/leadworker"
	"github.com/leadworker/leadworker/internal/store"
	"github.com/sirupsen/logrus"
)

// leadLog returns the log entry for everything about one lead.
func (a *API) leadLog(l *leadworker.Lead) *logrus.Entry {
	return a.Log.WithFields(logrus.Fields{"lead_id": l.ID, "partner_id": l.PartnerID})
}

func (a *API) createLead(w http.ResponseWriter, r *http.Request) {
	var in leadworker.Intake
	if err := decodeJSON(w, r, maxBody, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	res := a.Store.Create(r.Context(), in)
	if res.Err != nil {
		a.writeError(w, r, res.Err)
		return
	}
	a.logIntake(res)
	a.announce(r.Context(), []store.IntakeResult{res})
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	writeJSON(w, status, a.present(res.Lead))
}

// present fills in what an answered lead shows besides what is stored: its
// answer deadline and the end of its contact-request window, from the
// configured periods.
func (a *API) present(l *leadworker.Lead) *leadworker.Lead {
	if l != nil {
		l.Deadlines(a.ExpireAfter, a.AlertAfter)
	}
	return l
}

func (a *API) logIntake(res store.IntakeResult) {
	if res.Created {
		a.Metrics.LeadReceived(string(res.Lead.Kind), string(res.Lead.LeadType))
		a.leadLog(res.Lead).WithField("kind", res.Lead.Kind).Info("lead received")
	}
}

// batchItem is one entry of a batch intake's results.
type batchItem struct {
	Index  int              `json:"index"`
	Status int              `json:"status"`
	Lead   *leadworker.Lead `json:"lead,omitempty"`
	Error  *errorBody       `json:"error,omitempty"`
}

func (a *API) createBatch(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Leads []json.RawMessage `json:"leads"`
	}
	if err := decodeJSON(w, r, maxBatchBody, &body); err != nil {
		a.writeError(w, r, err)
		return
	}
	if len(body.Leads) == 0 || len(body.Leads) > store.MaxBatch {
		a.writeError(w, r, leadworker.Invalidf("leads", "leads must hold from 1 to %d leads", store.MaxBatch))
		return
	}
	items := make([]batchItem, len(body.Leads))
	ins, at := decodeBatch(body.Leads, items)
	results := a.Store.CreateBatch(r.Context(), ins)
	for i, res := range results {
		items[at[i]] = a.batchResult(at[i], res)
	}
	a.announce(r.Context(), results)
	writeJSON(w, http.StatusOK, map[string][]batchItem{"results": items})
}

// decodeBatch decodes each lead on its own, so one malformed lead does not
// sink the others. It fills items for the leads that failed and returns the
// decoded ones with their positions.
func decodeBatch(raw []json.RawMessage, items []batchItem) (ins []leadworker.Intake, at []int) {
	for i, msg := range raw {
		var in leadworker.Intake
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			e := toErrorBody(decodeError(err, maxBatchBody, msg))
			e.Field = itemField(i, e.Field)
			items[i] = batchItem{Index: i, Status: statusFor(e.Code), Error: &e}
			continue
		}
		ins, at = append(ins, in), append(at, i)
	}
	return ins, at
}

func itemField(i int, field string) string {
	if field == "" {
		return fmt.Sprintf("leads[%d]", i)
	}
	return fmt.Sprintf("leads[%d].%s", i, field)
}

func (a *API) batchResult(i int, res store.IntakeResult) batchItem {
	if res.Err != nil {
		e := toErrorBody(res.Err)
		if e.Code == leadworker.EInternal {
			a.Log.WithError(res.Err).WithField("index", i).Error("batch intake failed")
		}
		e.Field = itemField(i, e.Field)
		return batchItem{Index: i, Status: statusFor(e.Code), Error: &e}
	}
	a.logIntake(res)
	if res.Created {
		return batchItem{Index: i, Status: http.StatusCreated, Lead: a.present(res.Lead)}
	}
	return batchItem{Index: i, Status: http.StatusOK, Lead: a.present(res.Lead)}
}

func (a *API) getLead(w http.ResponseWriter, r *http.Request) {
	l, err := a.Store.Get(r.Context(), r.PathValue("id"))
	a.answerLead(w, r, l, err, "")
}

// answerLead writes a lead or the error, and logs a change when what is set.
func (a *API) answerLead(w http.ResponseWriter, r *http.Request, l *leadworker.Lead, err error, what string) {
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if what != "" {
		a.leadLog(l).WithFields(logrus.Fields{"status": l.Status, "outcome": l.Outcome}).Info(what)
	}
	writeJSON(w, http.StatusOK, a.present(l))
}

func (a *API) acceptLead(w http.ResponseWriter, r *http.Request) {
	var d leadworker.Deal
	if err := decodeJSON(w, r, maxBody, &d); err != nil {
		a.writeError(w, r, err)
		return
	}
	l, err := a.Store.Accept(r.Context(), r.PathValue("id"), d)
	if err == nil {
		a.Metrics.Transition(string(l.Status), string(l.Outcome))
	}
	a.answerLead(w, r, l, err, "lead accepted")
}

func (a *API) editDeal(w http.ResponseWriter, r *http.Request) {
	var p leadworker.DealPatch
	if err := decodeJSON(w, r, maxBody, &p); err != nil {
		a.writeError(w, r, err)
		return
	}
	l, err := a.Store.EditDeal(r.Context(), r.PathValue("id"), p)
	a.answerLead(w, r, l, err, "deal edited")
}

func (a *API) declineLead(w http.ResponseWriter, r *http.Request) {
	var d leadworker.Decline
	if err := decodeJSON(w, r, maxBody, &d); err != nil {
		a.writeError(w, r, err)
		return
	}
	l, err := a.Store.Decline(r.Context(), r.PathValue("id"), d)
	if err == nil {
		a.enqueue(l, "closing notice", func() error { return a.Queue.Closing(r.Context(), l.ID) })
		a.Metrics.Transition(string(l.Status), string(l.Outcome))
	}
	a.answerLead(w, r, l, err, "lead declined")
}

func (a *API) closeLead(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Outcome leadworker.Outcome `json:"outcome"`
	}
	if err := decodeJSON(w, r, maxBody, &body); err != nil {
		a.writeError(w, r, err)
		return
	}
	l, err := a.Store.Close(r.Context(), r.PathValue("id"), body.Outcome)
	if err == nil {
		a.Metrics.Transition(string(l.Status), string(l.Outcome))
	}
	a.answerLead(w, r, l, err, "lead closed")
}

func (a *API) favorite(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l, err := a.Store.SetFavorite(r.Context(), r.PathValue("id"), on)
		a.answerLead(w, r, l, err, "")
	}
}

// announce enqueues the announcement of the newly created leads, one task
// per announcement batch the store named (tasks.AnnounceBatch leads at most),
// all at once. A failed enqueue is logged, not returned: the leads are
// stored and pending, and the next sweep enqueues them again.
func (a *API) announce(ctx context.Context, results []store.IntakeResult) {
	var order []string
	batches := map[string][]*leadworker.Lead{}
	for _, res := range results {
		if res.Err == nil && res.Created {
			if batches[res.Batch] == nil {
				order = append(order, res.Batch)
			}
			batches[res.Batch] = append(batches[res.Batch], res.Lead)
		}
	}
	var wg sync.WaitGroup
	for _, name := range order {
		group := batches[name]
		wg.Go(func() {
			ids := make([]string, len(group))
			for i, l := range group {
				ids[i] = l.ID
			}
			if err := a.Queue.NotifyBatch(ctx, name, ids); err != nil {
				for _, l := range group {
					a.leadLog(l).WithError(err).Warn("could not enqueue the announcement; the next sweep will")
				}
			}
		})
	}
	wg.Wait()
}

func (a *API) enqueue(l *leadworker.Lead, what string, fn func() error) {
	if err := fn(); err != nil {
		a.leadLog(l).WithError(err).Warn("could not enqueue the " + what + "; the next sweep will")
	}
}
