// Package redisconn turns LEADWORKER_REDIS_URL into a Redis client: a
// single server (redis://, rediss:// for TLS), a Sentinel-managed master
// (redis-sentinel://) or a Cluster (redis-cluster://).
package redisconn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Target is a parsed Redis URL.
type Target struct {
	Kind     string // "single", "sentinel" or "cluster"
	Addrs    []string
	Master   string // Sentinel: the master's name
	Username string
	Password string
	DB       int
	TLS      bool
	single   *redis.Options
}

// Parse reads:
//
//	redis://[user:pass@]host:port[/db]   rediss:// for TLS
//	redis-sentinel://[user:pass@]host:port[,host:port...]/master[?db=N]
//	redis-cluster://[user:pass@]host:port[,host:port...]
func Parse(raw string) (*Target, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	switch {
	case !ok:
		return nil, errors.New("must be a URL such as redis://localhost:6379/0")
	case scheme == "redis" || scheme == "rediss":
		opts, err := redis.ParseURL(raw)
		if err != nil {
			return nil, err
		}
		return &Target{Kind: "single", Addrs: []string{opts.Addr}, DB: opts.DB, TLS: scheme == "rediss", single: opts}, nil
	case scheme == "redis-sentinel" || scheme == "redis-cluster":
		return parseMulti(scheme, rest)
	}
	return nil, fmt.Errorf("scheme %q: use redis://, rediss://, redis-sentinel:// or redis-cluster://", scheme)
}

func parseMulti(scheme, rest string) (*Target, error) {
	t := &Target{Kind: strings.TrimPrefix(scheme, "redis-")}
	rest, query, _ := strings.Cut(rest, "?")
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		user, err := url.PathUnescape(rest[:i])
		if err != nil {
			return nil, errors.New("the user:password part is not URL-encoded properly")
		}
		t.Username, t.Password, _ = strings.Cut(user, ":")
		rest = rest[i+1:]
	}
	hosts, path, _ := strings.Cut(rest, "/")
	for _, h := range strings.Split(hosts, ",") {
		if _, port, err := net.SplitHostPort(h); err != nil || port == "" {
			return nil, fmt.Errorf("%q is not host:port", h)
		}
		t.Addrs = append(t.Addrs, h)
	}
	if err := t.parseOptions(path, query); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Target) parseOptions(path, query string) error {
	q, err := url.ParseQuery(query)
	if err != nil {
		return errors.New("the query part is malformed")
	}
	if t.Kind == "sentinel" {
		if t.Master = path; t.Master == "" {
			return errors.New("name the master: redis-sentinel://host:26379,host:26380/mymaster")
		}
	}
	if db := q.Get("db"); db != "" {
		if t.DB, err = strconv.Atoi(db); err != nil || t.DB < 0 || t.Kind == "cluster" {
			return errors.New("db must be a whole number (and Cluster has only db 0)")
		}
	}
	t.TLS = q.Get("tls") == "true"
	return nil
}

// Client opens a client for the target (it connects lazily).
func (t *Target) Client() redis.UniversalClient {
	var tlsConf *tls.Config
	if t.TLS {
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	switch t.Kind {
	case "sentinel":
		return redis.NewFailoverClient(&redis.FailoverOptions{MasterName: t.Master, SentinelAddrs: t.Addrs,
			Username: t.Username, Password: t.Password, DB: t.DB, TLSConfig: tlsConf})
	case "cluster":
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: t.Addrs, Username: t.Username, Password: t.Password, TLSConfig: tlsConf})
	}
	return redis.NewClient(t.single)
}

// AsynqOpt returns the same connection for tools that open their own (the
// asynq web monitor).
func (t *Target) AsynqOpt() asynq.RedisConnOpt {
	switch t.Kind {
	case "sentinel":
		return asynq.RedisFailoverClientOpt{MasterName: t.Master, SentinelAddrs: t.Addrs, Username: t.Username, Password: t.Password, DB: t.DB}
	case "cluster":
		return asynq.RedisClusterClientOpt{Addrs: t.Addrs, Username: t.Username, Password: t.Password}
	}
	return asynq.RedisClientOpt{Addr: t.single.Addr, Username: t.single.Username, Password: t.single.Password,
		DB: t.single.DB, TLSConfig: t.single.TLSConfig}
}

// String describes the target without credentials, for logs.
func (t *Target) String() string {
	return t.Kind + " " + strings.Join(t.Addrs, ",") + map[bool]string{true: " master " + t.Master}[t.Master != ""]
}
