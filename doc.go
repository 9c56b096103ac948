// Package leadworker is the domain of the lead notification and expiry
// worker: the Lead and what a client sends to create one (Intake), its
// enums and lifecycle states, the validation rules, partners with their
// contacts and preferences, who receives a lead's announcement
// (ResolveRecipient), the Action Center feed entries, and the coded Error
// every layer returns. It imports nothing of the project; internal/store
// keeps these types in Redis, jobs acts on them, worker/httpapi serves them.
package leadworker
