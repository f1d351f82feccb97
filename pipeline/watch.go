package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Dependency is something a stage needs to make progress. A Watch follows
// the last success and the current run of failures of each.
type Dependency int

// The dependencies a Watch follows.
const (
	// DepFetch is fetching from Kafka (every fetch response, even empty).
	DepFetch Dependency = iota
	// DepProduce is producing to Kafka (acknowledged produce requests).
	DepProduce
	// DepRedis is any Redis call made with the stage's context.
	DepRedis
	// DepProcess is Stage.Process returning nil.
	DepProcess
	numDeps
)

// depProgress labels the stall signal (no progress with input waiting) in
// metrics and logs, next to the dependencies.
const depProgress = "progress"

// DefaultGrace is the default of Deps.Grace and WatchConfig.Grace: how long a dependency may fail
// before a Watch reports it.
const DefaultGrace = 15 * time.Second

func (d Dependency) String() string {
	switch d {
	case DepFetch:
		return "fetch"
	case DepProduce:
		return "produce"
	case DepRedis:
		return "redis"
	case DepProcess:
		return "process"
	}
	return "unknown"
}

// Watch is the one stall and health signal of a stage (or of a process
// component, such as its Redis client): it records successes and failures
// of each Dependency from the hot paths (atomics only), and a monitor
// goroutine (Run) turns them, once a second, into what /readyz reports,
// the gauges leadflow_seconds_since_success and leadflow_stalled, and one
// log line when an outage starts (it lasted longer than the grace) and
// one when it ends, with its duration. Ready never blocks. A Watch is safe
// for concurrent use.
type Watch struct {
	name    string
	grace   time.Duration
	log     *zap.Logger
	metrics *Metrics
	created int64 // unix nanos
	deps    [numDeps]depState
	probe   func(now time.Time) []Problem // the owner's extra checks (stalls); may be nil

	problems atomic.Pointer[[]Problem] // as of the last tick
	// Only the monitor goroutine touches what follows.
	open map[string]Problem // outages logged as started, by dependency
}

type depState struct {
	used         atomic.Bool
	lastOK       atomic.Int64 // unix nanos; 0: never
	failingSince atomic.Int64 // unix nanos of the first failure after lastOK; 0: not failing
	lastErr      atomic.Pointer[string]
}

// Problem is one reason a Watch reports: a dependency failing, or no
// progress while input waits, for longer than the grace.
type Problem struct {
	// Dependency is "fetch", "produce", "redis", "process" or "progress".
	Dependency string
	// Since is when it started.
	Since time.Time
	// Detail says what failed, e.g. the last error.
	Detail string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s: %s (for %s)", p.Dependency, p.Detail, time.Since(p.Since).Round(time.Second))
}

// The bounds of a grace (WatchConfig.Grace, Deps.Grace when set,
// HealthConfig.Grace).
const (
	minGrace = time.Second
	maxGrace = time.Hour
)

// WatchConfig configures a Watch.
type WatchConfig struct {
	// Name is the stage the Watch follows, or "process" for a process
	// component; it labels the gauges and the log lines. Required.
	Name string
	// Grace is how long a dependency may fail with no success, or input
	// wait with no progress, before the Watch reports it. Default (0)
	// DefaultGrace (15s); otherwise between 1s and 1h.
	Grace time.Duration
}

// WatchDeps are what a Watch needs from its owner.
type WatchDeps struct {
	// Logger receives the lines logged when an outage starts and ends.
	// Required.
	Logger *zap.Logger
	// Metrics receives the gauges leadflow_seconds_since_success and
	// leadflow_stalled and the counter leadflow_outages_total. Optional:
	// nil exports none.
	Metrics *Metrics
}

// NewWatch validates cfg and deps and returns a Watch; errors are
// *FieldError values naming the field (e.g. "WatchConfig.Grace"). It
// starts no goroutine: the owner runs Run and waits for it.
func NewWatch(cfg WatchConfig, deps WatchDeps) (*Watch, error) {
	var errs []error
	if cfg.Name == "" {
		errs = append(errs, &FieldError{Field: "WatchConfig.Name", Reason: "is required"})
	}
	if cfg.Grace != 0 {
		errs = append(errs, CheckLimits("WatchConfig", DurationLimit("Grace", cfg.Grace, minGrace, maxGrace)))
	}
	if deps.Logger == nil {
		errs = append(errs, &FieldError{Field: "WatchDeps.Logger", Reason: "is required"})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("pipeline: watch %q: %w", cfg.Name, err)
	}
	if cfg.Grace == 0 {
		cfg.Grace = DefaultGrace
	}
	return &Watch{name: cfg.Name, grace: cfg.Grace, log: deps.Logger, metrics: deps.Metrics,
		created: time.Now().UnixNano(), open: map[string]Problem{}}, nil
}

// Name is the name the Watch was created with.
func (w *Watch) Name() string { return w.name }

// OK records a success of d now.
func (w *Watch) OK(d Dependency) {
	s := &w.deps[d]
	now := time.Now().UnixNano()
	// Coarse: hot paths call this per Redis command; skip the store (and
	// the cache-line write) within 50ms of the last one.
	if now-s.lastOK.Load() > int64(50*time.Millisecond) {
		s.lastOK.Store(now)
		if !s.used.Load() {
			s.used.Store(true)
		}
	}
	if s.failingSince.Load() != 0 {
		s.failingSince.Store(0)
	}
}

// Fail records a failure of d now.
func (w *Watch) Fail(d Dependency, err error) {
	s := &w.deps[d]
	if !s.used.Load() {
		s.used.Store(true)
	}
	s.failingSince.CompareAndSwap(0, time.Now().UnixNano())
	msg := "failed"
	if err != nil {
		msg = err.Error()
	}
	s.lastErr.Store(&msg)
}

// LastOK is the time of d's last success, zero if none.
func (w *Watch) LastOK(d Dependency) time.Time {
	if n := w.deps[d].lastOK.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// sinceOK is how long ago d last succeeded, or since the Watch was created.
func (w *Watch) sinceOK(d Dependency, now time.Time) time.Duration {
	last := w.deps[d].lastOK.Load()
	if last == 0 {
		last = w.created
	}
	return now.Sub(time.Unix(0, last))
}

// Ready returns nil unless a problem outlasted the grace at the last
// monitor tick; the error lists each problem. It reads one atomic.
func (w *Watch) Ready() error {
	ps := w.problems.Load()
	if ps == nil || len(*ps) == 0 {
		return nil
	}
	msgs := make([]string, len(*ps))
	for i, p := range *ps {
		msgs[i] = p.String()
	}
	return errors.New(strings.Join(msgs, "; "))
}

// check returns the problems at now: each dependency failing with no
// success for longer than the grace (a process failure is left out when
// Redis explains it), then the owner's probe unless a dependency already
// explains the stall.
func (w *Watch) check(now time.Time) []Problem {
	var out []Problem
	for d := range numDeps {
		s := &w.deps[d]
		since := s.failingSince.Load()
		if since == 0 || now.Sub(time.Unix(0, since)) <= w.grace {
			continue
		}
		if d == DepProcess && len(out) > 0 && out[len(out)-1].Dependency == DepRedis.String() {
			continue
		}
		detail := "failing"
		if e := s.lastErr.Load(); e != nil {
			detail = *e
		}
		out = append(out, Problem{Dependency: d.String(), Since: time.Unix(0, since), Detail: detail})
	}
	if w.probe != nil && len(out) == 0 {
		out = append(out, w.probe(now)...)
	}
	return out
}

// tick runs one check: it publishes the problems for Ready, logs outages
// that started or ended, and updates the gauges.
func (w *Watch) tick(now time.Time) {
	ps := w.check(now)
	w.problems.Store(&ps)
	current := make(map[string]Problem, len(ps))
	for _, p := range ps {
		current[p.Dependency] = p
		if _, ok := w.open[p.Dependency]; !ok {
			w.open[p.Dependency] = p
			w.log.Warn("outage: no progress on a dependency for longer than the grace; /readyz reports it",
				zap.String("dependency", p.Dependency), zap.Time("since", p.Since), zap.Duration("grace", w.grace), zap.String("detail", p.Detail))
			if w.metrics != nil {
				w.metrics.outages.WithLabelValues(w.name, p.Dependency).Inc()
			}
		}
	}
	for dep, p := range w.open {
		if _, ok := current[dep]; ok {
			continue
		}
		delete(w.open, dep)
		w.log.Info("outage over", zap.String("dependency", dep), zap.Time("since", p.Since),
			zap.Duration("duration", now.Sub(p.Since).Round(time.Millisecond)))
	}
	if w.metrics == nil {
		return
	}
	for d := range numDeps {
		if !w.deps[d].used.Load() {
			continue
		}
		w.metrics.sinceSuccess.WithLabelValues(w.name, d.String()).Set(w.sinceOK(d, now).Seconds())
		w.metrics.stalled.WithLabelValues(w.name, d.String()).Set(boolGauge(current[d.String()].Dependency != ""))
	}
	w.metrics.stalled.WithLabelValues(w.name, depProgress).Set(boolGauge(current[depProgress].Dependency != ""))
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Run ticks every interval until ctx is done; its owner waits for it.
func (w *Watch) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			w.tick(now)
		}
	}
}

type watchKey struct{}

// WithWatch returns ctx carrying w, so that the Redis hook (RedisHook)
// credits the calls made with it to w's stage.
func WithWatch(ctx context.Context, w *Watch) context.Context {
	return context.WithValue(ctx, watchKey{}, w)
}

// watchFrom returns the Watch ctx carries, or nil.
func watchFrom(ctx context.Context) *Watch {
	w, _ := ctx.Value(watchKey{}).(*Watch)
	return w
}

// watchCollectors creates the Watch metrics in m and returns them for
// NewMetrics to register.
func watchCollectors(m *Metrics) []prometheus.Collector {
	m.sinceSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "leadflow_seconds_since_success",
		Help: "Seconds since a stage's last success with a dependency: fetch, produce (grows while there is nothing to produce), redis, process."},
		[]string{"stage", "dependency"})
	m.stalled = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "leadflow_stalled",
		Help: "1 while a dependency has failed with no success, or (progress) input has waited with no batch processed, for longer than health.grace; /readyz is 503 meanwhile."},
		[]string{"stage", "dependency"})
	m.outages = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_outages_total",
		Help: "Outages (a leadflow_stalled period) that started, by dependency."}, []string{"stage", "dependency"})
	return []prometheus.Collector{m.sinceSuccess, m.stalled, m.outages}
}
