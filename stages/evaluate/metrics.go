package evaluate

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	changes    prometheus.Counter
	claims     *prometheus.CounterVec
	fired      *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	reveals    prometheus.Counter
	skipped    prometheus.Counter
	missing    prometheus.Counter
	// companyMissing: changes whose company by reference the directory
	// does not know.
	companyMissing prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		changes: prometheus.NewCounter(prometheus.CounterOpts{Name: "leadflow_evaluate_changes_total",
			Help: "Lead changes evaluated."}),
		claims: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_evaluate_claims_total",
			Help: "Once-only claims made in Redis, by result (new, replay, taken)."}, []string{"result"}),
		fired: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_evaluate_fired_total",
			Help: "Automations fired, by trigger and action."}, []string{"trigger", "action"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "leadflow_evaluate_delivery_requests_total",
			Help: "Delivery requests emitted, by event."}, []string{"event"}),
		reveals: prometheus.NewCounter(prometheus.CounterOpts{Name: "leadflow_evaluate_contacts_revealed_total",
			Help: "Contacts revealed."}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{Name: "leadflow_evaluate_skipped_webhooks_total",
			Help: "Delivery requests not emitted because the webhook is gone or disabled."}),
		missing: prometheus.NewCounter(prometheus.CounterOpts{Name: "leadflow_evaluate_subject_parts_missing_total",
			Help: "Sessions and pageviews left out of subjects because the lead's stored state no longer holds them."}),
		companyMissing: prometheus.NewCounter(prometheus.CounterOpts{Name: "leadflow_evaluate_company_missing_total",
			Help: "Lead changes whose company (by reference) the company data does not have: the subject shows only its name and domain. The leads and evaluate stages must read the same data.companies."}),
	}
	reg.MustRegister(m.changes, m.claims, m.fired, m.deliveries, m.reveals, m.skipped, m.missing, m.companyMissing)
	return m
}
