package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/leadflow/leadflow/stages/admin"
	"github.com/leadflow/leadflow/stages/control"
	"github.com/leadflow/leadflow/stages/deliver"
)

// Outcome filters of View Logs: what a person asks for, and the attempt
// outcomes each shows.
var outcomeFilters = []struct{ value, label string }{
	{"", "All"},
	{"delivered", "Delivered"},
	{"failed", "Failed"},
	{"retrying", "Retrying"},
	{"dead_lettered", "Dead-lettered"},
}

// outcomeFilter is the filter an attempt outcome belongs to.
func outcomeFilter(outcome string) string {
	switch outcome {
	case deliver.OutcomeSuccess:
		return "delivered"
	case deliver.OutcomeRetry, deliver.OutcomeBackpressure:
		return "retrying"
	case deliver.OutcomeDLQ:
		return "dead_lettered"
	}
	return "failed" // failed (a test or resend), disabled (410)
}

// outcomeLabel is an attempt outcome in words.
func outcomeLabel(outcome string) string {
	switch outcome {
	case deliver.OutcomeSuccess:
		return "delivered"
	case deliver.OutcomeRetry:
		return "failed, retrying"
	case deliver.OutcomeBackpressure:
		return "asked to wait, retrying"
	case deliver.OutcomeDLQ:
		return "dead-lettered"
	case deliver.OutcomeDisabled:
		return "failed (410), webhook disabled"
	}
	return "failed"
}

// logPageSize is how many attempts a View Logs page shows.
const logPageSize = 20

// logReadLimit is how many attempts View Logs reads (the API's limit; the
// log keeps stages.deliver.attempt_log_size).
const logReadLimit = 500

type filterLink struct {
	Label, Href string
	Current     bool
}

type logListPage struct {
	WS      string
	Webhook control.Webhook
	Filters []filterLink
	Outcome string
	Rows    []admin.Attempt
	Total   int
	Page    int
	Prev    string
	Next    string
}

// logList is View Logs: the webhook's recent attempts, newest first,
// filtered by outcome, a page at a time.
func (c *Console) logList(w http.ResponseWriter, r *http.Request, s *session) error {
	ws, id := r.PathValue("ws"), r.PathValue("id")
	wh, ok := c.svc.Store().Webhook(ws, id)
	if !ok {
		return notFound("webhook", id, ws)
	}
	atts, err := c.svc.Deliveries(r.Context(), ws, id, logReadLimit)
	if err != nil {
		return err
	}
	outcome := r.FormValue("outcome")
	page, _ := strconv.Atoi(r.FormValue("page"))
	page = max(page, 1)
	base := "/w/" + ws + "/webhooks/" + id + "/logs"
	p := logListPage{WS: ws, Webhook: wh, Outcome: outcome, Page: page}
	for _, f := range outcomeFilters {
		href := base
		if f.value != "" {
			href += "?outcome=" + f.value
		}
		p.Filters = append(p.Filters, filterLink{Label: f.label, Href: href, Current: f.value == outcome})
	}
	var rows []admin.Attempt
	for _, a := range atts {
		if outcome == "" || outcomeFilter(a.Outcome) == outcome {
			rows = append(rows, a)
		}
	}
	p.Total = len(rows)
	from := min((page-1)*logPageSize, len(rows))
	p.Rows = rows[from:min(from+logPageSize, len(rows))]
	q := url.Values{}
	if outcome != "" {
		q.Set("outcome", outcome)
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page-1))
		p.Prev = base + "?" + q.Encode()
	}
	if from+logPageSize < len(rows) {
		q.Set("page", strconv.Itoa(page+1))
		p.Next = base + "?" + q.Encode()
	}
	return c.render(w, r, http.StatusOK, "logs", s, ws, "webhooks", "Logs of "+wh.Name, p)
}

type logDetailPage struct {
	WS      string
	Webhook control.Webhook
	Detail  admin.AttemptDetail
	// Kept is false when the log no longer keeps the request.
	Kept bool
	// Attempt is the attempt's summary, from the list, when not Kept.
	Attempt *admin.Attempt
	// Result is a resend's new attempt, shown above the detail.
	Result *admin.Attempt
	// ResendError says why a resend could not be made.
	ResendError string
}

// logDetail opens one attempt: its request's headers and body, the
// response's status and body, and Resend.
func (c *Console) logDetail(w http.ResponseWriter, r *http.Request, s *session) error {
	ws, id, aid := r.PathValue("ws"), r.PathValue("id"), r.PathValue("attempt")
	wh, ok := c.svc.Store().Webhook(ws, id)
	if !ok {
		return notFound("webhook", id, ws)
	}
	p := logDetailPage{WS: ws, Webhook: wh}
	d, err := c.svc.Delivery(r.Context(), ws, id, aid)
	var aerr *admin.Error
	switch {
	case err == nil:
		p.Detail, p.Kept = d, true
	case errors.As(err, &aerr) && aerr.Status == http.StatusNotFound:
		atts, lerr := c.svc.Deliveries(r.Context(), ws, id, logReadLimit)
		if lerr != nil {
			return lerr
		}
		for i := range atts {
			if atts[i].ID == aid {
				p.Attempt = &atts[i]
			}
		}
		if p.Attempt == nil {
			return &admin.Error{Status: http.StatusNotFound, Code: admin.CodeNotFound, Message: "The log of webhook " + wh.Name + " no longer has this attempt."}
		}
	default:
		return err
	}
	return c.render(w, r, http.StatusOK, "log_detail", s, ws, "webhooks", "Attempt to "+wh.Name, p)
}

// logResend sends an attempt's request again and opens the new attempt.
func (c *Console) logResend(w http.ResponseWriter, r *http.Request, _ *session) error {
	ws, id, aid := r.PathValue("ws"), r.PathValue("id"), r.PathValue("attempt")
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	att, err := c.svc.Resend(ctx, ws, id, aid)
	if err != nil {
		return err
	}
	msg := "Resent: " + outcomeLabel(att.Outcome)
	if att.StatusCode != 0 {
		msg += ", HTTP " + strconv.Itoa(att.StatusCode)
	}
	if att.Error != "" {
		msg += " (" + att.Error + ")"
	}
	return c.redirect(w, r, "/w/"+ws+"/webhooks/"+id+"/logs/"+url.PathEscape(att.ID), msg+".")
}

type testPage struct {
	WS      string
	Webhook control.Webhook
	Events  []string
	Event   string
	Result  *admin.AttemptDetail
	Error   string
}

// testPage is Send Test: choose the event type, send, see the request
// and the endpoint's answer.
func (c *Console) testPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ws, id := r.PathValue("ws"), r.PathValue("id")
	wh, ok := c.svc.Store().Webhook(ws, id)
	if !ok {
		return notFound("webhook", id, ws)
	}
	p := testPage{WS: ws, Webhook: wh, Events: deliver.TestEvents(), Event: deliver.TestEvents()[0]}
	return c.render(w, r, http.StatusOK, "test", s, ws, "webhooks", "Send Test to "+wh.Name, p)
}

// testSend sends the test request and shows it with the answer.
func (c *Console) testSend(w http.ResponseWriter, r *http.Request, s *session) error {
	ws, id := r.PathValue("ws"), r.PathValue("id")
	wh, ok := c.svc.Store().Webhook(ws, id)
	if !ok {
		return notFound("webhook", id, ws)
	}
	p := testPage{WS: ws, Webhook: wh, Events: deliver.TestEvents(), Event: r.PostFormValue("event")}
	ctx, cancel := withTimeout(r.Context())
	defer cancel()
	att, err := c.svc.SendTest(ctx, ws, id, p.Event)
	status := http.StatusOK
	var aerr *admin.Error
	switch {
	case errors.As(err, &aerr):
		p.Error, status = aerr.Message, aerr.Status // no attempt could be made: say why on the page
	case err != nil:
		return err
	default:
		d, derr := c.svc.Delivery(r.Context(), ws, id, att.ID)
		if derr != nil {
			d = admin.AttemptDetail{Attempt: att} // not kept: show the attempt alone
		}
		p.Result = &d
	}
	return c.render(w, r, status, "test", s, ws, "webhooks", "Send Test to "+wh.Name, p)
}
