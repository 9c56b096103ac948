package worker

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/leadworker/leadworker/config"
	"github.com/sirupsen/logrus"
)

// NewLogger returns the daemon's logger writing to out: JSON with RFC 3339
// nanosecond timestamps, or text when asked for or (format "auto") when out
// is a terminal.
func NewLogger(cfg *config.Config, out io.Writer) *logrus.Logger {
	log := logrus.New()
	log.SetOutput(out)
	log.SetLevel(cfg.LogLevel)
	if cfg.LogFormat == "text" || (cfg.LogFormat == "auto" && isTerminal(out)) {
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: time.RFC3339Nano})
	} else {
		log.SetFormatter(&logrus.JSONFormatter{TimestampFormat: time.RFC3339Nano})
	}
	return log
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// RedisLogger sends the Redis client's own messages (reconnects, pool
// errors) to log as warnings, so they share the daemon's format. Install it
// with redis.SetLogger.
func RedisLogger(log *logrus.Logger) RedisLog { return RedisLog{log} }

// RedisLog adapts a logrus logger to the Redis client.
type RedisLog struct{ log *logrus.Logger }

// Printf implements the Redis client's logging interface.
func (l RedisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.WithField("component", "redis").Warnf(format, v...)
}
