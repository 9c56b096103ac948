package store

import (
	"embed"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/leadworker/leadworker/internal/tasks"
	"github.com/redis/go-redis/v9"
)

// Result is a script's answer for one lead.
type Result int64

// Script results. Each value means one thing in every script.
const (
	Changed    Result = 0 // the lead changed as asked
	NotFound   Result = 1 // no such lead
	WrongState Result = 2 // its status does not allow the change
	Stale      Result = 3 // the lead changed since it was read
	NotDue     Result = 4 // the lead is not (or never) due for the sweep
	Same       Result = 5 // intake: the same lead was stored before
	Different  Result = 6 // intake: another lead is stored under the id
)

// The store's scripts, one per lua/<name>.lua file, each starting with its
// KEYS and ARGV. Every change of a lead's state is one of them, run
// atomically by Redis; docs/ARCHITECTURE.md lists what each checks and
// writes.
var (
	intakeScript        = mustScript("intake")         // a new lead, its indexes and pending announcement
	transitionScript    = mustScript("transition")     // accept, edit the deal, decline, close, favorite
	expireScript        = mustScript("expire")         // the expiry rule, for a page of leads (and its dry run)
	archiveOffersScript = mustScript("archive_offers") // the six-month rule for informational offer leads
	alertScript         = mustScript("alert")          // a contact_me alert turns overdue
	claimScript         = mustScript("claim")          // the digest decision: alone or in the day's digest
	announcedScript     = mustScript("announced")      // an announcement's end recorded
	sealDigestScript    = mustScript("seal_digest")    // a digest part's list fixed before it is sent
	digestSentScript    = mustScript("digest_sent")    // a digest part's end recorded on its leads
	remindScript        = mustScript("remind")         // a lead moves through the reminder indexes
	recordOnceScript    = mustScript("record_once")    // a closing notice's or reminder's end recorded
	batchDoneScript     = mustScript("batch_done")     // a pending batch forgotten
	unlockScript        = mustScript("unlock")         // a lock released by its holder
)

// allScripts is what Load loads.
var allScripts = []*redis.Script{intakeScript, transitionScript, expireScript, archiveOffersScript, alertScript,
	claimScript, announcedScript, sealDigestScript, digestSentScript, remindScript, recordOnceScript, batchDoneScript, unlockScript}

//go:embed lua/*.lua
var luaFiles embed.FS

// luaNames are what F.<name>, R.<name> and P.<name> stand for in the
// scripts: the lead hash fields, the result codes and the pending members'
// prefixes (task ids) the Go code uses.
var luaNames = map[string]string{
	"F.id": fID, "F.partner": fPartner, "F.kind": fKind, "F.name": fName, "F.email": fEmail, "F.phone": fPhone,
	"F.originator": fOrig, "F.created": fCreated, "F.status": fStatus, "F.outcome": fOutcome, "F.alert": fAlert,
	"F.info": fInfo, "F.notification": fNotify, "F.archived": fArchived, "F.updated": fUpdated, "F.digest": fDigest,
	"F.rev": fRev, "F.remind_stage": fRemindStage, "F.slot": fSlot, "F.notice_to": fNoticeTo, "F.notice_name": fNoticeName,
	"R.changed": code(Changed), "R.not_found": code(NotFound), "R.wrong_state": code(WrongState), "R.stale": code(Stale),
	"R.not_due": code(NotDue), "R.same": code(Same), "R.different": code(Different),
	"P.notify": tasks.NotifyID(""), "P.closing_batch": tasks.ClosingBatchID(""), "P.reminder": strings.TrimSuffix(tasks.ReminderID("", ""), ":"),
}

func code(r Result) string { return strconv.FormatInt(int64(r), 10) }

var luaName = regexp.MustCompile(`\b[FRP]\.[a-z_]+\b`)

// mustScript returns lua/<name>.lua after lua/lib.lua, with every
// F./R./P. name replaced by its value (a quoted string or a number). An
// unknown name or a missing file is a programming error: it panics when the
// package is loaded, so any test catches it.
func mustScript(name string) *redis.Script {
	src, err := scriptSource(name)
	if err != nil {
		panic(err)
	}
	return redis.NewScript(src)
}

// scriptSource is the source mustScript loads.
func scriptSource(name string) (string, error) {
	lib, err := luaFiles.ReadFile("lua/lib.lua")
	if err != nil {
		return "", err
	}
	body, err := luaFiles.ReadFile("lua/" + name + ".lua")
	if err != nil {
		return "", fmt.Errorf("script %s: %w", name, err)
	}
	var unknown []string
	src := luaName.ReplaceAllStringFunc(string(lib)+"\n"+string(body), func(n string) string {
		v, ok := luaNames[n]
		switch {
		case !ok:
			unknown = append(unknown, n)
			return n
		case n[0] == 'R':
			return v
		}
		return strconv.Quote(v)
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("script %s names %v, which scripts.go does not define", name, unknown)
	}
	return src, nil
}
