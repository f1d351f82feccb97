package console

import (
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
