package deliver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/leadflow/leadflow/schemas"
)

// OutcomeFailed is the Outcome of a SendTest or Resend attempt that was
// not answered 2xx (such a request is never retried).
const OutcomeFailed = "failed"

// ErrBadURL is returned by SendTest for a webhook URL that is not an
// absolute http(s) URL.
var ErrBadURL = errBadURL

// ErrUnknownEvent is returned by SendTestEvent for an event that is not
// one of TestEvents.
var ErrUnknownEvent = errors.New("deliver: unknown event: use new_lead, new_session or contact_revealed")

// ErrNotKept is returned by Resend when the attempt log no longer keeps
// the attempt's request (it keeps the newest attempt_log_bodies), or kept
// it without its body (larger than attempt_log_body_bytes).
var ErrNotKept = errors.New("deliver: the attempt log no longer keeps this request's body (see stages.deliver.attempt_log_bodies and attempt_log_body_bytes)")

// TestEvents are the events a test request can carry, in the guide's order.
func TestEvents() []string {
	return []string{schemas.EventNewLead, schemas.EventNewSession, schemas.EventContactRevealed}
}

// SendTest is SendTestEvent with the new_lead event.
func SendTest(ctx context.Context, ep Endpoint, cfg Config, version string, log *AttemptLog) (Attempt, error) {
	return SendTestEvent(ctx, ep, cfg, version, log, schemas.EventNewLead)
}

// SendTestEvent sends one signed sample request of event (one of
// TestEvents) to ep now, exactly as the stage would (same headers,
// signatures, timeouts, address rule and response limit), and returns the
// attempt. The sample subject is the guide's: for new_lead and new_session
// the Netcontrol lead (schemas.GuideNetcontrolLead), for contact_revealed
// John Doe (schemas.GuideJohnDoe). The attempt and its detail are recorded
// in log when log is not nil. A failed request is not an error: the
// attempt says what happened. cfg supplies connect_timeout, timeout and
// allow_private_networks; version the User-Agent. It is what
// POST /v1/workspaces/{ws}/webhooks/{id}/test calls.
func SendTestEvent(ctx context.Context, ep Endpoint, cfg Config, version string, log *AttemptLog, event string) (Attempt, error) {
	var subject []byte
	switch event {
	case schemas.EventNewLead, schemas.EventNewSession:
		lead := schemas.GuideNetcontrolLead()
		subject = lead.AppendJSON(nil)
	case schemas.EventContactRevealed:
		c := schemas.GuideJohnDoe()
		subject = c.AppendJSON(nil)
	default:
		return Attempt{}, fmt.Errorf("%w (got %q)", ErrUnknownEvent, event)
	}
	wire := schemas.WireEvent(event, ep.LegacyEventNames)
	body := schemas.AppendPayload(nil, wire, [][]byte{subject})
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	msgID := MessageID(ep.ID, []byte("test"), []byte(hex.EncodeToString(nonce[:])))
	a := Attempt{Event: wire, Subjects: 1, Attempt: 1, MessageID: msgID, Test: true}
	return sendOnce(ctx, ep, cfg, version, log, a, body)
}

// Resend sends the request of the logged attempt id (Attempt.Key) to ep
// again now: the same body and webhook-id, fresh webhook-timestamp and
// signatures (with ep's current secret), as a new attempt (its number one
// past the original's, Resend set) that is recorded in log. It returns
// ErrNotKept when log does not keep that request's body.
func Resend(ctx context.Context, ep Endpoint, cfg Config, version string, log *AttemptLog, id string) (Attempt, error) {
	d, ok, err := log.Detail(ctx, ep.WorkspaceID, ep.ID, id)
	if err != nil {
		return Attempt{}, err
	}
	if !ok || d.Body == nil {
		return Attempt{}, ErrNotKept
	}
	orig := d.Attempt
	a := Attempt{Event: orig.Event, Subjects: orig.Subjects, Attempt: orig.Attempt + 1, MessageID: orig.MessageID, Resend: true}
	return sendOnce(ctx, ep, cfg, version, log, a, d.Body)
}

// sendOnce sends body to ep as the attempt a describes, fills in what
// came of it and records it with its detail in log (when not nil).
func sendOnce(ctx context.Context, ep Endpoint, cfg Config, version string, log *AttemptLog, a Attempt, body []byte) (Attempt, error) {
	u, err := url.Parse(ep.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Attempt{}, &url.Error{Op: "parse", URL: ep.URL, Err: errBadURL}
	}
	if version == "" {
		version = "dev"
	}
	snd := newSender(cfg, version, time.Now)
	defer snd.close()
	res := snd.send(ctx, u, ep.Secret, ep.PreviousSecret, a.MessageID, body, true)
	a.Time, a.StatusCode, a.Error = res.sentAt, res.status, res.describe()
	a.LatencyMS = float64(res.latency.Microseconds()) / 1000
	a.Outcome = OutcomeFailed
	if classify(res, false, 0) == vSuccess {
		a.Outcome = OutcomeSuccess
	}
	a.ID = a.Key()
	if log != nil {
		d := newDetail(a, res.header, body, res.snippet, max(log.maxBody, len(body)))
		if log.bodies == 0 {
			d = nil
		}
		if err := log.Record(ctx, ep.WorkspaceID, ep.ID, a, d); err != nil {
			return a, errors.Join(errors.New("deliver: request sent but not logged"), err)
		}
	}
	return a, nil
}
