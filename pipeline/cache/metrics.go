package cache

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the counters of one named cache, labelled cache="<name>":
//
//	leadflow_cache_lookups_total{cache, result="hit"|"miss"}
//	leadflow_cache_evictions_total{cache}
//
// Several Cache or LRU values may share one Metrics (the enrich stage's
// IP-record cache has one cache per loaded database file; the leads
// stage one LRU per partition). A nil *Metrics counts nothing.
type Metrics struct {
	cacheName string
	lookups   *prometheus.CounterVec
	hits      prometheus.Counter
	misses    prometheus.Counter
	evictions prometheus.Counter
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// NewMetrics creates the counters of the cache called name (lower case,
// digits and '_', such as "enrich_user_agent") and registers them on reg
// (nil: not yet; see Register). A name already registered on reg is an
// error.
func NewMetrics(reg prometheus.Registerer, name string) (*Metrics, error) {
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("cache: name %q must match %s", name, validName)
	}
	labels := prometheus.Labels{"cache": name}
	lookups := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_cache_lookups_total",
		Help: "Lookups of an in-process cache, by cache and result (hit, miss).", ConstLabels: labels}, []string{"result"})
	m := &Metrics{
		cacheName: name,
		lookups:   lookups,
		hits:      lookups.WithLabelValues("hit"),
		misses:    lookups.WithLabelValues("miss"),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{Name: "leadflow_cache_evictions_total",
			Help: "Entries an in-process cache evicted to stay within its size, by cache.", ConstLabels: labels}),
	}
	if err := m.Register(reg); err != nil {
		return nil, err
	}
	return m, nil
}

// Register adds the counters to reg (nil: does nothing), for metrics
// created before their registry was known. A name already registered on
// reg is an error.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	name := m.cacheName
	for _, c := range []prometheus.Collector{m.lookups, m.evictions} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return fmt.Errorf("cache %s: metrics already registered: name each cache once per registry", name)
			}
			return fmt.Errorf("cache %s: registering metrics: %w", name, err)
		}
	}
	return nil
}

func (m *Metrics) name() string {
	if m == nil {
		return "(unnamed)"
	}
	return m.cacheName
}

func (m *Metrics) lookup(hit bool) {
	if m == nil {
		return
	}
	if hit {
		m.hits.Inc()
	} else {
		m.misses.Inc()
	}
}

func (m *Metrics) miss() {
	if m != nil {
		m.misses.Inc()
	}
}

func (m *Metrics) evicted() {
	if m != nil {
		m.evictions.Inc()
	}
}

func (m *Metrics) evictedN(n int) {
	if m != nil && n > 0 {
		m.evictions.Add(float64(n))
	}
}
