package console

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/leadflow/leadflow/configs"
	"github.com/leadflow/leadflow/stages/console/clusterview"
	"github.com/leadflow/leadflow/stages/deliver"
)

// TestSettingsAreRedacted: the Pipeline page's settings hide every set
// secret (admin token, portal key, secret key) and keep the rest.
func TestSettingsAreRedacted(t *testing.T) {
	cfg := configs.Default()
	cfg.Admin.Token = "tok-visible-if-broken"
	cfg.Admin.PortalKey = "portal-key-visible-if-broken-0123456789"
	cfg.SecretKey = "secret-key-visible-if-broken"
	cfg.Redis.KeyPrefix = "kept.prefix."
	out, err := redactedSettings(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "visible-if-broken") {
		t.Fatalf("a secret shows:\n%s", out)
	}
	for _, want := range []string{"token: '[redacted]'", "portal_key: '[redacted]'", "kept.prefix.", "console_session_ttl"} {
		if !strings.Contains(out, want) {
			t.Errorf("settings lack %q:\n%s", want, out)
		}
	}
}

// TestEndpointsWorstFirst: disabled first, then by success rate, then by
// failures; a webhook without traffic after every one with traffic.
func TestEndpointsWorstFirst(t *testing.T) {
	rows := []endpointRow{
		{ID: "idle", Enabled: true, SuccessRate: -1},
		{ID: "fine", Enabled: true, SuccessRate: 1, Requests: 10},
		{ID: "half", Enabled: true, SuccessRate: 0.5, Requests: 10, Failed: 5},
		{ID: "off", Enabled: false, SuccessRate: -1},
	}
	sort.SliceStable(rows, func(i, j int) bool { return worse(rows[i], rows[j]) })
	var got []string
	for _, r := range rows {
		got = append(got, r.ID)
	}
	if strings.Join(got, ",") != "off,half,fine,idle" {
		t.Fatalf("order %v, want off,half,fine,idle", got)
	}
	if q := quantile([]float64{1, 2, 3, 4, 100}, 0.99); q != 100 {
		t.Fatalf("p99 of 5 = %v", q)
	}
	if q := quantile([]float64{1, 2, 3, 4, 100}, 0.5); q != 3 {
		t.Fatalf("p50 of 5 = %v", q)
	}
}

// TestEndpointsOpenBreakerIsWorse: an open breaker sorts before a
// half-open one, which sorts before a closed one with a lower success
// rate; a disabled webhook stays first.
func TestEndpointsOpenBreakerIsWorse(t *testing.T) {
	rows := []endpointRow{
		{ID: "poor", Enabled: true, SuccessRate: 0.2, Requests: 10, State: deliver.WebhookState{Breaker: deliver.BreakerClosed}},
		{ID: "half", Enabled: true, SuccessRate: 0.9, Requests: 10, State: deliver.WebhookState{Breaker: deliver.BreakerHalfOpen}},
		{ID: "open", Enabled: true, SuccessRate: 0.9, Requests: 10, State: deliver.WebhookState{Breaker: deliver.BreakerOpen}},
		{ID: "queued", Enabled: true, SuccessRate: 0.2, Requests: 10, State: deliver.WebhookState{Breaker: deliver.BreakerClosed, Queued: 40}},
		{ID: "off", Enabled: false, SuccessRate: -1},
	}
	sort.SliceStable(rows, func(i, j int) bool { return worse(rows[i], rows[j]) })
	var got []string
	for _, r := range rows {
		got = append(got, r.ID)
	}
	if strings.Join(got, ",") != "off,open,half,queued,poor" {
		t.Fatalf("order %v, want off,open,half,queued,poor", got)
	}
	for d, want := range map[time.Duration]string{42 * time.Second: "42s", 5*time.Minute + 10*time.Second: "5m10s", 3*time.Hour + 5*time.Minute + 20*time.Second: "3h5m"} {
		if got := age(d); got != want {
			t.Errorf("age(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestPipelineChart: the ring keeps the newest chartSamples samples, at
// most one per half refresh; the chart draws a line per stage for in, out
// and lag within the window, escapes stage names, and says it is
// collecting when it has nothing to draw.
func TestPipelineChart(t *testing.T) {
	r := newSampleRing(chartSamples)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var now time.Time
	for i := range chartSamples + 10 {
		now = t0.Add(time.Duration(i) * pipelineRefresh)
		r.add(now, []clusterview.Stage{
			{Name: "enrich", InPerSec: float64(i), OutPerSec: float64(i) / 2, Lag: int64(100 - i)},
			{Name: "<deliver>", InPerSec: -1, OutPerSec: -1, Lag: 3},
		})
		r.add(now.Add(time.Second), []clusterview.Stage{{Name: "enrich"}}) // a second viewer: not sampled
	}
	snap := r.snapshot()
	if len(snap) != chartSamples || !snap[0].t.Equal(t0.Add(10*pipelineRefresh)) || !snap[len(snap)-1].t.Equal(now) {
		t.Fatalf("ring: %d samples from %v to %v; want %d, oldest first, the newest kept", len(snap), snap[0].t, snap[len(snap)-1].t, chartSamples)
	}
	out := string(pipelineCharts(snap, now))
	for _, want := range []string{`id="chart-throughput"`, `id="chart-lag"`, `data-series="enrich in"`, `data-series="enrich out"`,
		`data-series="enrich"`, `data-series="&lt;deliver&gt;"`, `stroke-dasharray`} {
		if !strings.Contains(out, want) {
			t.Errorf("chart lacks %s", want)
		}
	}
	if strings.Contains(out, "<deliver>") {
		t.Error("a stage name is not escaped")
	}
	if n := strings.Count(out, "<polyline"); n != 4 {
		t.Errorf("%d lines, want 4 (enrich in, out and lag; deliver's lag; its unknown rates are not drawn)", n)
	}
	empty := string(pipelineCharts(nil, now))
	if !strings.Contains(empty, "collecting samples") || strings.Contains(empty, "<polyline") {
		t.Errorf("empty chart: %s", empty)
	}
	if got := niceCeil(0.3); got != 0.5 {
		t.Errorf("niceCeil(0.3) = %v", got)
	}
	if got := niceCeil(1234); got != 2000 {
		t.Errorf("niceCeil(1234) = %v", got)
	}
}
