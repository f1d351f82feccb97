package schemas_test

import (
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"github.com/leadflow/leadflow/schemas"
)

func TestDeliveryRequestKeepsSubjectBytes(t *testing.T) {
	lead := schemas.GuideNetcontrolLead()
	subject := lead.AppendJSON(nil)
	req := schemas.DeliveryRequest{ID: "dr_1", WorkspaceID: "ws", WebhookID: "wh", AutomationID: "aut", Event: schemas.EventNewLead,
		Subject: subject, TriggeredAt: time.Date(2024, 5, 15, 10, 55, 51, 5, time.UTC), EventTime: schemas.GuideHitTime()}
	b := req.AppendJSON(nil)
	if !strings.Contains(string(b), string(subject)) {
		t.Fatalf("subject was re-encoded:\n%s", b)
	}
	var back schemas.DeliveryRequest
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if string(back.Subject) != string(subject) || !back.TriggeredAt.Equal(req.TriggeredAt) || !back.EventTime.Equal(req.EventTime) ||
		back.ID != req.ID || back.WebhookID != "wh" || back.Event != schemas.EventNewLead || back.AutomationID != "aut" || back.WorkspaceID != "ws" {
		t.Fatalf("round trip: %+v", back)
	}
}
