package admin

import (
	"fmt"
	"net/http"
	"strconv"
)

// Limits of GET .../deliveries?limit=N.
const (
	defaultDeliveriesLimit = 50
	maxDeliveriesLimit     = 500
)

// deliveries answers GET .../webhooks/{id}/deliveries: {"data": [Attempt, ...]}.
func (a *api) deliveries(w http.ResponseWriter, r *http.Request) error {
	ws, aerr := workspace(r)
	if aerr != nil {
		return aerr
	}
	id := r.PathValue("id")
	if _, ok := a.d.Store.Webhook(ws, id); !ok {
		return webhooks.notFound(ws, id)
	}
	if a.d.Deliveries == nil {
		return errorf(http.StatusNotImplemented, CodeNotImplemented,
			"the delivery log is not available in this process: it is kept by the deliver stage")
	}
	n := defaultDeliveriesLimit
	if q := r.URL.Query().Get("limit"); q != "" {
		v, err := strconv.Atoi(q)
		if err != nil || v < 1 || v > maxDeliveriesLimit {
			return invalid(map[string]string{"limit": fmt.Sprintf("must be an integer between 1 and %d", maxDeliveriesLimit)})
		}
		n = v
	}
	atts, err := a.d.Deliveries.Recent(r.Context(), ws, id, n)
	if err != nil {
		return fmt.Errorf("reading the delivery log: %w", err)
	}
	if atts == nil {
		atts = []Attempt{}
	}
	writeJSON(w, http.StatusOK, struct {
		Data []Attempt `json:"data"`
	}{atts})
	return nil
}

// test answers POST .../webhooks/{id}/test: it sends one signed sample
// request now and answers the Attempt (200 even when the endpoint fails:
// the attempt says how).
func (a *api) test(w http.ResponseWriter, r *http.Request) error {
	ws, aerr := workspace(r)
	if aerr != nil {
		return aerr
	}
	id := r.PathValue("id")
	wh, ok := a.d.Store.Webhook(ws, id)
	if !ok {
		return webhooks.notFound(ws, id)
	}
	if a.d.Tester == nil {
		return errorf(http.StatusNotImplemented, CodeNotImplemented,
			"test requests are not available in this process: they are sent by the deliver stage")
	}
	att, err := a.d.Tester.SendTest(r.Context(), wh)
	if err != nil {
		return errorf(http.StatusBadGateway, CodeTestFailed, "the test request could not be sent: %v", err)
	}
	writeJSON(w, http.StatusOK, att)
	return nil
}
