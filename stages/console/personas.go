package console

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/leadflow/leadflow/schemas/dataset"
	"github.com/leadflow/leadflow/schemas/sampledata"
	"github.com/leadflow/leadflow/stages/control"
)

type personaListPage struct {
	WS   string
	Rows []control.Persona
}

// personaList lists the workspace's personas.
func (c *Console) personaList(w http.ResponseWriter, r *http.Request, s *session) error {
	ws := r.PathValue("ws")
	p := personaListPage{WS: ws, Rows: c.svc.Store().Workspace(ws).ListPersonas()}
	return c.render(w, r, http.StatusOK, "personas", s, ws, "personas", "Personas", p)
}

// choiceList is one list field of a persona: the values offered as
// checkboxes, and the others as free text.
type choiceList struct {
	Name, Label, Help string
	Options           []option
	Other             string
	Error             string
}

type personaFormPage struct {
	WS, ID, Name string
	JobTitles    string
	Lists        []choiceList
	Fields       map[string]string
	Error        string
}

// personaValues are the offered values of each coded list: the sample
// data's codes (a deployment's own contact data may use others: they go
// in the free-text field, and the API checks their form).
func personaValues() []struct {
	name, label, help string
	values            []string
} {
	return []struct {
		name, label, help string
		values            []string
	}{
		{"seniorities", "Seniorities", "Other seniorities: lower-case codes, comma separated (e.g. vp, c_level).", dataset.Seniorities()},
		{"departments", "Departments", "Other departments: lower-case codes, comma separated (e.g. sales).", dataset.Departments()},
		{"countries", "Countries", "Other countries: ISO 3166-1 alpha-2 codes, comma separated (e.g. GB).", sampledata.CountryCodes()},
	}
}

func (c *Console) personaPage(ws, id, name string, titles []string, chosen map[string][]string, fields map[string]string) personaFormPage {
	p := personaFormPage{WS: ws, ID: id, Name: name, JobTitles: strings.Join(titles, "\n"), Fields: fields}
	for _, l := range personaValues() {
		cl := choiceList{Name: l.name, Label: l.label, Help: l.help}
		var other []string
		for _, v := range chosen[l.name] {
			if !slices.Contains(l.values, v) {
				other = append(other, v)
			}
		}
		for _, v := range l.values {
			cl.Options = append(cl.Options, option{Value: v, Label: v, Selected: slices.Contains(chosen[l.name], v)})
		}
		cl.Other = strings.Join(other, ", ")
		cl.Error = listError(fields, l.name, chosen[l.name])
		p.Lists = append(p.Lists, cl)
	}
	return p
}

// listError is the API's message about list field name or one of its
// entries ("countries[2]"), naming the entry.
func listError(fields map[string]string, name string, vals []string) string {
	if msg := fields[name]; msg != "" {
		return msg
	}
	for i, v := range vals {
		if msg := fields[name+"["+strconv.Itoa(i)+"]"]; msg != "" {
			return "“" + v + "” " + msg
		}
	}
	return ""
}

func (c *Console) personaForm(w http.ResponseWriter, r *http.Request, s *session) error {
	ws, id := r.PathValue("ws"), r.PathValue("id")
	title := "Create Persona"
	p := c.personaPage(ws, id, "", nil, nil, nil)
	if id != "" {
		per, ok := c.svc.Store().Persona(ws, id)
		if !ok {
			return notFound("persona", id, ws)
		}
		p = c.personaPage(ws, id, per.Name, per.JobTitles,
			map[string][]string{"seniorities": per.Seniorities, "departments": per.Departments, "countries": per.Countries}, nil)
		title = "Edit persona " + per.Name
	}
	return c.render(w, r, http.StatusOK, "persona_form", s, ws, "personas", title, p)
}

// splitList splits free text at commas and new lines.
func splitList(s string, lines bool) []string {
	sep := func(r rune) bool { return r == '\n' || r == '\r' || (!lines && r == ',') }
	var out []string
	for _, f := range strings.FieldsFunc(s, sep) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// personaSave creates or changes a persona from the form.
func (c *Console) personaSave(w http.ResponseWriter, r *http.Request, s *session) error {
	ws, id := r.PathValue("ws"), r.PathValue("id")
	_ = r.ParseForm()
	name := strings.TrimSpace(r.PostFormValue("name"))
	titles := splitList(r.PostFormValue("job_titles"), true)
	chosen := map[string][]string{}
	body := map[string]any{"name": name, "job_titles": append([]string{}, titles...)}
	for _, l := range personaValues() {
		vals := append(append([]string{}, r.PostForm[l.name]...), splitList(r.PostFormValue(l.name+"_other"), false)...)
		chosen[l.name] = vals
		body[l.name] = append([]string{}, vals...)
	}
	raw, _ := json.Marshal(body)
	var err error
	if id == "" {
		_, err = c.svc.Create(r.Context(), control.KindPersona, ws, raw)
	} else {
		_, err = c.svc.Update(r.Context(), control.KindPersona, ws, id, raw)
	}
	if err != nil {
		fields, msg, other := formError(err)
		if other != nil {
			return other
		}
		p := c.personaPage(ws, id, name, titles, chosen, fields)
		p.Error = msg
		return c.render(w, r, http.StatusUnprocessableEntity, "persona_form", s, ws, "personas", "Create Persona", p)
	}
	return c.redirect(w, r, "/w/"+ws+"/personas", "Persona "+name+" saved.")
}
