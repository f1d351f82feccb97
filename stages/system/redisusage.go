package system

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/redis/go-redis/v9"

	"github.com/leadflow/leadflow/pipeline"
)

// Key kinds of RedisUsage, by what the key holds.
const (
	KindLead         = "lead"          // PREFIX lead:{ws|domain}: a lead's state, its claims and reveal records
	KindOldClaim     = "old_claim"     // PREFIX {ws|domain}:fired:…, …:revealed:…, …:reveals:…: a claim or reveal record kept as a key by a leadflow from before they moved into the lead's hash (leadflow redis-migrate moves them)
	KindAttemptLog   = "attempt_log"   // PREFIX deliveries:{ws/webhook}: a webhook's recent attempts
	KindLeadIDs      = "lead_ids"      // PREFIX lead-ids: the lead id counter (the one key without a TTL)
	KindDeliverState = "deliver_state" // PREFIX {deliver:state}[:INSTANCE]: a deliver process's status for the console, and their registry
	KindOther        = "other"         // anything else under the prefix
)

// KindUsage is what RedisUsage found for one kind of key.
type KindUsage struct {
	// Keys is how many keys of the kind there are.
	Keys int64
	// NoTTL is how many of them have no TTL.
	NoTTL int64
	// Bytes is the sum of MEMORY USAGE of the keys measured (0 when the
	// server does not answer MEMORY USAGE, as miniredis does not).
	Bytes int64
	// Measured is how many keys Bytes covers.
	Measured int64
}

// BytesPerKey is Bytes/Measured (0 when nothing was measured).
func (k KindUsage) BytesPerKey() float64 {
	if k.Measured == 0 {
		return 0
	}
	return float64(k.Bytes) / float64(k.Measured)
}

// RedisUsage is what leadflow holds in Redis under one key prefix.
type RedisUsage struct {
	// Kinds is the usage per key kind (the Kind* constants).
	Kinds map[string]*KindUsage
	// Unbounded names the keys without a TTL, other than the lead id
	// counter (at most 100): every other key leadflow writes expires.
	Unbounded []string
	// UsedMemory is the server's used_memory (0 when it does not say).
	UsedMemory int64
}

// KeyKind is the kind of a leadflow key under prefix.
func KeyKind(prefix, key string) string {
	rest, ok := strings.CutPrefix(key, prefix)
	switch {
	case !ok:
		return KindOther
	case rest == "lead-ids":
		return KindLeadIDs
	case strings.HasPrefix(rest, "lead:{"):
		return KindLead
	case strings.HasPrefix(rest, "deliveries:{"):
		return KindAttemptLog
	case strings.HasPrefix(rest, "{deliver:state}"):
		return KindDeliverState
	case strings.HasPrefix(rest, "{") && (strings.Contains(rest, "}:fired:") || strings.Contains(rest, "}:revealed:") || strings.Contains(rest, "}:reveals:")):
		return KindOldClaim
	}
	return KindOther
}

// MeasureRedis scans every key under prefix (SCAN, in pages of 1000), reads
// each key's TTL and, for one key in every sample (1: all; 0: none), its
// MEMORY USAGE, in one pipelined round trip per page. It reads only; on a
// Redis Cluster it scans the node rdb reaches (run it against each master).
func MeasureRedis(ctx context.Context, rdb redis.UniversalClient, prefix string, sample int) (*RedisUsage, error) {
	u := &RedisUsage{Kinds: map[string]*KindUsage{}}
	var cursor uint64
	var n int64
	for {
		keys, next, err := rdb.Scan(ctx, cursor, pipeline.EscapeGlob(prefix)+"*", 1000).Result()
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		pipe := rdb.Pipeline()
		ttls := make([]*redis.DurationCmd, len(keys))
		mems := make([]*redis.IntCmd, len(keys))
		for i, k := range keys {
			ttls[i] = pipe.PTTL(ctx, k)
			if n++; sample > 0 && n%int64(sample) == 0 {
				mems[i] = pipe.MemoryUsage(ctx, k, 0) // SAMPLES 0: every field, not an estimate from 5
			}
		}
		if len(keys) > 0 {
			_, _ = pipe.Exec(ctx) // errors are read per command
		}
		for i, k := range keys {
			ku := u.Kinds[KeyKind(prefix, k)]
			if ku == nil {
				ku = &KindUsage{}
				u.Kinds[KeyKind(prefix, k)] = ku
			}
			ttl, err := ttls[i].Result()
			if errors.Is(err, redis.Nil) || ttl == -2 { // gone since SCAN saw it
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("pttl %s: %w", k, err)
			}
			ku.Keys++
			if ttl < 0 {
				ku.NoTTL++
				if KeyKind(prefix, k) != KindLeadIDs && len(u.Unbounded) < 100 {
					u.Unbounded = append(u.Unbounded, k)
				}
			}
			if mems[i] != nil {
				if b, err := mems[i].Result(); err == nil {
					ku.Bytes += b
					ku.Measured++
				}
			}
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	if info, err := rdb.Info(ctx, "memory").Result(); err == nil {
		u.UsedMemory = infoInt(info, "used_memory")
	}
	return u, nil
}

// infoInt reads an integer field of an INFO answer (0 if absent).
func infoInt(info, field string) int64 {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			var n int64
			_, _ = fmt.Sscan(v, &n)
			return n
		}
	}
	return 0
}

// WriteTo prints u as a table: per kind, the keys, those without a TTL,
// and the bytes per key measured.
func (u *RedisUsage) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	tw := tabwriter.NewWriter(cw, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tkeys\tno TTL\tbytes/key\ttotal MiB (est.)\t")
	kinds := make([]string, 0, len(u.Kinds))
	for k := range u.Kinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		ku := u.Kinds[k]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.1f\t\n", k, ku.Keys, ku.NoTTL, ku.BytesPerKey(), ku.BytesPerKey()*float64(ku.Keys)/(1<<20))
	}
	if err := tw.Flush(); err != nil {
		return cw.n, err
	}
	if u.UsedMemory > 0 {
		fmt.Fprintf(cw, "used_memory (whole server): %.1f MiB\n", float64(u.UsedMemory)/(1<<20))
	}
	for _, k := range u.Unbounded {
		fmt.Fprintf(cw, "WARNING: no TTL: %s\n", k)
	}
	return cw.n, cw.err
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}
