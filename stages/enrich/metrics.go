package enrich

import (
	"errors"
	"fmt"

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Drop reasons: the reason label of leadflow_enrich_dropped_total. An
// event is counted once, under the first reason that applies, in this
// order.
const (
	// DropBot: the User-Agent is a crawler, headless browser, monitor,
	// preview fetcher or HTTP library (or empty, with drop_empty_user_agent).
	DropBot = "bot"
	// DropUnknownIP: the IP database has no record for the address.
	DropUnknownIP = "unknown_ip"
	// DropISP, DropHosting and DropEducation: the address is on a consumer
	// or mobile access, data-centre, or school/university network.
	DropISP       = "isp"
	DropHosting   = "hosting"
	DropEducation = "education"
	// DropOtherNetwork: the record's network_type is one leadflow does not
	// know (a production database's "government", say).
	DropOtherNetwork = "other_network"
	// DropNoDomain: a business network whose record has no company_domain.
	DropNoDomain = "no_domain"
	// DropBadIPRecord: the address's record does not decode in the expected
	// layout (logged once per record).
	DropBadIPRecord = "bad_ip_record"
)

// dropReasons lists every drop reason, in the order counters are indexed.
var dropReasons = [...]string{DropBot, DropUnknownIP, DropISP, DropHosting, DropEducation,
	DropOtherNetwork, DropNoDomain, DropBadIPRecord}

// drop indexes dropReasons.
type drop uint8

const (
	dropBot drop = iota
	dropUnknownIP
	dropISP
	dropHosting
	dropEducation
	dropOtherNetwork
	dropNoDomain
	dropBadIPRecord
	numDrops
)

// Cache labels of leadflow_enrich_cache_requests_total.
const (
	cacheUserAgent = iota
	cacheIPRecord
	cacheCompany
	numCaches
)

var cacheNames = [numCaches]string{"user_agent", "ip_record", "company"}

// metrics are the stage's own Prometheus metrics. Counters are resolved
// once here so the hot path only adds to them, once per batch.
type metrics struct {
	droppedVec     *prometheus.CounterVec
	cacheVec       *prometheus.CounterVec
	reloadVec      *prometheus.CounterVec
	dropped        [numDrops]prometheus.Counter
	hits           prometheus.Counter
	companiesSent  prometheus.Counter
	companyUnknown prometheus.Counter
	cacheHit       [numCaches]prometheus.Counter
	cacheMiss      [numCaches]prometheus.Counter
	reloadOK       prometheus.Counter
	reloadError    prometheus.Counter
	buildTime      prometheus.Gauge
}

// newMetrics creates the metrics; register adds them to a registry.
func newMetrics() *metrics {
	m := &metrics{
		droppedVec: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_enrich_dropped_total",
			Help: "Raw events that make no lead, by reason: bot, unknown_ip, isp, hosting, education, other_network, no_domain, bad_ip_record."},
			[]string{"reason"}),
		hits: prometheus.NewCounter(prometheus.CounterOpts{Name: "leadflow_enrich_hits_total",
			Help: "Enriched hits emitted to the hits topic."}),
		companiesSent: prometheus.NewCounter(prometheus.CounterOpts{Name: "leadflow_enrich_companies_sent_total",
			Help: "Company records emitted to the companies topic (a domain's first sighting in this process's cache)."}),
		companyUnknown: prometheus.NewCounter(prometheus.CounterOpts{Name: "leadflow_enrich_company_unknown_total",
			Help: "Business domains from the IP database that the companies data does not have; a minimal company record (name = domain) was sent."}),
		cacheVec: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_enrich_cache_requests_total",
			Help: "Lookups of the enrich stage's caches (user_agent, ip_record, company), by result (hit, miss)."},
			[]string{"cache", "result"}),
		reloadVec: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_enrich_ip_database_reloads_total",
			Help: "Attempts to load a replaced IP database file, by result (ok; error: the previous file stays in use)."},
			[]string{"result"}),
		buildTime: prometheus.NewGauge(prometheus.GaugeOpts{Name: "leadflow_enrich_ip_database_build_timestamp_seconds",
			Help: "Build time (metadata build_epoch) of the IP database file in use."}),
	}
	m.reloadOK = m.reloadVec.WithLabelValues("ok")
	m.reloadError = m.reloadVec.WithLabelValues("error")
	for i, r := range dropReasons {
		m.dropped[i] = m.droppedVec.WithLabelValues(r)
	}
	for i, c := range cacheNames {
		m.cacheHit[i] = m.cacheVec.WithLabelValues(c, "hit")
		m.cacheMiss[i] = m.cacheVec.WithLabelValues(c, "miss")
	}
	return m
}

// register adds the metrics to reg (nil: none).
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{m.droppedVec, m.hits, m.companiesSent, m.companyUnknown,
		m.cacheVec, m.reloadVec, m.buildTime} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return errors.New("enrich: metrics are already registered: create one enrich stage per registry")
			}
			return fmt.Errorf("enrich: registering metrics: %w", err)
		}
	}
	return nil
}

// onReload records a reload attempt of the IP database.
func (m *metrics) onReload(meta *maxminddb.Metadata, err error) {
	if err != nil {
		m.reloadError.Inc()
		return
	}
	m.reloadOK.Inc()
	m.buildTime.Set(float64(meta.BuildEpoch))
}

// counts are one batch's metric increments, added to the counters at its
// end so records cost no atomic operations.
type counts struct {
	dropped        [numDrops]int
	hits           int
	companiesSent  int
	companyUnknown int
	cacheHit       [numCaches]int
	cacheMiss      [numCaches]int
}

func (m *metrics) add(c *counts) {
	for i, n := range c.dropped {
		if n > 0 {
			m.dropped[i].Add(float64(n))
		}
	}
	for i := range numCaches {
		if c.cacheHit[i] > 0 {
			m.cacheHit[i].Add(float64(c.cacheHit[i]))
		}
		if c.cacheMiss[i] > 0 {
			m.cacheMiss[i].Add(float64(c.cacheMiss[i]))
		}
	}
	if c.hits > 0 {
		m.hits.Add(float64(c.hits))
	}
	if c.companiesSent > 0 {
		m.companiesSent.Add(float64(c.companiesSent))
	}
	if c.companyUnknown > 0 {
		m.companyUnknown.Add(float64(c.companyUnknown))
	}
	*c = counts{}
}
