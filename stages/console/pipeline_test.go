package console

import (
	"sort"
	"strings"
	"testing"

	"github.com/leadflow/leadflow/configs"
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
