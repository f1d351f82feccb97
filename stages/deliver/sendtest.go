package deliver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"

	"github.com/leadflow/leadflow/schemas"
)

// OutcomeFailed is the Outcome of a SendTest attempt that was not
// answered 2xx (a test request is never retried).
const OutcomeFailed = "failed"

// ErrBadURL is returned by SendTest for a webhook URL that is not an
// absolute http(s) URL.
var ErrBadURL = errBadURL

// SendTest sends one signed sample request to ep now, exactly as the stage
// would (same headers, signatures, timeouts, address rule and response
// limit), with the guide's new_lead sample subject
// (schemas.GuideNetcontrolLead), and returns the attempt. The attempt is
// also recorded in log when log is not nil. A failed request is not an
// error: the attempt says what happened. cfg supplies connect_timeout,
// timeout and allow_private_networks; version the User-Agent. It is what
// POST /v1/workspaces/{ws}/webhooks/{id}/test calls.
func SendTest(ctx context.Context, ep Endpoint, cfg Config, version string, log *AttemptLog) (Attempt, error) {
	u, err := url.Parse(ep.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Attempt{}, &url.Error{Op: "parse", URL: ep.URL, Err: errBadURL}
	}
	if version == "" {
		version = "dev"
	}
	snd := newSender(cfg, version, SystemClock{})
	defer snd.close()
	lead := schemas.GuideNetcontrolLead()
	subjects := [][]byte{lead.AppendJSON(nil)}
	event := schemas.WireEvent(schemas.EventNewLead, ep.LegacyEventNames)
	body := schemas.AppendPayload(nil, event, subjects)
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	msgID := MessageID(ep.ID, []byte("test"), []byte(hex.EncodeToString(nonce[:])))

	res := snd.send(ctx, u, ep.Secret, ep.PreviousSecret, msgID, body)
	a := Attempt{Time: res.sentAt, Event: event, Subjects: 1, StatusCode: res.status,
		LatencyMS: float64(res.latency.Microseconds()) / 1000, Error: res.describe(), Attempt: 1,
		MessageID: msgID, Outcome: OutcomeFailed, Test: true}
	if classify(res, false, 0) == vSuccess {
		a.Outcome = OutcomeSuccess
	}
	if log != nil {
		if err := log.Record(ctx, ep.WorkspaceID, ep.ID, a); err != nil {
			return a, errors.Join(errors.New("deliver: test request sent but not logged"), err)
		}
	}
	return a, nil
}
