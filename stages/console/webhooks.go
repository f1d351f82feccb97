package console

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/leadflow/leadflow/stages/admin"
	"github.com/leadflow/leadflow/stages/control"
)

// webhookRow is one webhook of Integrations → Webhooks.
type webhookRow struct {
	control.Webhook
	// Status is active, paused or disabled.
	Status string
	// Last is the latest attempt, when the log has one.
	Last *admin.Attempt
}

type webhookListPage struct {
	WS       string
	Webhooks []webhookRow
	// LogError says why the last deliveries could not be read ("" when
	// they could).
	LogError string
}

// webhookStatus is active, paused (by the user) or disabled (by the
// deliver stage, with its reason).
func webhookStatus(w control.Webhook) string {
	switch {
	case w.Enabled:
		return "active"
	case w.DisabledReason != "":
		return "disabled"
	}
	return "paused"
}

// webhookList is Integrations → Webhooks.
func (c *Console) webhookList(w http.ResponseWriter, r *http.Request, s *session) error {
	ws := r.PathValue("ws")
	p := webhookListPage{WS: ws}
	for _, wh := range c.svc.Store().Workspace(ws).ListWebhooks() {
		row := webhookRow{Webhook: wh, Status: webhookStatus(wh)}
		atts, err := c.svc.Deliveries(r.Context(), ws, wh.ID, 1)
		switch {
		case err != nil:
			p.LogError = err.Error()
		case len(atts) > 0:
			row.Last = &atts[0]
		}
		p.Webhooks = append(p.Webhooks, row)
	}
	return c.render(w, r, http.StatusOK, "webhooks", s, ws, "webhooks", "Webhooks", p)
}

// webhookFormPage is the Create Webhook and edit form.
type webhookFormPage struct {
	WS, ID                 string
	URL, Name, MaxSubjects string
	MaxInFlight, RateLimit string // "" or "0": the deliver stage's defaults
	LegacyEventNames       bool
	HasSecret              bool
	Fields                 map[string]string
	Error                  string
	DefaultMaxSubjects     int
	MaxSubjectsLimit       int
}

func (c *Console) webhookForm(w http.ResponseWriter, r *http.Request, s *session) error {
	ws, id := r.PathValue("ws"), r.PathValue("id")
	p := webhookFormPage{WS: ws, ID: id, DefaultMaxSubjects: control.DefaultMaxSubjects, MaxSubjectsLimit: control.MaxSubjectsLimit,
		MaxSubjects: strconv.Itoa(control.DefaultMaxSubjects)}
	title := "Create Webhook"
	if id != "" {
		wh, ok := c.svc.Store().Webhook(ws, id)
		if !ok {
			return notFound("webhook", id, ws)
		}
		p.URL, p.Name, p.MaxSubjects = wh.URL, wh.Name, strconv.Itoa(wh.MaxSubjects)
		p.MaxInFlight, p.RateLimit = strconv.Itoa(wh.MaxInFlight), strconv.FormatFloat(wh.RateLimit, 'f', -1, 64)
		p.LegacyEventNames, p.HasSecret = wh.LegacyEventNames, !wh.Secret.IsZero()
		title = "Edit webhook " + wh.Name
	}
	return c.render(w, r, http.StatusOK, "webhook_form", s, ws, "webhooks", title, p)
}

// webhookSave creates or changes a webhook from the form, through the
// admin API's service (its validation, its 422 messages).
func (c *Console) webhookSave(w http.ResponseWriter, r *http.Request, s *session) error {
	ws, id := r.PathValue("ws"), r.PathValue("id")
	body := map[string]any{
		"url":                strings.TrimSpace(r.PostFormValue("url")),
		"name":               strings.TrimSpace(r.PostFormValue("name")),
		"legacy_event_names": r.PostFormValue("legacy_event_names") == "on",
	}
	p := webhookFormPage{WS: ws, ID: id, URL: r.PostFormValue("url"), Name: r.PostFormValue("name"),
		MaxSubjects: r.PostFormValue("max_subjects"), LegacyEventNames: body["legacy_event_names"].(bool),
		MaxInFlight: r.PostFormValue("max_in_flight"), RateLimit: r.PostFormValue("rate_limit"),
		DefaultMaxSubjects: control.DefaultMaxSubjects, MaxSubjectsLimit: control.MaxSubjectsLimit}
	if ms := strings.TrimSpace(p.MaxSubjects); ms != "" {
		body["max_subjects"] = json.RawMessage(jsonNumberOrString(ms))
	}
	// An empty limit is 0: the deliver stage's default (sent, so that
	// clearing the field on an edit goes back to the default).
	for name, v := range map[string]string{"max_in_flight": p.MaxInFlight, "rate_limit": p.RateLimit} {
		if v = strings.TrimSpace(v); v == "" {
			v = "0"
		}
		body[name] = json.RawMessage(jsonNumberOrString(v))
	}
	secret := r.PostFormValue("secret")
	switch {
	case r.PostFormValue("remove_secret") == "on":
		body["secret"] = nil
	case secret != "":
		body["secret"] = secret
	}
	raw, _ := json.Marshal(body)
	var e control.Entity
	var err error
	if id == "" {
		e, err = c.svc.Create(r.Context(), control.KindWebhook, ws, raw)
	} else {
		e, err = c.svc.Update(r.Context(), control.KindWebhook, ws, id, raw)
		if wh, ok := c.svc.Store().Webhook(ws, id); ok {
			p.HasSecret = !wh.Secret.IsZero()
		}
	}
	if err != nil {
		fields, msg, other := formError(err)
		if other != nil {
			return other
		}
		p.Fields, p.Error = fields, msg
		title := "Create Webhook"
		if id != "" {
			title = "Edit webhook"
		}
		return c.render(w, r, http.StatusUnprocessableEntity, "webhook_form", s, ws, "webhooks", title, p)
	}
	wh := e.(control.Webhook)
	verb := "created"
	if id != "" {
		verb = "saved"
	}
	return c.redirect(w, r, "/w/"+ws+"/webhooks", "Webhook "+wh.Name+" "+verb+".")
}

// jsonNumberOrString is s as a JSON number when it is a finite number, else as
// a JSON string (so that the API names the type it wants).
func jsonNumberOrString(s string) []byte {
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return strconv.AppendFloat(nil, f, 'f', -1, 64)
	}
	b, _ := json.Marshal(s)
	return b
}

// webhookEnable pauses (false) or resumes (true) a webhook.
func (c *Console) webhookEnable(on bool) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *session) error {
		ws, id := r.PathValue("ws"), r.PathValue("id")
		e, err := c.svc.Update(r.Context(), control.KindWebhook, ws, id, []byte(`{"enabled":`+strconv.FormatBool(on)+`}`))
		if err != nil {
			return err
		}
		msg := "Webhook " + e.(control.Webhook).Name + " paused: nothing is delivered to it until you resume it."
		if on {
			msg = "Webhook " + e.(control.Webhook).Name + " resumed."
		}
		return c.redirect(w, r, "/w/"+ws+"/webhooks", msg)
	}
}

// deleter deletes an entity of kind and goes back to its list; when
// automations still use it, the API's 409 is the flash message.
func (c *Console) deleter(kind control.Kind, list string) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *session) error {
		ws, id := r.PathValue("ws"), r.PathValue("id")
		err := c.svc.Delete(r.Context(), kind, ws, id)
		if _, msg, other := formError(err); err != nil && other == nil {
			return c.redirect(w, r, "/w/"+ws+"/"+list, flashRefused+"Not deleted: "+msg)
		} else if other != nil {
			return other
		}
		return c.redirect(w, r, "/w/"+ws+"/"+list, strings.ToUpper(string(kind[:1]))+string(kind[1:])+" "+id+" deleted.")
	}
}

// notFound is the 404 of an entity that does not exist.
func notFound(kind, id, ws string) error {
	return &admin.Error{Status: http.StatusNotFound, Code: admin.CodeNotFound, Message: "There is no " + kind + " " + id + " in workspace " + ws + "."}
}

// withTimeout bounds a page's slow call (a test request, a resend).
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 2*time.Minute)
}
