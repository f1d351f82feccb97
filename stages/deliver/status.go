package deliver

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// The deliver stage's published status: every deliver process writes, per
// webhook it holds state for, its circuit breaker and what waits for the
// webhook in that process, so that the console of any process can show
// them (they live only in each process's memory).
//
// Keys (both in one Redis Cluster slot, so written in one MULTI):
//
//	PREFIX{deliver:state}:INSTANCE  hash: field "WORKSPACE/WEBHOOK", value a WebhookState as JSON
//	PREFIX{deliver:state}           sorted set: INSTANCE scored by when its hash expires (unix ms)
//
// The registry spares readers a SCAN of the whole keyspace (millions of
// lead keys) on every page view: they read the live members, then their
// hashes, O(processes). Both keys expire StatusTTL after the last write;
// a process that stops deletes its own, and a process that died is gone
// from the sums once its hash expires.
const (
	// StatusInterval is how often a deliver process rewrites its status
	// (and at most how often it does on a breaker change).
	StatusInterval = 2 * time.Second
	// StatusTTL is how long a status lives without a rewrite: a process
	// that stopped writing counts as gone after it.
	StatusTTL = 3 * StatusInterval
	// StatusMaxWebhooks bounds the webhooks one process publishes (the
	// worst first), and the processes a reader reads.
	StatusMaxWebhooks = 1000
	// statusMinGap is the least time between two writes on changes.
	statusMinGap = 200 * time.Millisecond
)

// Breaker states as published.
const (
	BreakerClosed   = "closed"
	BreakerOpen     = "open"
	BreakerHalfOpen = "half_open"
)

// WebhookState is one webhook's delivery state in one deliver process, or
// summed over every live process (ReadWebhookStates).
type WebhookState struct {
	WorkspaceID string `json:"ws"`
	WebhookID   string `json:"wh"`
	// Breaker is the circuit breaker's state: closed, open or half_open
	// (summed: the worst of the processes').
	Breaker string `json:"breaker"`
	// BreakerSince is when it entered that state and BreakerReason why
	// (summed: of the process whose breaker is the worst, the oldest).
	BreakerSince  time.Time `json:"since,omitzero"`
	BreakerReason string    `json:"reason,omitempty"`
	// PausedUntil is the end of a Retry-After pause (zero: none).
	PausedUntil time.Time `json:"paused_until,omitzero"`
	// Queued is subjects in open batches and requests waiting for a send
	// slot; InFlight requests being sent; Retrying subjects waiting for an
	// in-process retry or held from a retry tier until they are due (not
	// those still in the retry topics, which no process has read yet).
	Queued   int `json:"queued"`
	InFlight int `json:"in_flight"`
	Retrying int `json:"retrying"`
	// Processes is how many processes published this webhook (summed
	// state only).
	Processes int `json:"-"`
}

// breakerRank orders breaker states from best to worst.
func breakerRank(b string) int {
	switch b {
	case BreakerOpen:
		return 2
	case BreakerHalfOpen:
		return 1
	}
	return 0
}

// StatusRegistryKey is the sorted set of live publishers under prefix.
func StatusRegistryKey(prefix string) string { return prefix + "{deliver:state}" }

// StatusKey is the hash instance publishes under prefix.
func StatusKey(prefix, instance string) string { return prefix + "{deliver:state}:" + instance }

// statusPublisher writes a stage's WebhookStates every StatusInterval and
// soon after a breaker changes. It is owned by the stage: New builds it,
// Start runs it in s.wg until s.ctx ends (Close).
type statusPublisher struct {
	s        *Stage
	rdb      redis.UniversalClient
	prefix   string
	instance string
	interval time.Duration
	ttl      time.Duration
	kick     chan struct{} // buffered 1: a breaker changed
	wrote    bool          // the hash holds fields
}

// newStatusPublisher builds the status publisher of s; it starts nothing.
func newStatusPublisher(s *Stage, rdb redis.UniversalClient, prefix string) *statusPublisher {
	return &statusPublisher{s: s, rdb: rdb, prefix: prefix, instance: newInstanceID(),
		interval: StatusInterval, ttl: StatusTTL, kick: make(chan struct{}, 1)}
}

// statusChanged asks for a rewrite of the status soon; it never blocks.
func (s *Stage) statusChanged() {
	if s.status == nil {
		return
	}
	select {
	case s.status.kick <- struct{}{}:
	default:
	}
}

// newInstanceID names this process's status: host, pid and a random part
// (a restarted process with the same pid is another publisher).
func newInstanceID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

func (p *statusPublisher) run(ctx context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		p.publish(ctx)
		select {
		case <-ctx.Done():
			// Gone at once rather than after the TTL.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			p.remove(dctx)
			cancel()
			return
		case <-t.C:
		case <-p.kick:
			// Coalesce a burst of changes (many endpoints failing at once).
			select {
			case <-ctx.Done():
			case <-time.After(statusMinGap):
			}
		}
	}
}

// publish writes the current states in one MULTI round trip: the hash is
// replaced (DEL, HSET, PEXPIRE) and the instance's registry entry
// refreshed. Nothing is written while the process has no state to show
// and wrote none before.
func (p *statusPublisher) publish(ctx context.Context) {
	states := p.s.WebhookStates()
	if len(states) == 0 && !p.wrote {
		return
	}
	key, reg := StatusKey(p.prefix, p.instance), StatusRegistryKey(p.prefix)
	now := time.Now()
	fields := make([]any, 0, 2*len(states))
	for _, st := range states {
		v, err := json.Marshal(st)
		if err != nil {
			continue // cannot happen: plain fields
		}
		fields = append(fields, st.WorkspaceID+"/"+st.WebhookID, v)
	}
	wctx, cancel := context.WithTimeout(ctx, p.interval)
	defer cancel()
	_, err := p.rdb.TxPipelined(wctx, func(pipe redis.Pipeliner) error {
		pipe.Del(wctx, key)
		if len(fields) > 0 {
			pipe.HSet(wctx, key, fields...)
			pipe.PExpire(wctx, key, p.ttl)
			pipe.ZAdd(wctx, reg, redis.Z{Score: float64(now.Add(p.ttl).UnixMilli()), Member: p.instance})
		} else {
			pipe.ZRem(wctx, reg, p.instance)
		}
		pipe.ZRemRangeByScore(wctx, reg, "-inf", strconv.FormatInt(now.UnixMilli(), 10))
		pipe.PExpire(wctx, reg, p.ttl)
		return nil
	})
	if err != nil {
		if ctx.Err() == nil {
			p.s.log.Debug("could not publish the deliver status (the console shows it stale or missing)", zap.Error(err))
		}
		return
	}
	p.wrote = len(fields) > 0
}

// remove deletes the process's status.
func (p *statusPublisher) remove(ctx context.Context) {
	if !p.wrote {
		return
	}
	_, _ = p.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Del(ctx, StatusKey(p.prefix, p.instance))
		pipe.ZRem(ctx, StatusRegistryKey(p.prefix), p.instance)
		return nil
	})
}

// WebhookStates returns this process's state of every webhook it holds
// state for but healthy idle ones (closed breaker, nothing queued, in
// flight or retrying), worst first, at most StatusMaxWebhooks.
func (s *Stage) WebhookStates() []WebhookState {
	now := s.now()
	eps := s.allEndpoints()
	byKey := make(map[[2]string]*WebhookState, len(eps))
	get := func(ws, wh string) *WebhookState {
		k := [2]string{ws, wh}
		st := byKey[k]
		if st == nil {
			st = &WebhookState{WorkspaceID: ws, WebhookID: wh, Breaker: BreakerClosed}
			byKey[k] = st
		}
		return st
	}
	for _, e := range eps {
		e.mu.Lock()
		st := get(e.workspaceID, e.webhookID)
		st.Breaker, st.BreakerSince, st.BreakerReason = e.br.state.String(), e.br.since, e.br.reason
		if e.pausedUntil.After(now) {
			st.PausedUntil = e.pausedUntil
		}
		retrying := 0
		for _, r := range e.ready {
			if r.attempt > 0 || r.notBefore.After(now) {
				retrying += len(r.items)
			}
		}
		st.Queued, st.InFlight, st.Retrying = e.queued-retrying, e.inflight, retrying
		e.mu.Unlock()
	}
	for _, w := range s.heldRetries() {
		ws, wh := w.workspace, w.webhook
		get(ws, wh).Retrying += w.subjects
	}
	out := make([]WebhookState, 0, len(byKey))
	for _, st := range byKey {
		if st.Breaker == BreakerClosed && st.PausedUntil.IsZero() && st.Queued == 0 && st.InFlight == 0 && st.Retrying == 0 {
			continue
		}
		out = append(out, *st)
	}
	slices.SortFunc(out, compareStates)
	if len(out) > StatusMaxWebhooks {
		out = out[:StatusMaxWebhooks]
	}
	return out
}

// compareStates orders worst first: breaker, then retrying and queued
// subjects.
func compareStates(a, b WebhookState) int {
	return cmp.Or(
		cmp.Compare(breakerRank(b.Breaker), breakerRank(a.Breaker)),
		cmp.Compare(b.Retrying, a.Retrying),
		cmp.Compare(b.Queued, a.Queued),
		cmp.Compare(a.WorkspaceID+"/"+a.WebhookID, b.WorkspaceID+"/"+b.WebhookID))
}

type heldRetry struct {
	workspace, webhook string
	subjects           int
}

// heldRetries lists the retry-tier records this process holds until they
// are due or their Retry-After ends, with their subjects.
func (s *Stage) heldRetries() []heldRetry {
	s.tmu.Lock()
	tps := make([]*tierPart, 0, len(s.tparts))
	for _, tp := range s.tparts {
		tps = append(tps, tp)
	}
	var out []heldRetry
	for w := range s.raWaits {
		out = append(out, heldRetryOf(w.rec.Headers, w.rec.Value))
	}
	s.tmu.Unlock()
	for _, tp := range tps {
		tp.mu.Lock()
		for _, w := range tp.waiting {
			out = append(out, heldRetryOf(w.rec.Headers, w.rec.Value))
		}
		tp.mu.Unlock()
	}
	return out
}

func heldRetryOf(hs []kgo.RecordHeader, value []byte) heldRetry {
	var h heldRetry
	for _, x := range hs {
		switch x.Key {
		case HeaderWorkspace:
			h.workspace = string(x.Value)
		case HeaderWebhook:
			h.webhook = string(x.Value)
		}
	}
	_ = decodeEnvelope(value, func([]byte) error { h.subjects++; return nil })
	return h
}

// ReadWebhookStates reads the status every live deliver process under
// prefix published and sums it per webhook (key "WORKSPACE/WEBHOOK"); it
// also returns how many processes it read. A process whose status expired
// is left out. It reads in two round trips (the registry, then every
// live hash, pipelined).
func ReadWebhookStates(ctx context.Context, rdb redis.UniversalClient, prefix string, now time.Time) (map[string]WebhookState, int, error) {
	insts, err := rdb.ZRangeByScore(ctx, StatusRegistryKey(prefix), &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(now.UnixMilli(), 10), Max: "+inf", Count: StatusMaxWebhooks}).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("reading the deliver status registry: %w", err)
	}
	out := make(map[string]WebhookState)
	if len(insts) == 0 {
		return out, 0, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(insts))
	_, err = rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, inst := range insts {
			cmds[i] = pipe.HGetAll(ctx, StatusKey(prefix, inst))
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("reading the deliver status: %w", err)
	}
	n := 0
	for _, c := range cmds {
		m := c.Val()
		if len(m) > 0 {
			n++
		}
		for k, v := range m {
			var st WebhookState
			if json.Unmarshal([]byte(v), &st) != nil {
				continue
			}
			out[k] = addState(out[k], st)
		}
	}
	return out, n, nil
}

// addState adds one process's state of a webhook to the sum so far.
func addState(sum, st WebhookState) WebhookState {
	if sum.Processes == 0 {
		st.Processes = 1
		return st
	}
	sum.Processes++
	sum.Queued += st.Queued
	sum.InFlight += st.InFlight
	sum.Retrying += st.Retrying
	if st.PausedUntil.After(sum.PausedUntil) {
		sum.PausedUntil = st.PausedUntil
	}
	ra, rb := breakerRank(sum.Breaker), breakerRank(st.Breaker)
	if rb > ra || (rb == ra && !st.BreakerSince.IsZero() && st.BreakerSince.Before(sum.BreakerSince)) {
		sum.Breaker, sum.BreakerSince, sum.BreakerReason = st.Breaker, st.BreakerSince, st.BreakerReason
	}
	return sum
}
