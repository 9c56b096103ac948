package jobs

import "context"

// A pending batch is work recorded as one member of the store's pending
// set, such as "notify-batch:<name>" or "closing-batch:<name>", with the
// ids of its leads kept under the key of the same name. Its task id is that
// member, so enqueueing the batch again while it is queued is a no-op.

// pendingBatch is the pending member of the batch name, "" for none.
func pendingBatch(taskID func(string) string, name string) string {
	if name == "" {
		return ""
	}
	return taskID(name)
}

// inBatch runs work on ids and the ids stored with the pending batch member
// and, once work succeeded, forgets the batch. With no member it runs work
// on ids alone.
func (n *Notifier) inBatch(ctx context.Context, member string, ids []string, work func([]string) error) error {
	if member == "" {
		return work(ids)
	}
	stored, read, err := n.store.BatchIDs(ctx, member)
	if err != nil {
		return err
	}
	if err := work(unionIDs(ids, stored)); err != nil {
		return err
	}
	return n.store.BatchDone(ctx, member, read)
}

// unionIDs returns a followed by the ids of b that a lacks.
func unionIDs(a, b []string) []string {
	seen := make(map[string]bool, len(a))
	out := append([]string(nil), a...)
	for _, id := range a {
		seen[id] = true
	}
	for _, id := range b {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
