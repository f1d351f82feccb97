package schemas

import (
	"time"

	"github.com/goccy/go-json"
)

// DeliveryRequest is one subject to send to one webhook: what the evaluate
// stage produces to leadflow.deliveries, keyed by WebhookID, and the
// deliver stage batches into webhook requests.
type DeliveryRequest struct {
	// ID is stable across replays of the same trigger (a hash of the
	// automation, the trigger's natural key, the webhook and the subject's
	// natural id), so a replayed request can be recognised.
	ID string `json:"id"`
	// WorkspaceID owns the webhook.
	WorkspaceID string `json:"workspace_id"`
	// WebhookID is the endpoint to deliver to.
	WebhookID string `json:"webhook_id"`
	// AutomationID is the automation whose trigger caused this request.
	AutomationID string `json:"automation_id"`
	// Event is EventNewLead, EventNewSession or EventContactRevealed.
	Event string `json:"event"`
	// Subject is the subject's JSON exactly as it is sent (a lead or a contact).
	Subject json.RawMessage `json:"subject"`
	// TriggeredAt is when the trigger happened (evaluate's clock); subjects
	// of one request are in the order their triggers happened.
	TriggeredAt time.Time `json:"triggered_at"`
	// EventTime is the timestamp of the raw event that caused the trigger,
	// for end-to-end latency.
	EventTime time.Time `json:"event_time"`
}
