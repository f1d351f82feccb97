package deliver_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/leadflow/leadflow/pipeline/kafkatest"
	"github.com/leadflow/leadflow/schemas"
)

// TestPerWebhookLimits (issue 15): webhooks with their own max_in_flight
// and rate_limit on one deliver process are each held to their own, and
// one with none gets the stage's.
func TestPerWebhookLimits(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSubjects = 1 // one request per subject
	cfg.QueueSize = 100
	env := newEnv(t, 1, cfg)

	var mu sync.Mutex
	cur, peak := map[string]int{}, map[string]int{}
	rec := newRecorder(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		mu.Lock()
		cur[p]++
		peak[p] = max(peak[p], cur[p])
		mu.Unlock()
		if p != "/fast1" && p != "/fast2" {
			select { // the receiver's latency, so that requests overlap
			case <-time.After(100 * time.Millisecond):
			case <-r.Context().Done():
			}
		}
		mu.Lock()
		cur[p]--
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})
	one, three, dflt := endpoint("wh_one", rec.url("/one")), endpoint("wh_three", rec.url("/three")), endpoint("wh_dflt", rec.url("/dflt"))
	one.MaxInFlight, three.MaxInFlight = 1, 3
	slowRate, fastRate := endpoint("wh_r10", rec.url("/fast1")), endpoint("wh_r40", rec.url("/fast2"))
	slowRate.RateLimit, fastRate.RateLimit = 10, 40
	startStage(t, env, cfg, newEndpoints(one, three, dflt, slowRate, fastRate))

	const n = 16
	var reqs []schemas.DeliveryRequest
	for i := range n {
		for _, wh := range []string{"wh_one", "wh_three", "wh_dflt", "wh_r10", "wh_r40"} {
			reqs = append(reqs, request(i, wh, schemas.EventNewLead, subject(i)))
		}
	}
	env.produce(t, reqs...)
	kafkatest.Eventually(t, 20*time.Second, "every subject", func() bool { return rec.count() >= 5*n })

	mu.Lock()
	defer mu.Unlock()
	for path, want := range map[string]int{"/one": 1, "/three": 3, "/dflt": cfg.MaxInFlight} {
		if peak[path] != want {
			t.Errorf("%s: at most %d requests in flight at once, want %d", path, peak[path], want)
		}
	}
	span := func(path string) time.Duration {
		var first, last time.Time
		for _, a := range rec.arrivals() {
			if a.webhook == path {
				if first.IsZero() {
					first = a.at
				}
				last = a.at
			}
		}
		return last.Sub(first)
	}
	// rate_burst 1: n requests take (n-1)/rate.
	s10, s40 := span("/fast1"), span("/fast2")
	t.Logf("%d requests at rate_limit 10/s took %s, at 40/s %s", n, s10, s40)
	if min10 := time.Duration(n-1) * time.Second / 10 * 9 / 10; s10 < min10 {
		t.Errorf("rate_limit 10/s: %d requests in %s, want at least %s", n, s10, min10)
	}
	if min40 := time.Duration(n-1) * time.Second / 40 * 9 / 10; s40 < min40 || s40 > s10/2 {
		t.Errorf("rate_limit 40/s: %d requests in %s, want at least %s and well under the 10/s webhook's %s", n, s40, min40, s10)
	}
}
