package store

import (
	"fmt"
	"time"

	"github.com/leadworker/leadworker/internal/tasks"
)

// keys names every Redis key of the lead store under one prefix.
//
//	<prefix>lead:<id>               hash: one lead (fields in hash.go)
//	<prefix>leads                   sorted set (lex): every lead, "<created ms>|<id>"
//	<prefix>partner:<pid>:leads     sorted set (lex): one partner's leads, same members
//	<prefix>partner:<pid>           hash: contacts and preferences
//	<prefix>due:expire              sorted set: received leads that can expire, by created ms
//	<prefix>due:offers              sorted set: received informational offer leads, by created ms
//	<prefix>due:alerts              sorted set: leads showing the contact_me alert, by created ms
//	<prefix>due:remind1             sorted set: received leads not yet reminded, by created ms
//	<prefix>due:remind2             sorted set: received leads reminded once, by created ms
//	<prefix>runs:<job>              list: the latest maintenance runs of a job
//	<prefix>pending                 sorted set: "<task id>" of work not yet done, by ms enqueued
//	<prefix>due:digests             sorted set: "<recipient>|<day>" of unsent digests, by send ms
//	<prefix>count:<rcpt>:<day>      string: leads announced to a recipient on a day (expires)
//	<prefix>digest:<rcpt>:<day>     sorted set: lead ids waiting for that digest, by created ms
//	<prefix>digest-part:<rcpt>:<day>  string: "<part> <parts> <ids>" of the digest part being sent
//	<prefix>digest-parts:<rcpt>:<day> string: parts of that digest sealed so far (expires)
//	<prefix>partner:<pid>:feed      list: the Action Center feed, newest first, capped
//	<prefix>lock:<task id>          string: held while a message is being sent
//	<prefix>closing-batch:<name>    string: the ids of a batch of expired leads whose notices are pending
//	<prefix>notify-batch:<name>     string: the ids of a batch of new leads whose announcements are pending
//
// Every key is built here and nowhere else, so a partition hash tag (for a
// Redis Cluster) or an encoding of the components belongs in this file
// alone.
type keys struct{ prefix string }

func (k keys) lead(id string) string          { return k.prefix + "lead:" + id }
func (k keys) all() string                    { return k.prefix + "leads" }
func (k keys) partnerLeads(pid string) string { return k.prefix + "partner:" + pid + ":leads" }
func (k keys) partner(pid string) string      { return k.prefix + "partner:" + pid }
func (k keys) dueExpire() string              { return k.prefix + "due:expire" }
func (k keys) dueOffers() string              { return k.prefix + "due:offers" }
func (k keys) dueAlerts() string              { return k.prefix + "due:alerts" }
func (k keys) pending() string                { return k.prefix + "pending" }
func (k keys) dueDigests() string             { return k.prefix + "due:digests" }
func (k keys) count(rcpt, day string) string  { return k.prefix + "count:" + rcpt + ":" + day }
func (k keys) digest(rcpt, day string) string { return k.prefix + "digest:" + rcpt + ":" + day }
func (k keys) sealedDigest(rcpt, day string) string {
	return k.prefix + "digest-part:" + rcpt + ":" + day
}
func (k keys) digestParts(rcpt, day string) string {
	return k.prefix + "digest-parts:" + rcpt + ":" + day
}
func (k keys) feed(pid string) string  { return k.prefix + "partner:" + pid + ":feed" }
func (k keys) lock(name string) string { return k.prefix + "lock:" + name }
func (k keys) closingBatch(name string) string {
	return k.prefix + tasks.ClosingBatchID(name)
}
func (k keys) notifyBatch(name string) string {
	return k.prefix + tasks.NotifyBatchID(name)
}
func (k keys) transition(id string) []string {
	return []string{k.lead(id), k.dueExpire(), k.dueOffers(), k.dueAlerts(), k.pending(), k.dueRemind(1), k.dueRemind(2)}
}
func (k keys) index(i Index) string {
	switch i {
	case DueExpire:
		return k.dueExpire()
	case DueOffers:
		return k.dueOffers()
	case DueAlerts:
		return k.dueAlerts()
	case DueRemindFirst:
		return k.dueRemind(1)
	case DueRemindExpiry:
		return k.dueRemind(2)
	case DueDigests:
		return k.dueDigests()
	}
	return k.pending()
}
func (k keys) dueRemind(stage int) string { return fmt.Sprintf("%sdue:remind%d", k.prefix, stage) }
func (k keys) runs(job string) string     { return k.prefix + "runs:" + job }

// listMember is a lead's member in the listing indexes. Fixed-width
// milliseconds make lexical order the order of creation; the id breaks ties,
// so a member is a stable, unique cursor.
func listMember(created time.Time, id string) string {
	return fmt.Sprintf("%013d|%s", created.UnixMilli(), id)
}
