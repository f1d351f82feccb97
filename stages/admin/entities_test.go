package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/leadflow/leadflow/stages/control"
)

func cond(field, op string, value any) map[string]any {
	return map[string]any{"field": field, "op": op, "value": value}
}

func TestSegmentCRUDAndValidation(t *testing.T) {
	a := newAPI(t)
	const base = "/v1/workspaces/ws_1/segments"
	filter := map[string]any{"all": []any{cond("company.industry", "in", []string{"Machinery"}), cond("company.geo.country_code", "eq", "FI")}}
	r := a.must(a.do("POST", base, map[string]any{"name": "Finnish machinery", "filter": filter}), http.StatusCreated)
	id := r.str("id")
	if !strings.HasPrefix(id, "seg_") || r.str("name") != "Finnish machinery" {
		t.Fatalf("created segment = %s", r.raw)
	}
	if want, _ := json.Marshal(filter); !strings.Contains(r.raw, `"filter":`+string(want)) {
		t.Fatalf("segment filter not kept as sent: %s", r.raw)
	}
	a.must(a.do("GET", base+"/"+id, nil), 200)
	if l := a.must(a.do("GET", base, nil), 200).data(); len(l) != 1 {
		t.Fatalf("list = %v", l)
	}
	// Whitespace in the filter is not stored.
	p := a.must(a.do("PATCH", base+"/"+id, `{"filter": {"any" :  [ {"field":"lead.sessions_count","op":"gte","value":3} ] }}`), 200)
	if !strings.Contains(p.raw, `"filter":{"any":[{"field":"lead.sessions_count","op":"gte","value":3}]}`) || p.str("name") != "Finnish machinery" {
		t.Fatalf("after PATCH filter: %s", p.raw)
	}

	cases := []struct {
		name string
		body any
		want map[string]string
	}{
		{"missing", map[string]any{}, map[string]string{"name": "is required", "filter": "is required"}},
		{"filter null", map[string]any{"name": "s", "filter": nil}, map[string]string{"filter": "is required"}},
		{"filter not object", map[string]any{"name": "s", "filter": []any{1}}, map[string]string{"filter": "JSON object"}},
		{"filter string", map[string]any{"name": "s", "filter": "company.industry = x"}, map[string]string{"filter": "JSON object"}},
		{"filter too big", map[string]any{"name": "s", "filter": map[string]any{"all": []any{cond("company.name", "eq", strings.Repeat("x", control.MaxFilterBytes))}}},
			map[string]string{"filter": "at most 65536 bytes"}},
		{"bad path in tree", map[string]any{"name": "s", "filter": map[string]any{"all": []any{
			cond("company.industry", "eq", "x"), cond("company.industry", "in", "Machinery"),
			map[string]any{"not": cond("weather.today", "eq", "sunny")},
			map[string]any{"any": []any{cond("lead.sessions_count", "approx", 3)}},
		}}}, map[string]string{
			"filter.all[1].value": "must be a list", "filter.all[2].not.field": `unknown field "weather.today"`,
			"filter.all[3].any[0].op": `unknown operator "approx"`}},
		{"name and filter", map[string]any{"name": "", "filter": map[string]any{"all": []any{cond("x", "eq", 1)}}},
			map[string]string{"name": "must not be empty", "filter.all[0].field": "unknown field"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a.t = t
			a.invalid(a.do("POST", base, c.body), c.want)
		})
	}
	a.t = t
	a.invalid(a.do("PATCH", base+"/"+id, map[string]any{"filter": map[string]any{"not": cond("company.x", "nope", 1)}}),
		map[string]string{"filter.not.op": "unknown operator"})
	a.must(a.do("DELETE", base+"/"+id, nil), 204)
	a.must(a.do("GET", base+"/"+id, nil), 404)
}

func TestFilterFields(t *testing.T) {
	for _, c := range []struct {
		err  error
		want map[string]string
	}{
		{&filterError{"filter.all[1].value", "must be a list"}, map[string]string{"filter.all[1].value": "must be a list"}},
		{&filterError{"all[0].op", "unknown operator"}, map[string]string{"filter.all[0].op": "unknown operator"}},
		{&filterError{"[2]", "bad"}, map[string]string{"filter[2]": "bad"}},
		{&filterError{"", "empty filter"}, map[string]string{"filter": ": empty filter"}},
		{fmt.Errorf("compile: %w", &filterError{"filter.any", "must be a list"}), map[string]string{"filter.any": "must be a list"}},
		{testErr("no FieldPath"), map[string]string{"filter": "no FieldPath"}},
	} {
		got := filterFields(c.err)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("filterFields(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestSegmentWithoutValidator(t *testing.T) {
	a := newAPI(t, func(d *Deps) { d.FilterValidator = nil })
	a.must(a.do("POST", "/v1/workspaces/ws_1/segments", map[string]any{"name": "s", "filter": map[string]any{"anything": 1}}), 201)
	a.invalid(a.do("POST", "/v1/workspaces/ws_1/segments", map[string]any{"name": "s", "filter": 1}), map[string]string{"filter": "JSON object"})
	if a.logs.FilterMessageSnippet("no segment filter validator").Len() != 1 {
		t.Fatal("New did not warn about the missing validator")
	}
}

func TestPersonaCRUDAndValidation(t *testing.T) {
	a := newAPI(t)
	const base = "/v1/workspaces/ws_1/personas"
	r := a.must(a.do("POST", base, map[string]any{"name": "Sales leaders", "job_titles": []string{" VP, Sales "},
		"seniorities": []string{"VP", "c_level"}, "departments": []string{"Sales"}, "countries": []string{"gb", "FI"}}), 201)
	id := r.str("id")
	if !strings.HasPrefix(id, "per_") || !strings.Contains(r.raw, `"job_titles":["VP, Sales"],"seniorities":["vp","c_level"],"departments":["sales"],"countries":["GB","FI"]`) {
		t.Fatalf("created persona (normalised) = %s", r.raw)
	}
	e := a.must(a.do("POST", base, map[string]any{"name": "Everyone"}), 201)
	if !strings.Contains(e.raw, `"job_titles":[],"seniorities":[],"departments":[],"countries":[]`) {
		t.Fatalf("persona without lists = %s", e.raw)
	}
	p := a.must(a.do("PATCH", base+"/"+id, map[string]any{"countries": nil, "departments": []string{"marketing"}}), 200)
	if !strings.Contains(p.raw, `"departments":["marketing"],"countries":[]`) || !strings.Contains(p.raw, `"seniorities":["vp","c_level"]`) {
		t.Fatalf("after PATCH = %s", p.raw)
	}
	cases := []struct {
		name string
		body any
		want map[string]string
	}{
		{"no name", map[string]any{"countries": []string{"FI"}}, map[string]string{"name": "is required"}},
		{"bad entries", map[string]any{"name": "p", "countries": []string{"FI", "Finland"}, "seniorities": []string{"very senior"}, "job_titles": []string{"ok", ""}},
			map[string]string{"countries[1]": "alpha-2", "seniorities[0]": "lower-case code", "job_titles[1]": "must not be empty"}},
		{"too many", map[string]any{"name": "p", "job_titles": strings.Split(strings.Repeat("t,", 101), ",")[:101]}, map[string]string{"job_titles": "at most 100"}},
		{"long entry", map[string]any{"name": "p", "job_titles": []string{strings.Repeat("t", 201)}}, map[string]string{"job_titles[0]": "at most 200"}},
		{"not a list", map[string]any{"name": "p", "countries": "FI"}, map[string]string{"countries": "a list of strings"}},
		{"list of numbers", map[string]any{"name": "p", "departments": []int{1}}, map[string]string{"departments": "a list of strings"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a.t = t
			a.invalid(a.do("POST", base, c.body), c.want)
		})
	}
	a.t = t
	a.must(a.do("DELETE", base+"/"+id, nil), 204)
}

// fixtures creates a webhook, a second webhook, a segment and a persona.
func fixtures(a *testAPI, ws string) (wh1, wh2, seg, per string) {
	a.t.Helper()
	wh1 = a.createWebhook(ws, nil)
	wh2 = a.createWebhook(ws, map[string]any{"url": "https://crm.example.com/", "name": "second"})
	seg = a.must(a.do("POST", "/v1/workspaces/"+ws+"/segments", map[string]any{"name": "s", "filter": map[string]any{"all": []any{}}}), 201).str("id")
	per = a.must(a.do("POST", "/v1/workspaces/"+ws+"/personas", map[string]any{"name": "p", "seniorities": []string{"vp"}}), 201).str("id")
	return
}

func TestAutomationCRUD(t *testing.T) {
	a := newAPI(t)
	wh1, wh2, seg, per := fixtures(a, "ws_1")
	const base = "/v1/workspaces/ws_1/automations"
	r := a.must(a.do("POST", base, map[string]any{"name": "New leads to CRM", "trigger": "new_lead",
		"action": map[string]any{"type": "webhook", "webhook_id": wh1}}), 201)
	id := r.str("id")
	if !strings.HasPrefix(id, "aut_") || r.body["segment_id"] != nil || r.body["enabled"] != true ||
		!strings.Contains(r.raw, `"action":{"type":"webhook","webhook_id":"`+wh1+`"}`) {
		t.Fatalf("created automation = %s", r.raw)
	}
	if got := a.store.Automations("ws_1"); len(got) != 1 || got[0].ID != id {
		t.Fatalf("store automations = %v", got)
	}
	rv := a.must(a.do("POST", base, map[string]any{"name": "Reveal VPs", "trigger": "new_session", "segment_id": seg, "enabled": false,
		"action": map[string]any{"type": "reveal_contacts", "persona_id": per, "reveal_limit": 3, "webhook_ids": []string{wh1, wh2}}}), 201)
	if !strings.Contains(rv.raw, `"action":{"type":"reveal_contacts","persona_id":"`+per+`","reveal_limit":3,"webhook_ids":["`+wh1+`","`+wh2+`"]}`) ||
		rv.str("segment_id") != seg || rv.body["enabled"] != false {
		t.Fatalf("reveal automation = %s", rv.raw)
	}
	if got := a.store.Automations("ws_1"); len(got) != 1 {
		t.Fatalf("a disabled automation is in Automations: %v", got)
	}
	// PATCH replaces the action as a whole and can clear the segment.
	p := a.must(a.do("PATCH", base+"/"+rv.str("id"), map[string]any{"segment_id": nil, "enabled": true,
		"action": map[string]any{"type": "reveal_contacts", "persona_id": per, "webhook_ids": []string{wh2}}}), 200)
	if p.body["segment_id"] != nil || !strings.Contains(p.raw, `"reveal_limit":null,"webhook_ids":["`+wh2+`"]`) || p.str("trigger") != "new_session" {
		t.Fatalf("after PATCH = %s", p.raw)
	}
	p = a.must(a.do("PATCH", base+"/"+id, map[string]any{"trigger": "new_session", "segment_id": seg}), 200)
	if p.str("trigger") != "new_session" || p.str("segment_id") != seg || !strings.Contains(p.raw, `"webhook_id":"`+wh1+`"`) {
		t.Fatalf("after PATCH trigger = %s", p.raw)
	}
	if l := a.must(a.do("GET", base, nil), 200).data(); len(l) != 2 || l[0]["id"] != id {
		t.Fatalf("list = %v", l)
	}
	a.must(a.do("DELETE", base+"/"+id, nil), 204)
	a.must(a.do("GET", base+"/"+id, nil), 404)
}

func TestAutomationValidation(t *testing.T) {
	a := newAPI(t)
	wh1, _, seg, per := fixtures(a, "ws_1")
	other := a.createWebhook("ws_2", nil) // another workspace's webhook
	const base = "/v1/workspaces/ws_1/automations"
	hook := map[string]any{"type": "webhook", "webhook_id": wh1}
	reveal := func(k string, v any) map[string]any {
		m := map[string]any{"type": "reveal_contacts", "persona_id": per, "webhook_ids": []string{wh1}}
		if k != "" {
			m[k] = v
		}
		return m
	}
	body := func(k string, v any) map[string]any {
		m := map[string]any{"name": "a", "trigger": "new_lead", "action": hook}
		m[k] = v
		return m
	}
	cases := []struct {
		name string
		body any
		want map[string]string
	}{
		{"missing", map[string]any{}, map[string]string{"name": "is required", "trigger": "is required", "action": "is required"}},
		{"bad trigger", body("trigger", "new_visit"), map[string]string{"trigger": "new_lead or new_session"}},
		{"trigger number", body("trigger", 1), map[string]string{"trigger": "must be a string"}},
		{"bad action type", body("action", map[string]any{"type": "email"}), map[string]string{"action.type": "webhook or reveal_contacts"}},
		{"action without type", body("action", map[string]any{"webhook_id": wh1}), map[string]string{"action.type": "is required"}},
		{"action not object", body("action", "webhook"), map[string]string{"action": "must be an object"}},
		{"unknown segment", body("segment_id", "seg_nope"), map[string]string{"segment_id": `no segment "seg_nope" in this workspace`}},
		{"segment id of another kind", body("segment_id", wh1), map[string]string{"segment_id": `starting with "seg_"`}},
		{"unknown webhook", body("action", map[string]any{"type": "webhook", "webhook_id": "wh_nope"}), map[string]string{"action.webhook_id": "no webhook"}},
		{"other workspace's webhook", body("action", map[string]any{"type": "webhook", "webhook_id": other}), map[string]string{"action.webhook_id": "no webhook"}},
		{"webhook action missing id", body("action", map[string]any{"type": "webhook"}), map[string]string{"action.webhook_id": "is required"}},
		{"reveal fields on webhook action", body("action", map[string]any{"type": "webhook", "webhook_id": wh1, "persona_id": per, "reveal_limit": 2}),
			map[string]string{"action.persona_id": "only for reveal_contacts", "action.reveal_limit": "only for reveal_contacts"}},
		{"unknown persona", body("action", reveal("persona_id", "per_nope")), map[string]string{"action.persona_id": "no persona"}},
		{"unknown webhook in list", body("action", reveal("webhook_ids", []string{wh1, "wh_gone"})), map[string]string{"action.webhook_ids[1]": "no webhook"}},
		{"duplicate webhook", body("action", reveal("webhook_ids", []string{wh1, wh1})), map[string]string{"action.webhook_ids[1]": "twice"}},
		{"no webhooks", body("action", reveal("webhook_ids", []string{})), map[string]string{"action.webhook_ids": "at least one"}},
		{"reveal limit zero", body("action", reveal("reveal_limit", 0)), map[string]string{"action.reveal_limit": "between 1 and 1000"}},
		{"reveal limit high", body("action", reveal("reveal_limit", 1001)), map[string]string{"action.reveal_limit": "between 1 and 1000"}},
		{"reveal limit string", body("action", reveal("reveal_limit", "3")), map[string]string{"action.reveal_limit": "an integer"}},
		{"reveal with webhook_id", body("action", reveal("webhook_id", wh1)), map[string]string{"action.webhook_id": "only for webhook actions"}},
		{"reveal missing persona", body("action", map[string]any{"type": "reveal_contacts", "webhook_ids": []string{wh1}}), map[string]string{"action.persona_id": "is required"}},
		{"everything at once", map[string]any{"name": "", "trigger": "sometimes", "segment_id": "seg_nope", "action": reveal("reveal_limit", -1)},
			map[string]string{"name": "must not be empty", "trigger": "new_lead or new_session", "segment_id": "no segment", "action.reveal_limit": "between"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a.t = t
			a.invalid(a.do("POST", base, c.body), c.want)
		})
	}
	a.t = t
	r := a.must(a.do("POST", base, body("action", map[string]any{"type": "webhook", "webhook_id": wh1, "headers": map[string]any{}})), 400)
	if r.code() != CodeUnknownField || r.fields()["action.headers"] != "unknown field" {
		t.Fatalf("unknown action field: %s", r.raw)
	}
	id := a.must(a.do("POST", base, map[string]any{"name": "ok", "trigger": "new_lead", "segment_id": seg, "action": hook}), 201).str("id")
	a.invalid(a.do("PATCH", base+"/"+id, map[string]any{"action": reveal("persona_id", "per_gone")}), map[string]string{"action.persona_id": "no persona"})
	a.invalid(a.do("PATCH", base+"/"+id, map[string]any{"action": nil, "name": nil}), map[string]string{"action": "must not be null", "name": "must not be null"})
	if l := a.must(a.do("GET", base, nil), 200).data(); len(l) != 1 {
		t.Fatalf("invalid requests created automations: %d", len(l))
	}
}

func TestDeleteInUseIsAConflict(t *testing.T) {
	a := newAPI(t)
	wh1, wh2, seg, per := fixtures(a, "ws_1")
	const ws = "/v1/workspaces/ws_1"
	a1 := a.must(a.do("POST", ws+"/automations", map[string]any{"name": "a1", "trigger": "new_lead", "segment_id": seg,
		"action": map[string]any{"type": "webhook", "webhook_id": wh1}}), 201).str("id")
	a2 := a.must(a.do("POST", ws+"/automations", map[string]any{"name": "a2", "trigger": "new_lead", "enabled": false,
		"action": map[string]any{"type": "reveal_contacts", "persona_id": per, "webhook_ids": []string{wh2, wh1}}}), 201).str("id")
	for path, users := range map[string][]string{
		ws + "/webhooks/" + wh1: {a1, a2}, ws + "/webhooks/" + wh2: {a2}, ws + "/segments/" + seg: {a1}, ws + "/personas/" + per: {a2},
	} {
		r := a.must(a.do("DELETE", path, nil), http.StatusConflict)
		if r.code() != CodeConflict {
			t.Fatalf("DELETE %s: %s", path, r.raw)
		}
		for _, u := range users {
			if !strings.Contains(r.message(), u) {
				t.Errorf("DELETE %s: message %q does not name automation %s", path, r.message(), u)
			}
		}
		a.must(a.do("GET", path, nil), 200) // still there
	}
	a.must(a.do("DELETE", ws+"/automations/"+a2, nil), 204)
	a.must(a.do("DELETE", ws+"/personas/"+per, nil), 204)
	a.must(a.do("DELETE", ws+"/webhooks/"+wh2, nil), 204)
	a.must(a.do("DELETE", ws+"/webhooks/"+wh1, nil), 409)
	a.must(a.do("DELETE", ws+"/automations/"+a1, nil), 204)
	a.must(a.do("DELETE", ws+"/webhooks/"+wh1, nil), 204)
	a.must(a.do("DELETE", ws+"/segments/"+seg, nil), 204)
}

// TestConcurrentDeleteAndReference: in one process, a webhook deleted while
// automations referencing it are being created never leaves an automation
// pointing at a deleted webhook (the check and the write are serialised
// per workspace).
func TestConcurrentDeleteAndReference(t *testing.T) {
	for round := range 20 {
		a := newAPI(t)
		wh := a.createWebhook("ws_1", nil)
		var wg sync.WaitGroup
		statuses := make(chan int, 11)
		for i := range 10 {
			wg.Go(func() {
				r := a.do("POST", "/v1/workspaces/ws_1/automations", map[string]any{"name": fmt.Sprint("a", i), "trigger": "new_lead",
					"action": map[string]any{"type": "webhook", "webhook_id": wh}})
				statuses <- r.status
			})
		}
		wg.Go(func() { statuses <- a.do("DELETE", "/v1/workspaces/ws_1/webhooks/"+wh, nil).status })
		wg.Wait()
		close(statuses)
		_, whExists := a.store.Webhook("ws_1", wh)
		users := a.store.Workspace("ws_1").AutomationsUsing(control.Ref{Kind: control.KindWebhook, Workspace: "ws_1", ID: wh})
		if !whExists && len(users) > 0 {
			t.Fatalf("round %d: webhook deleted but %d automations use it", round, len(users))
		}
		for s := range statuses {
			if s != 201 && s != 204 && s != 409 && s != 422 {
				t.Fatalf("round %d: unexpected status %d", round, s)
			}
		}
	}
}
