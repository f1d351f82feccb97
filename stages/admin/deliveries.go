package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/leadflow/leadflow/stages/control"
	"github.com/leadflow/leadflow/stages/deliver"
)

// Limits of GET .../deliveries?limit=N.
const (
	defaultDeliveriesLimit = 50
	maxDeliveriesLimit     = 500
)

// deliveryLog checks that webhook id exists in ws and that this process
// has the delivery log, and returns the webhook.
func (a *api) deliveryLog(ws, id string) (control.Webhook, error) {
	if err := checkWorkspace(ws); err != nil {
		return control.Webhook{}, err
	}
	wh, ok := a.d.Store.Webhook(ws, id)
	if !ok {
		return wh, webhooks.notFound(ws, id)
	}
	if a.d.Deliveries == nil {
		return wh, errorf(http.StatusNotImplemented, CodeNotImplemented,
			"the delivery log is not available in this process: it is kept by the deliver stage")
	}
	return wh, nil
}

// recent reads up to n attempts of the webhook, newest first.
func (a *api) recent(ctx context.Context, ws, id string, n int) ([]Attempt, error) {
	if n < 1 || n > maxDeliveriesLimit {
		return nil, invalid(map[string]string{"limit": fmt.Sprintf("must be an integer between 1 and %d", maxDeliveriesLimit)})
	}
	atts, err := a.d.Deliveries.Recent(ctx, ws, id, n)
	if err != nil {
		return nil, fmt.Errorf("reading the delivery log: %w", err)
	}
	if atts == nil {
		atts = []Attempt{}
	}
	return atts, nil
}

// deliveries answers GET .../webhooks/{id}/deliveries: {"data": [Attempt, ...]}.
func (a *api) deliveries(w http.ResponseWriter, r *http.Request) error {
	ws, id := r.PathValue("ws"), r.PathValue("id")
	if _, err := a.deliveryLog(ws, id); err != nil {
		return err
	}
	n := defaultDeliveriesLimit
	if q := r.URL.Query().Get("limit"); q != "" {
		v, err := strconv.Atoi(q)
		if err != nil {
			v = -1
		}
		n = v
	}
	atts, err := a.recent(r.Context(), ws, id, n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Data []Attempt `json:"data"`
	}{atts})
	return nil
}

// detail returns the kept request and answer of one attempt.
func (a *api) detail(ctx context.Context, ws, id, attemptID string) (AttemptDetail, error) {
	if _, err := a.deliveryLog(ws, id); err != nil {
		return AttemptDetail{}, err
	}
	d, ok, err := a.d.Deliveries.Detail(ctx, ws, id, attemptID)
	if err != nil {
		return d, fmt.Errorf("reading the delivery log: %w", err)
	}
	if !ok {
		return d, errorf(http.StatusNotFound, CodeNotFound,
			"the delivery log keeps no request of attempt %q of webhook %q (it keeps the newest stages.deliver.attempt_log_bodies)", attemptID, id)
	}
	return d, nil
}

// delivery answers GET .../webhooks/{id}/deliveries/{attempt}: the
// attempt's request (headers, body) and answer (status, body).
func (a *api) delivery(w http.ResponseWriter, r *http.Request) error {
	d, err := a.detail(r.Context(), r.PathValue("ws"), r.PathValue("id"), r.PathValue("attempt"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// tester checks that webhook id exists in ws and that this process can
// send test requests, and returns the webhook.
func (a *api) tester(ws, id string) (control.Webhook, error) {
	if err := checkWorkspace(ws); err != nil {
		return control.Webhook{}, err
	}
	wh, ok := a.d.Store.Webhook(ws, id)
	if !ok {
		return wh, webhooks.notFound(ws, id)
	}
	if a.d.Tester == nil {
		return wh, errorf(http.StatusNotImplemented, CodeNotImplemented,
			"test requests are not available in this process: they are sent by the deliver stage")
	}
	return wh, nil
}

// sendTest sends a sample request of event ("" is new_lead) to the webhook.
func (a *api) sendTest(ctx context.Context, ws, id, event string) (Attempt, error) {
	wh, err := a.tester(ws, id)
	if err != nil {
		return Attempt{}, err
	}
	if event == "" {
		event = deliver.TestEvents()[0]
	}
	if !slices.Contains(deliver.TestEvents(), event) {
		return Attempt{}, invalid(map[string]string{"event": "must be one of " + strings.Join(deliver.TestEvents(), ", ")})
	}
	att, err := a.d.Tester.SendTest(ctx, wh, event)
	if err != nil {
		return att, errorf(http.StatusBadGateway, CodeTestFailed, "the test request could not be sent: %v", err)
	}
	return att, nil
}

// test answers POST .../webhooks/{id}/test: it sends one signed sample
// request of the body's "event" (new_lead when the body is empty or has
// none) now and answers the Attempt (200 even when the endpoint fails:
// the attempt says how).
func (a *api) test(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.d.MaxBodyBytes))
	if err != nil {
		return errorf(http.StatusBadRequest, CodeBadRequest, "reading the body: %v", err)
	}
	var event string
	if len(strings.TrimSpace(string(body))) > 0 {
		o, err := parseBody(body)
		if err != nil {
			return err
		}
		if aerr := o.only("event"); aerr != nil {
			return aerr
		}
		event, _ = field[string](o, "event", "a string: "+strings.Join(deliver.TestEvents(), ", "))
		if aerr := o.err(); aerr != nil {
			return aerr
		}
	}
	att, err := a.sendTest(r.Context(), r.PathValue("ws"), r.PathValue("id"), event)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, att)
	return nil
}

// resendAttempt sends the logged request of attemptID again.
func (a *api) resendAttempt(ctx context.Context, ws, id, attemptID string) (Attempt, error) {
	wh, err := a.tester(ws, id)
	if err != nil {
		return Attempt{}, err
	}
	att, err := a.d.Tester.Resend(ctx, wh, attemptID)
	switch {
	case errors.Is(err, deliver.ErrNotKept):
		return att, errorf(http.StatusNotFound, CodeNotFound, "%v", err)
	case err != nil:
		return att, errorf(http.StatusBadGateway, CodeTestFailed, "the request could not be sent again: %v", err)
	}
	return att, nil
}

// resend answers POST .../webhooks/{id}/deliveries/{attempt}/resend: it
// sends the attempt's logged request again (same body and webhook-id, new
// signatures) and answers the new Attempt.
func (a *api) resend(w http.ResponseWriter, r *http.Request) error {
	att, err := a.resendAttempt(r.Context(), r.PathValue("ws"), r.PathValue("id"), r.PathValue("attempt"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, att)
	return nil
}
