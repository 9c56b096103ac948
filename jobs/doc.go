// Package jobs is leadworker's work: the asynq task handlers that announce
// new leads (alone or in the day's digest), send reminders and closing
// notices, and the maintenance jobs (expire, archive offers, contact alerts,
// reminders, digests and the recovery of lost work), one file per job. The
// handlers read and change leads only through internal/store and send mail
// through mailer.
package jobs
