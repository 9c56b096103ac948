// Package worker is leadworker's runtime: the daemon that owns the Redis
// connection, the asynq server and the HTTP API, and shuts them down in
// order.
package worker
