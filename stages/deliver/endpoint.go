package deliver

import "context"

// Endpoint is one webhook as the deliver stage needs it.
type Endpoint struct {
	// ID is the webhook id (the deliveries record key).
	ID string
	// WorkspaceID owns the webhook.
	WorkspaceID string
	// URL is the absolute http(s) URL requests are POSTed to.
	URL string
	// Secret signs requests when not empty (Signature and
	// webhook-signature headers).
	Secret string
	// PreviousSecret, during a secret rotation's overlap, signs requests
	// too: a second v1 signature in webhook-signature (Signature carries
	// only Secret's). Empty: none.
	PreviousSecret string
	// MaxSubjects is the most subjects per request; 0 means the stage's
	// max_subjects.
	MaxSubjects int
	// MaxInFlight is the most requests in flight to this webhook at once;
	// 0 means the stage's max_in_flight. The stage lowers it to its
	// max_in_flight_cap.
	MaxInFlight int
	// RateLimit bounds requests per second to this webhook; 0 means the
	// stage's rate_limit.
	RateLimit float64
	// LegacyEventNames sends contact_revealed as "contacts.revealed".
	LegacyEventNames bool
	// Enabled is false once the webhook is disabled (by the user, or by a
	// 410 answer); requests for it are dead-lettered with reason
	// "disabled" so that they can be replayed once it is enabled again.
	Enabled bool
}

// Endpoints is how the deliver stage learns webhooks from the control
// plane. Implementations must be safe for concurrent use; Endpoint is
// called for every delivery request and must be cheap (an in-memory map).
type Endpoints interface {
	// Endpoint returns the webhook workspaceID/webhookID, and false if
	// this process does not know it (not created yet as far as this
	// process has read, or deleted).
	Endpoint(workspaceID, webhookID string) (Endpoint, bool)
	// Disable disables the webhook (it answered 410 Gone) with reason,
	// for every process. It may block for the duration of a produce.
	Disable(ctx context.Context, workspaceID, webhookID, reason string) error
}
