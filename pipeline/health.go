package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Health collects the readiness checks of a process: one per stage runner
// and per other component (the control plane, say). It is safe for
// concurrent use.
type Health struct {
	mu     sync.Mutex
	checks []healthCheck
}

type healthCheck struct {
	name string
	fn   func(context.Context) error
}

// Add registers a readiness check; fn returns nil when name is ready. It
// gets the context of the /readyz request.
func (h *Health) Add(name string, fn func(context.Context) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = append(h.checks, healthCheck{name, fn})
}

// Ready returns nil when every check passes, else every failure joined.
func (h *Health) Ready(ctx context.Context) error {
	h.mu.Lock()
	checks := append([]healthCheck(nil), h.checks...)
	h.mu.Unlock()
	var errs []error
	for _, c := range checks {
		if err := c.fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

// OpsHandler serves GET /healthz (liveness: 200 while the process runs),
// GET /readyz (200 once h is ready, else 503 with the reasons) and
// GET /metrics (Prometheus, from g).
func OpsHandler(h *Health, g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := h.Ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, "not ready:\n%v\n", err)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	return mux
}
