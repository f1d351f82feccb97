package leads

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Redis round-trip operations, the "op" label of
// leadflow_leads_redis_roundtrips_total.
const (
	opLoad = iota
	opIDs
	opWrite
	numOps
)

var opNames = [numOps]string{opLoad: "load", opIDs: "ids", opWrite: "write"}

// Reasons a hit changes no lead, the "reason" label of
// leadflow_leads_hits_skipped_total.
const (
	skipDuplicate = iota
	skipLate
	skipNotBusiness
	numSkips
)

var skipNames = [numSkips]string{skipDuplicate: "duplicate", skipLate: "late", skipNotBusiness: "not_business"}

// How a replayed record's change was re-emitted, the "mode" label of
// leadflow_leads_replays_total (see replay.go).
const (
	replayExact = iota
	replayLatest
	replaySilent
	numReplays
)

var replayNames = [numReplays]string{replayExact: "exact", replayLatest: "latest_state", replaySilent: "nothing_to_emit"}

// metrics are the stage's Prometheus metrics; children are resolved once
// so the hot path does no label lookups.
type metrics struct {
	leadsCreated    prometheus.Counter
	sessionsCreated prometheus.Counter
	changes         [3]prometheus.Counter // by kind
	cacheHits       prometheus.Counter
	cacheMisses     prometheus.Counter
	cacheReloads    prometheus.Counter
	cacheEntries    prometheus.GaugeFunc
	cacheBytes      prometheus.GaugeFunc
	roundTrips      [numOps]prometheus.Counter
	batchRecords    prometheus.Histogram
	batchLeads      prometheus.Histogram
	skipped         [numSkips]prometheus.Counter
	replays         [numReplays]prometheus.Counter
	replayMismatch  prometheus.Counter
	missingCompany  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, cacheSize, cacheBytes func() float64) *metrics {
	changes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_leads_changes_total",
		Help: "Lead changes emitted, by kind (re-emitted replays included)."}, []string{"kind"})
	cache := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_leads_cache_lookups_total",
		Help: "Lead state lookups in the in-process cache, by result (hit; miss: read from Redis; reload: cached, read again for a cold session or a replay)."}, []string{"result"})
	rts := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_leads_redis_roundtrips_total",
		Help: "Pipelined Redis round trips, by operation (load, ids, write)."}, []string{"op"})
	skipped := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_leads_hits_skipped_total",
		Help: "Hits that changed no lead, by reason (duplicate event id, late, not a business network)."}, []string{"reason"})
	replays := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_leads_replays_total",
		Help: "Replayed hit records (already applied before a crash or rebalance), by how their change was re-emitted."}, []string{"mode"})
	m := &metrics{
		leadsCreated: prometheus.NewCounter(prometheus.CounterOpts{Name: "leadflow_leads_created_total",
			Help: "Leads created (first hit of a workspace and company)."}),
		sessionsCreated: prometheus.NewCounter(prometheus.CounterOpts{Name: "leadflow_leads_sessions_created_total",
			Help: "Sessions created (a lead's first session included)."}),
		cacheHits:   cache.WithLabelValues("hit"),
		cacheMisses: cache.WithLabelValues("miss"),
		// A cached lead read again: a hit for one of its cold sessions,
		// or a replayed record (leadState.needsLoad).
		cacheReloads: cache.WithLabelValues("reload"),
		cacheEntries: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "leadflow_leads_cache_entries",
			Help: "Lead states cached in this process (bounded by stages.leads.cache_size)."}, cacheSize),
		cacheBytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "leadflow_leads_cache_bytes",
			Help: "Estimated heap of the lead states cached in this process (bounded by stages.leads.cache_max_bytes; the heap they hold is somewhat larger, and the process's RSS about twice the heap in use)."}, cacheBytes),
		batchRecords: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "leadflow_leads_batch_records",
			Help: "Hit records per batch.", Buckets: prometheus.ExponentialBuckets(1, 4, 8)}),
		batchLeads: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "leadflow_leads_batch_leads",
			Help: "Distinct leads per batch (each is one command group in the batch's Redis write).", Buckets: prometheus.ExponentialBuckets(1, 4, 8)}),
		replayMismatch: prometheus.NewCounter(prometheus.CounterOpts{Name: "leadflow_leads_replay_mismatches_total",
			Help: "Replays rebuilt from the pre-image that did not end in the stored state (a bug; the stored state wins)."}),
		missingCompany: prometheus.NewCounter(prometheus.CounterOpts{Name: "leadflow_leads_company_missing_total",
			Help: "Leads whose company domain is not in the company data (the subject shows the domain as the name)."}),
	}
	for i, k := range kindName {
		m.changes[i] = changes.WithLabelValues(k)
	}
	for i, n := range opNames {
		m.roundTrips[i] = rts.WithLabelValues(n)
	}
	for i, n := range skipNames {
		m.skipped[i] = skipped.WithLabelValues(n)
	}
	for i, n := range replayNames {
		m.replays[i] = replays.WithLabelValues(n)
	}
	if reg != nil {
		reg.MustRegister(changes, cache, rts, skipped, replays, m.leadsCreated, m.sessionsCreated,
			m.cacheEntries, m.cacheBytes, m.batchRecords, m.batchLeads, m.replayMismatch, m.missingCompany)
	}
	return m
}
