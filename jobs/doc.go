// Package jobs holds leadworker's domain and its work: the Lead and its
// lifecycle, validation of what clients send, the Redis lead store with its
// time indexes, and (in later stages) the task handlers that notify partners
// and run maintenance.
package jobs
