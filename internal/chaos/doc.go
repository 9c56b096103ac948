// Package chaos is the fault-injection harness run by `make chaos`.
//
// Its tests are built only with the chaos build tag, so `make test` never
// runs them. Each scenario starts real processes — a redis-server with AOF
// persistence, two `leadworker serve` replicas and an SMTP sink — posts
// leads through the HTTP API, injects one fault (a replica killed with
// SIGKILL, the mail server down or refusing a recipient, Redis restarted,
// the daemons down while deadlines pass) and counts, from the mail the sink
// accepted, whether every accepted lead was announced exactly once.
// docs/RELIABILITY.md describes the scenarios and their results.
package chaos
