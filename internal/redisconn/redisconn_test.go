package redisconn

import (
	"strconv"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, want, err string
	}{
		{"redis://localhost:6379/2", "single localhost:6379 db=2", ""},
		{"rediss://:pw@cache.internal:6380/0", "single cache.internal:6380 db=0 tls", ""},
		{"redis-sentinel://:pw@10.0.0.1:26379,10.0.0.2:26379/mymaster?db=3", "sentinel 10.0.0.1:26379,10.0.0.2:26379 master mymaster db=3", ""},
		{"redis-cluster://127.0.0.1:7000,127.0.0.1:7001", "cluster 127.0.0.1:7000,127.0.0.1:7001 db=0", ""},
		{"redis-sentinel://h:26379", "", "name the master"},
		{"redis-cluster://h:7000?db=1", "", "Cluster has only db 0"},
		{"redis-cluster://h", "", "not host:port"},
		{"http://localhost:6379", "", "scheme"},
		{"localhost:6379", "", "must be a URL"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.url)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", tt.url, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		desc := got.String() + " db=" + strconv.Itoa(got.DB)
		if got.TLS {
			desc += " tls"
		}
		if desc != tt.want {
			t.Errorf("%s: %s, want %s", tt.url, desc, tt.want)
		}
		if strings.Contains(got.String(), "pw") {
			t.Errorf("%s: the description shows the password", tt.url)
		}
	}
}
