package pipeline

import (
	"github.com/redis/go-redis/v9"
)

// NewRedis builds the Redis client of c: a single node for Addr, a cluster
// client for ClusterAddrs. Stages use it through redis.UniversalClient and
// keep keys cluster-safe with hash tags.
func NewRedis(c RedisConfig) (redis.UniversalClient, error) {
	opts := &redis.UniversalOptions{
		Username: c.Username, Password: c.Password, DB: c.DB, PoolSize: c.PoolSize,
		ReadTimeout: c.Timeout, WriteTimeout: c.Timeout,
	}
	if c.TLS.Enabled {
		tc, err := c.TLS.Config()
		if err != nil {
			return nil, &FieldError{Field: "redis.tls", Reason: err.Error()}
		}
		opts.TLSConfig = tc
	}
	if len(c.ClusterAddrs) > 0 {
		opts.Addrs = c.ClusterAddrs
		return redis.NewClusterClient(opts.Cluster()), nil
	}
	if c.Addr == "" {
		return nil, &FieldError{Field: "redis.addr", Reason: "set addr or cluster_addrs"}
	}
	opts.Addrs = []string{c.Addr}
	return redis.NewClient(opts.Simple()), nil
}
