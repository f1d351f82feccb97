package pipeline

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
)

// NewRedis builds the Redis client of c: a single node for Addr, a cluster
// client for ClusterAddrs, a Sentinel-managed primary for Sentinel.Addrs.
// Stages use it through redis.UniversalClient and keep keys cluster-safe
// with hash tags.
//
// Every call's outcome is credited to process (the process's Redis Watch;
// may be nil) and to the stage Watch the call's context carries
// (WithWatch). On a Redis Cluster a connection error also reloads the
// slot map at once (go-redis otherwise reloads it only on MOVED/ASK or
// every ClusterReloadInterval), so a promoted replica is used within
// moments of the promotion.
func NewRedis(c RedisConfig, process *Watch) (redis.UniversalClient, error) {
	opts := &redis.UniversalOptions{
		Username: c.Username, Password: c.Password, DB: c.DB, PoolSize: c.PoolSize,
		ReadTimeout: c.Timeout, WriteTimeout: c.Timeout, DialTimeout: c.DialTimeout,
	}
	if c.TLS.Enabled {
		tc, err := c.TLS.Config()
		if err != nil {
			return nil, &FieldError{Field: "redis.tls", Reason: err.Error()}
		}
		opts.TLSConfig = tc
	}
	switch {
	case len(c.ClusterAddrs) > 0:
		opts.Addrs = c.ClusterAddrs
		co := opts.Cluster()
		co.ClusterStateReloadInterval = c.ClusterReloadInterval
		cc := redis.NewClusterClient(co)
		cc.AddHook(redisHook{process: process, reload: cc.ReloadState})
		return cc, nil
	case len(c.Sentinel.Addrs) > 0:
		opts.Addrs = c.Sentinel.Addrs
		opts.MasterName = c.Sentinel.MasterName
		opts.SentinelUsername, opts.SentinelPassword = c.Sentinel.Username, c.Sentinel.Password
		cl := redis.NewFailoverClient(opts.Failover())
		cl.AddHook(redisHook{process: process})
		return cl, nil
	case c.Addr == "":
		return nil, &FieldError{Field: "redis.addr", Reason: "set addr, cluster_addrs or sentinel.addrs"}
	}
	opts.Addrs = []string{c.Addr}
	cl := redis.NewClient(opts.Simple())
	cl.AddHook(redisHook{process: process})
	return cl, nil
}

// redisHook credits each Redis call to the Watches and, on a connection
// error, reloads the cluster's slot map (reload is nil off Cluster).
type redisHook struct {
	process *Watch
	reload  func(context.Context)
}

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.observe(ctx, err)
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if err == nil {
			for _, c := range cmds {
				if e := c.Err(); RedisUnavailable(e) {
					err = e
					break
				}
			}
		}
		h.observe(ctx, err)
		return err
	}
}

// observe credits one call's outcome.
func (h redisHook) observe(ctx context.Context, err error) {
	if errors.Is(err, context.Canceled) {
		return // the caller gave up: says nothing about Redis
	}
	w := watchFrom(ctx)
	if !RedisUnavailable(err) {
		h.process.okIfSet(DepRedis)
		w.okIfSet(DepRedis)
		return
	}
	h.process.failIfSet(DepRedis, err)
	w.failIfSet(DepRedis, err)
	if h.reload != nil && (!isRedisReply(err) || strings.HasPrefix(err.Error(), "CLUSTERDOWN")) {
		h.reload(context.WithoutCancel(ctx))
	}
}

// RedisUnavailable reports whether err means Redis could not serve the
// call: any error that is not a reply (a network error, a timeout, a
// closed or exhausted pool), or a reply saying the node cannot serve now
// (LOADING, CLUSTERDOWN, MASTERDOWN, READONLY, TRYAGAIN). nil, redis.Nil
// and other replies (WRONGTYPE, NOSCRIPT...) mean it answered.
func RedisUnavailable(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) {
		return false
	}
	if isRedisReply(err) {
		msg := err.Error()
		for _, p := range []string{"LOADING", "CLUSTERDOWN", "MASTERDOWN", "READONLY", "TRYAGAIN"} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	return true
}

func isRedisReply(err error) bool {
	var re redis.Error
	return errors.As(err, &re)
}

func (w *Watch) okIfSet(d Dependency) {
	if w != nil {
		w.OK(d)
	}
}

func (w *Watch) failIfSet(d Dependency, err error) {
	if w != nil {
		w.Fail(d, err)
	}
}

// EscapeGlob escapes the glob characters of s, for SCAN MATCH patterns
// built from a key prefix.
func EscapeGlob(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(s)
}
