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

// AppendJSON appends r as JSON to dst, with Subject copied byte for byte
// (no re-encoding or HTML escaping: a subject's URLs keep their '&').
// Times are RFC 3339 with nanoseconds, UTC.
func (r *DeliveryRequest) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, r.ID)
	dst = append(dst, `,"workspace_id":`...)
	dst = appendString(dst, r.WorkspaceID)
	dst = append(dst, `,"webhook_id":`...)
	dst = appendString(dst, r.WebhookID)
	dst = append(dst, `,"automation_id":`...)
	dst = appendString(dst, r.AutomationID)
	dst = append(dst, `,"event":`...)
	dst = appendString(dst, r.Event)
	dst = append(dst, `,"subject":`...)
	if len(r.Subject) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, r.Subject...)
	}
	dst = append(dst, `,"triggered_at":"`...)
	dst = r.TriggeredAt.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","event_time":"`...)
	dst = r.EventTime.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, `"}`...)
}
