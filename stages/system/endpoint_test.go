package system

import (
	"testing"
	"time"

	"github.com/leadflow/leadflow/stages/control"
)

// The deliver stage gets the previous secret of a rotation only while its
// overlap lasts.
func TestToEndpointCarriesThePreviousSecretDuringTheOverlap(t *testing.T) {
	w := control.Webhook{ID: "wh_1", WorkspaceID: "ws_1", URL: "https://example.com/", Secret: control.NewSecret("old"), Enabled: true}
	during := w.Rotate(control.NewSecret("new"), time.Now(), time.Hour)
	if ep := toEndpoint(during); ep.Secret != "new" || ep.PreviousSecret != "old" {
		t.Fatalf("during the overlap: %q, %q", ep.Secret, ep.PreviousSecret)
	}
	after := w.Rotate(control.NewSecret("new"), time.Now().Add(-2*time.Hour), time.Hour)
	if ep := toEndpoint(after); ep.Secret != "new" || ep.PreviousSecret != "" {
		t.Fatalf("after the overlap: %q, %q", ep.Secret, ep.PreviousSecret)
	}
}
