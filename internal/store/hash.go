package store

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/leadworker/leadworker"
)

// Hash fields of a stored lead. Names are short because they are repeated in
// every lead; empty values are not stored at all. Together with Redis's
// listpack encoding this keeps a typical lead under 1 KiB.
const (
	fID       = "id"
	fPartner  = "pid"
	fLocation = "loc"
	fKind     = "kind"
	fType     = "type"
	fCTA      = "cta"
	fSource   = "src"
	fCompany  = "co"
	fName     = "name"
	fEmail    = "email"
	fPhone    = "phone"
	fCountry  = "cc"
	fNeed     = "need"
	fQuality  = "q"
	fEmailVal = "ev"
	fPhoneVal = "pv"
	fContact  = "cr"
	fOrig     = "orig"
	fCreated  = "at"
	fStatus   = "st"
	fOutcome  = "oc"
	fAlert    = "al"
	fInfo     = "inf"
	fFavorite = "fav"
	fDeal     = "deal"
	fDecline  = "dec"
	fNotify   = "ntf"
	fArchived = "arc"
	fAccepted = "acc"
	fUpdated  = "upd"
	fDigest   = "bh"
	fRev      = "rev"
	// fRemindStage is "2" once the lead moved to the second reminder index
	// (set by remind.lua, read by transition.lua).
	fRemindStage = "rs"
	// fRemindFirst and fRemindExpiry record how each reminder ended.
	fRemindFirst  = "rm1"
	fRemindExpiry = "rm2"
)

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func flag(b bool) string {
	if b {
		return "1"
	}
	return ""
}

func mustJSON(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode %T: %v", v, err)) // only plain structs are encoded
	}
	return string(b)
}

// leadFields returns the lead as hash field/value pairs, leaving out empty ones.
func leadFields(l *leadworker.Lead) []any {
	// The fields every transition reads come first: a small hash is a
	// listpack, searched from its start.
	all := [][2]string{
		{fStatus, string(l.Status)}, {fCreated, ms(l.CreatedAt)}, {fInfo, flag(l.Informational)},
		{fAlert, string(l.Alert)}, {fKind, string(l.Kind)}, {fUpdated, ms(l.UpdatedAt)},
		{fID, l.ID}, {fPartner, l.PartnerID}, {fLocation, l.Location},
		{fType, string(l.LeadType)}, {fCTA, string(l.CallToAction)},
		{fSource, l.Source}, {fCompany, l.Customer.Company}, {fName, l.Customer.Name},
		{fEmail, l.Customer.Email}, {fPhone, l.Customer.Phone}, {fCountry, l.Customer.Country},
		{fNeed, l.Need}, {fQuality, l.Quality}, {fEmailVal, l.EmailValidity},
		{fPhoneVal, l.PhoneValidity}, {fContact, flag(l.ContactRequested)},
	}
	if l.Originator != nil && *l.Originator != (leadworker.Person{}) {
		all = append(all, [2]string{fOrig, mustJSON(l.Originator)})
	}
	out := make([]any, 0, 2*len(all))
	for _, kv := range all {
		if kv[1] != "" {
			out = append(out, kv[0], kv[1])
		}
	}
	return out
}

// leadFromHash decodes a stored lead.
func leadFromHash(h map[string]string) (*leadworker.Lead, error) {
	l := &leadworker.Lead{}
	l.ID, l.PartnerID, l.Location = h[fID], h[fPartner], h[fLocation]
	l.Kind, l.LeadType, l.CallToAction = leadworker.Kind(h[fKind]), leadworker.LeadType(h[fType]), leadworker.CallToAction(h[fCTA])
	l.Source, l.Need = h[fSource], h[fNeed]
	l.Customer = leadworker.Customer{Company: h[fCompany], Name: h[fName], Email: h[fEmail], Phone: h[fPhone], Country: h[fCountry]}
	l.Quality, l.EmailValidity, l.PhoneValidity = h[fQuality], h[fEmailVal], h[fPhoneVal]
	l.ContactRequested, l.Informational, l.Favorite = h[fContact] == "1", h[fInfo] == "1", h[fFavorite] == "1"
	l.Fallback = h[fFallback] == "1"
	l.Status, l.Outcome, l.Alert = leadworker.Status(h[fStatus]), leadworker.Outcome(h[fOutcome]), leadworker.Alert(h[fAlert])
	err := leadworker.FirstErr(
		decodeTime(h[fCreated], &l.CreatedAt),
		decodeTime(h[fUpdated], &l.UpdatedAt),
		decodeTimePtr(h[fArchived], &l.ArchivedAt),
		decodeTimePtr(h[fAccepted], &l.AcceptedAt),
		decodeJSON(h[fOrig], &l.Originator),
		decodeJSON(h[fDeal], &l.Deal),
		decodeJSON(h[fDecline], &l.Decline),
		decodeJSON(h[fNotify], &l.Notification),
	)
	if err != nil {
		return nil, fmt.Errorf("decode lead %q: %w", h[fID], err)
	}
	return l, nil
}

func decodeTime(s string, dst *time.Time) error {
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	*dst = time.UnixMilli(n).UTC()
	return nil
}

func decodeTimePtr(s string, dst **time.Time) error {
	if s == "" {
		return nil
	}
	*dst = new(time.Time)
	return decodeTime(s, *dst)
}

func decodeJSON[T any](s string, dst **T) error {
	if s == "" {
		return nil
	}
	*dst = new(T)
	return json.Unmarshal([]byte(s), *dst)
}
