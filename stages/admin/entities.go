package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/leadflow/leadflow/stages/control"
)

// The fields each body takes (POST and PATCH alike).
var (
	webhookFields    = []string{"url", "name", "secret", "max_subjects", "max_in_flight", "rate_limit", "legacy_event_names", "enabled"}
	segmentFields    = []string{"name", "filter"}
	personaFields    = []string{"name", "job_titles", "seniorities", "departments", "countries"}
	automationFields = []string{"name", "trigger", "segment_id", "action", "enabled"}
	actionFields     = []string{"type", "webhook_id", "persona_id", "reveal_limit", "webhook_ids"}
)

var webhooks = resource[control.Webhook]{
	kind:     control.KindWebhook,
	find:     (*control.Workspace).Webhook,
	all:      (*control.Workspace).ListWebhooks,
	precheck: precheckWebhookURL,
	build:    buildWebhook,
	untouched: func(e control.Webhook) control.Webhook {
		e.UpdatedAt = time.Time{}
		return e
	},
}

// precheckWebhookURL refuses, when private networks are not allowed, a
// URL whose host is or resolves to a non-public address.
func precheckWebhookURL(ctx context.Context, a *api, o *object) {
	if a.d.URLPolicy.AllowPrivateNetworks {
		return
	}
	u, ok := field[string](o, "url", "a string")
	if u = strings.TrimSpace(u); !ok || control.ValidURL(u) != "" {
		return // build reports it
	}
	ctx, cancel := context.WithTimeout(ctx, a.d.URLPolicy.ResolveTimeout)
	defer cancel()
	if msg := control.CheckPublicURL(ctx, a.d.URLPolicy.Resolver, u); msg != "" {
		o.fail("url", msg)
	}
}

func buildWebhook(_ *api, _ *control.Workspace, ws string, cur *control.Webhook, o *object) (control.Webhook, *Error) {
	if aerr := o.only(webhookFields...); aerr != nil {
		return control.Webhook{}, aerr
	}
	var w control.Webhook
	if cur == nil {
		w = control.Webhook{ID: control.NewID(control.KindWebhook), WorkspaceID: ws,
			MaxSubjects: control.DefaultMaxSubjects, Enabled: true}
		o.required("url", "name")
	} else {
		w = *cur
		w.UpdatedAt = time.Time{}
	}
	o.notNull("url", "name", "max_subjects", "max_in_flight", "rate_limit", "legacy_event_names", "enabled")
	if v, ok := field[string](o, "url", "a string"); ok {
		w.URL = strings.TrimSpace(v)
	}
	if v, ok := field[string](o, "name", "a string"); ok {
		w.Name = strings.TrimSpace(v)
	}
	if v, ok := field[string](o, "secret", "a string, or null for no secret"); ok {
		w.Secret = control.NewSecret(v) // "" is no secret
	} else if o.isNull("secret") {
		w.Secret = control.Secret{}
	}
	if o.has("secret") { // set outright: no overlap (see POST .../secret/rotate)
		w.PreviousSecret, w.PreviousSecretExpires = control.Secret{}, time.Time{}
	}
	if v, ok := integer(o, "max_subjects", fmt.Sprintf("an integer between 1 and %d", control.MaxSubjectsLimit)); ok {
		w.MaxSubjects = v
	}
	if v, ok := integer(o, "max_in_flight", fmt.Sprintf("an integer between 0 and %d", control.MaxInFlightLimit)); ok {
		w.MaxInFlight = v
	}
	if v, ok := field[float64](o, "rate_limit", fmt.Sprintf("a number between 0 and %g", float64(control.RateLimitLimit))); ok {
		w.RateLimit = v
	}
	if v, ok := field[bool](o, "legacy_event_names", "true or false"); ok {
		w.LegacyEventNames = v
	}
	if v, ok := field[bool](o, "enabled", "true or false"); ok {
		if v != w.Enabled || v {
			w.DisabledReason = "" // re-enabled, or paused by the user
		}
		w.Enabled = v
	}
	return w, validate(o, w)
}

var segments = resource[control.Segment]{
	kind:  control.KindSegment,
	find:  (*control.Workspace).Segment,
	all:   (*control.Workspace).ListSegments,
	build: buildSegment,
	untouched: func(e control.Segment) control.Segment {
		e.UpdatedAt = time.Time{}
		return e
	},
}

func buildSegment(a *api, _ *control.Workspace, ws string, cur *control.Segment, o *object) (control.Segment, *Error) {
	if aerr := o.only(segmentFields...); aerr != nil {
		return control.Segment{}, aerr
	}
	var s control.Segment
	if cur == nil {
		s = control.Segment{ID: control.NewID(control.KindSegment), WorkspaceID: ws}
		o.required("name", "filter")
	} else {
		s = *cur
		s.UpdatedAt = time.Time{}
	}
	o.notNull("name", "filter")
	if v, ok := field[string](o, "name", "a string"); ok {
		s.Name = strings.TrimSpace(v)
	}
	filterSent := o.has("filter") && !o.isNull("filter")
	if filterSent {
		raw := o.raw["filter"]
		var b bytes.Buffer
		if json.Compact(&b, raw) == nil { // stored without insignificant whitespace
			raw = b.Bytes()
		}
		s.Filter = json.RawMessage(raw)
	}
	_ = validate(o, s) // every field is named at once: go on
	if _, bad := o.errs["filter"]; filterSent && !bad && a.d.FilterValidator != nil {
		if err := a.d.FilterValidator(s.Filter); err != nil {
			o.merge(filterFields(err))
		}
	}
	return s, o.err()
}

// filterFields turns a filter validator's error into 422 fields: an error
// with FieldPath() is keyed by that path (under "filter"), each error of
// an errors.Join by its own, anything else by "filter".
func filterFields(err error) map[string]string {
	out := map[string]string{}
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, e2 := range j.Unwrap() {
				walk(e2)
			}
			return
		}
		key, msg := "filter", e.Error()
		var fp interface{ FieldPath() string }
		if errors.As(e, &fp) {
			p := fp.FieldPath()
			switch {
			case p == "" || p == "filter":
			case strings.HasPrefix(p, "filter.") || strings.HasPrefix(p, "filter["):
				key = p
			case strings.HasPrefix(p, "["):
				key = "filter" + p
			default:
				key = "filter." + p
			}
			if p != "" {
				if i := strings.Index(msg, p+": "); i >= 0 {
					msg = msg[i+len(p)+2:]
				}
			}
		}
		if _, ok := out[key]; !ok {
			out[key] = msg
		}
	}
	walk(err)
	return out
}

var personas = resource[control.Persona]{
	kind:  control.KindPersona,
	find:  (*control.Workspace).Persona,
	all:   (*control.Workspace).ListPersonas,
	build: buildPersona,
	untouched: func(e control.Persona) control.Persona {
		e.UpdatedAt = time.Time{}
		return e
	},
}

func buildPersona(_ *api, _ *control.Workspace, ws string, cur *control.Persona, o *object) (control.Persona, *Error) {
	if aerr := o.only(personaFields...); aerr != nil {
		return control.Persona{}, aerr
	}
	var p control.Persona
	if cur == nil {
		p = control.Persona{ID: control.NewID(control.KindPersona), WorkspaceID: ws}
		o.required("name")
	} else {
		p = *cur
		p.UpdatedAt = time.Time{}
	}
	o.notNull("name")
	if v, ok := field[string](o, "name", "a string"); ok {
		p.Name = strings.TrimSpace(v)
	}
	lists := []struct {
		name string
		dst  *[]string
		norm func(string) string
	}{
		{"job_titles", &p.JobTitles, strings.TrimSpace},
		{"seniorities", &p.Seniorities, func(s string) string { return strings.ToLower(strings.TrimSpace(s)) }},
		{"departments", &p.Departments, func(s string) string { return strings.ToLower(strings.TrimSpace(s)) }},
		{"countries", &p.Countries, func(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }},
	}
	for _, l := range lists {
		if o.isNull(l.name) {
			*l.dst = nil // null clears the list
			continue
		}
		v, ok := field[[]string](o, l.name, "a list of strings")
		if !ok {
			continue
		}
		out := make([]string, len(v))
		for i, s := range v {
			out[i] = l.norm(s)
		}
		*l.dst = out
	}
	return p, validate(o, p)
}

var automations = resource[control.Automation]{
	kind:  control.KindAutomation,
	find:  (*control.Workspace).Automation,
	all:   (*control.Workspace).ListAutomations,
	build: buildAutomation,
	untouched: func(e control.Automation) control.Automation {
		e.UpdatedAt = time.Time{}
		return e
	},
}

func buildAutomation(_ *api, snap *control.Workspace, ws string, cur *control.Automation, o *object) (control.Automation, *Error) {
	if aerr := o.only(automationFields...); aerr != nil {
		return control.Automation{}, aerr
	}
	var a control.Automation
	if cur == nil {
		a = control.Automation{ID: control.NewID(control.KindAutomation), WorkspaceID: ws, Enabled: true}
		o.required("name", "trigger", "action")
	} else {
		a = *cur
		a.UpdatedAt = time.Time{}
	}
	o.notNull("name", "trigger", "action", "enabled")
	if v, ok := field[string](o, "name", "a string"); ok {
		a.Name = strings.TrimSpace(v)
	}
	if v, ok := field[string](o, "trigger", "a string: new_lead or new_session"); ok {
		a.Trigger = control.Trigger(v)
	}
	if v, ok := field[string](o, "segment_id", "a segment id, or null for every lead"); ok {
		a.SegmentID = v // "" is none, as null
	} else if o.isNull("segment_id") {
		a.SegmentID = ""
	}
	if v, ok := field[bool](o, "enabled", "true or false"); ok {
		a.Enabled = v
	}
	act, aerr := o.child("action")
	if aerr != nil {
		return a, aerr
	}
	if act != nil { // the action is replaced as a whole
		if aerr := act.only(actionFields...); aerr != nil {
			return a, aerr
		}
		a.Action = buildAction(act)
	}
	_ = validate(o, a) // every field is named at once: go on
	if _, bad := o.errs["action"]; bad {
		for k := range o.errs {
			if strings.HasPrefix(k, "action.") {
				delete(o.errs, k) // follow-on errors of a missing or malformed action
			}
		}
	}
	checkRef(o, snap, "segment_id", control.KindSegment, a.SegmentID)
	switch a.Action.Type {
	case control.ActionWebhook:
		checkRef(o, snap, "action.webhook_id", control.KindWebhook, a.Action.WebhookID)
	case control.ActionRevealContacts:
		checkRef(o, snap, "action.persona_id", control.KindPersona, a.Action.PersonaID)
		for i, id := range a.Action.WebhookIDs {
			checkRef(o, snap, fmt.Sprintf("action.webhook_ids[%d]", i), control.KindWebhook, id)
		}
	}
	return a, o.err()
}

func buildAction(o *object) control.Action {
	var act control.Action
	o.required("type")
	o.notNull("webhook_id", "persona_id", "webhook_ids")
	if v, ok := field[string](o, "type", "a string: webhook or reveal_contacts"); ok {
		act.Type = control.ActionType(v)
	}
	if v, ok := field[string](o, "webhook_id", "a webhook id"); ok {
		act.WebhookID = v
	}
	if v, ok := field[string](o, "persona_id", "a persona id"); ok {
		act.PersonaID = v
	}
	limitMsg := fmt.Sprintf("an integer between 1 and %d, or null for no limit", control.MaxRevealLimit)
	if v, ok := integer(o, "reveal_limit", limitMsg); ok {
		if v < 1 || v > control.MaxRevealLimit {
			o.fail("reveal_limit", "must be "+limitMsg)
		}
		act.RevealLimit = max(v, 0)
	}
	if v, ok := field[[]string](o, "webhook_ids", "a list of webhook ids"); ok {
		act.WebhookIDs = v
	}
	return act
}
