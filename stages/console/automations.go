package console

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/leadflow/leadflow/stages/control"
)

// automationRow is one automation of the list, in words.
type automationRow struct {
	control.Automation
	Segment string // the segment's name, or "every lead"
	Action  string // what it does
}

type automationListPage struct {
	WS   string
	Rows []automationRow
}

// automationList lists the workspace's automations.
func (c *Console) automationList(w http.ResponseWriter, r *http.Request, s *session) error {
	ws := r.PathValue("ws")
	snap := c.svc.Store().Workspace(ws)
	p := automationListPage{WS: ws}
	for _, a := range snap.ListAutomations() {
		p.Rows = append(p.Rows, automationRow{Automation: a, Segment: segmentName(snap, a.SegmentID), Action: actionText(snap, a.Action)})
	}
	return c.render(w, r, http.StatusOK, "automations", s, ws, "automations", "Automations", p)
}

func segmentName(snap *control.Workspace, id string) string {
	if id == "" {
		return "Every lead"
	}
	if sg, ok := snap.Segment(id); ok {
		return sg.Name
	}
	return id
}

func webhookName(snap *control.Workspace, id string) string {
	if wh, ok := snap.Webhook(id); ok {
		return wh.Name
	}
	return id
}

// actionText says what an action does.
func actionText(snap *control.Workspace, a control.Action) string {
	switch a.Type {
	case control.ActionWebhook:
		return "Webhook → " + webhookName(snap, a.WebhookID)
	case control.ActionRevealContacts:
		per := a.PersonaID
		if p, ok := snap.Persona(a.PersonaID); ok {
			per = p.Name
		}
		names := make([]string, len(a.WebhookIDs))
		for i, id := range a.WebhookIDs {
			names[i] = webhookName(snap, id)
		}
		limit := "no limit"
		if a.RevealLimit > 0 {
			limit = "at most " + strconv.Itoa(a.RevealLimit) + " per company"
		}
		return "Reveal Contacts: " + per + " (" + limit + ") → " + strings.Join(names, ", ")
	}
	return string(a.Type)
}

// option is one choice of a select or checkbox list.
type option struct {
	Value, Label string
	Selected     bool
}

// automationFormPage is Create Automation and its edit form.
type automationFormPage struct {
	WS, ID, Name string
	Triggers     []option
	Segments     []option
	Action       string
	Webhooks     []option // for the Webhook action (one)
	Personas     []option
	RevealLimit  string
	Endpoints    []option // for Reveal Contacts (several)
	Enabled      bool
	Fields       map[string]string
	Error        string
}

// automationValues are a form's values, from an automation or a post.
type automationValues struct {
	name, trigger, segment, action, webhook, persona, limit string
	endpoints                                               []string
	enabled                                                 bool
}

func (c *Console) automationPage(ws, id string, v automationValues) automationFormPage {
	snap := c.svc.Store().Workspace(ws)
	p := automationFormPage{WS: ws, ID: id, Name: v.name, Action: v.action, RevealLimit: v.limit, Enabled: v.enabled}
	for _, t := range []control.Trigger{control.TriggerNewLead, control.TriggerNewSession} {
		p.Triggers = append(p.Triggers, option{string(t), eventLabel(string(t)), v.trigger == string(t)})
	}
	p.Segments = append(p.Segments, option{"", "Every lead (no segment)", v.segment == ""})
	for _, sg := range snap.ListSegments() {
		p.Segments = append(p.Segments, option{sg.ID, sg.Name, v.segment == sg.ID})
	}
	for _, wh := range snap.ListWebhooks() {
		p.Webhooks = append(p.Webhooks, option{wh.ID, wh.Name + " (" + wh.URL + ")", v.webhook == wh.ID})
		chosen := false
		for _, e := range v.endpoints {
			chosen = chosen || e == wh.ID
		}
		p.Endpoints = append(p.Endpoints, option{wh.ID, wh.Name + " (" + wh.URL + ")", chosen})
	}
	for _, per := range snap.ListPersonas() {
		p.Personas = append(p.Personas, option{per.ID, per.Name, v.persona == per.ID})
	}
	return p
}

func (c *Console) automationForm(w http.ResponseWriter, r *http.Request, s *session) error {
	ws, id := r.PathValue("ws"), r.PathValue("id")
	v := automationValues{trigger: string(control.TriggerNewLead), action: string(control.ActionWebhook), enabled: true}
	title := "Create Automation"
	if id != "" {
		a, ok := c.svc.Store().Workspace(ws).Automation(id)
		if !ok {
			return notFound("automation", id, ws)
		}
		v = automationValues{name: a.Name, trigger: string(a.Trigger), segment: a.SegmentID, action: string(a.Action.Type),
			webhook: a.Action.WebhookID, persona: a.Action.PersonaID, endpoints: a.Action.WebhookIDs, enabled: a.Enabled}
		if a.Action.RevealLimit > 0 {
			v.limit = strconv.Itoa(a.Action.RevealLimit)
		}
		title = "Edit automation " + a.Name
	}
	return c.render(w, r, http.StatusOK, "automation_form", s, ws, "automations", title, c.automationPage(ws, id, v))
}

// automationSave creates or replaces an automation from the form.
func (c *Console) automationSave(w http.ResponseWriter, r *http.Request, s *session) error {
	ws, id := r.PathValue("ws"), r.PathValue("id")
	_ = r.ParseForm()
	v := automationValues{name: strings.TrimSpace(r.PostFormValue("name")), trigger: r.PostFormValue("trigger"),
		segment: r.PostFormValue("segment_id"), action: r.PostFormValue("action"), webhook: r.PostFormValue("webhook_id"),
		persona: r.PostFormValue("persona_id"), limit: strings.TrimSpace(r.PostFormValue("reveal_limit")),
		endpoints: r.PostForm["webhook_ids"], enabled: r.PostFormValue("enabled") == "on"}
	act := map[string]any{"type": v.action}
	switch control.ActionType(v.action) {
	case control.ActionWebhook:
		act["webhook_id"] = v.webhook
	case control.ActionRevealContacts:
		act["persona_id"] = v.persona
		act["webhook_ids"] = append([]string{}, v.endpoints...)
		if v.limit != "" {
			act["reveal_limit"] = json.RawMessage(jsonNumberOrString(v.limit))
		} else {
			act["reveal_limit"] = nil
		}
	}
	body := map[string]any{"name": v.name, "trigger": v.trigger, "action": act, "enabled": v.enabled, "segment_id": nil}
	if v.segment != "" {
		body["segment_id"] = v.segment
	}
	raw, _ := json.Marshal(body)
	var err error
	if id == "" {
		_, err = c.svc.Create(r.Context(), control.KindAutomation, ws, raw)
	} else {
		_, err = c.svc.Update(r.Context(), control.KindAutomation, ws, id, raw)
	}
	if err != nil {
		fields, msg, other := formError(err)
		if other != nil {
			return other
		}
		p := c.automationPage(ws, id, v)
		p.Fields, p.Error = fields, msg
		return c.render(w, r, http.StatusUnprocessableEntity, "automation_form", s, ws, "automations", "Create Automation", p)
	}
	verb := "created"
	if id != "" {
		verb = "saved"
	}
	return c.redirect(w, r, "/w/"+ws+"/automations", "Automation "+v.name+" "+verb+".")
}

// automationEnable enables (true) or disables (false) an automation.
func (c *Console) automationEnable(on bool) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *session) error {
		ws, id := r.PathValue("ws"), r.PathValue("id")
		e, err := c.svc.Update(r.Context(), control.KindAutomation, ws, id, []byte(`{"enabled":`+strconv.FormatBool(on)+`}`))
		if err != nil {
			return err
		}
		state := "disabled"
		if on {
			state = "enabled"
		}
		return c.redirect(w, r, "/w/"+ws+"/automations", "Automation "+e.(control.Automation).Name+" "+state+".")
	}
}
