package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/leadflow/leadflow/stages/control"
	"github.com/leadflow/leadflow/stages/evaluate/filter"
)

type segmentRow struct {
	control.Segment
	UsedBy []string // names of the automations that use it
}

type segmentListPage struct {
	WS   string
	Rows []segmentRow
}

// segmentList lists the workspace's segments.
func (c *Console) segmentList(w http.ResponseWriter, r *http.Request, s *session) error {
	ws := r.PathValue("ws")
	snap := c.svc.Store().Workspace(ws)
	p := segmentListPage{WS: ws}
	for _, sg := range snap.ListSegments() {
		row := segmentRow{Segment: sg}
		for _, a := range snap.AutomationsUsing(sg.Ref()) {
			row.UsedBy = append(row.UsedBy, a.Name)
		}
		p.Rows = append(p.Rows, row)
	}
	return c.render(w, r, http.StatusOK, "segments", s, ws, "segments", "Segments", p)
}

// segmentFormPage is the segment builder. Its field and operator choices
// are the filter compiler's own tables (filter.Fields, filter.Operators),
// so a field added to the compiler appears here without a change.
type segmentFormPage struct {
	WS, ID, Name string
	// Filter is the filter tree's JSON, as the builder starts from it.
	Filter    string
	Fields    []filter.Field
	Operators []filter.Operator
	// Errors are the API's 422 fields ("filter.all[1].value": message).
	Errors map[string]string
	Error  string
}

func (c *Console) segmentPage(ws, id, name, filterJSON string) segmentFormPage {
	return segmentFormPage{WS: ws, ID: id, Name: name, Filter: filterJSON, Fields: filter.Fields(), Operators: filter.Operators(), Errors: map[string]string{}}
}

// newSegmentFilter is the filter a new segment starts from: the guide's
// Netcontrol lead matches it.
const newSegmentFilter = `{"all": [{"field": "company.industry", "op": "in", "value": ["Machinery"]}]}`

func (c *Console) segmentForm(w http.ResponseWriter, r *http.Request, s *session) error {
	ws, id := r.PathValue("ws"), r.PathValue("id")
	p := c.segmentPage(ws, id, "", newSegmentFilter)
	title := "Create Segment"
	if id != "" {
		sg, ok := c.svc.Store().Segment(ws, id)
		if !ok {
			return notFound("segment", id, ws)
		}
		p.Name, p.Filter = sg.Name, indentJSON(sg.Filter)
		title = "Edit segment " + sg.Name
	}
	return c.render(w, r, http.StatusOK, "segment_form", s, ws, "segments", title, p)
}

func indentJSON(raw []byte) string {
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}

// segmentSave creates or changes a segment: the filter is the builder's
// JSON (or what the person wrote by hand), checked by the API's compiler.
func (c *Console) segmentSave(w http.ResponseWriter, r *http.Request, s *session) error {
	ws, id := r.PathValue("ws"), r.PathValue("id")
	name := strings.TrimSpace(r.PostFormValue("name"))
	raw := strings.TrimSpace(r.PostFormValue("filter"))
	if raw == "" {
		raw = "null"
	}
	nameJSON, _ := json.Marshal(name)
	body := []byte(`{"name": ` + string(nameJSON) + `, "filter": ` + raw + "\n}")
	var err error
	if id == "" {
		_, err = c.svc.Create(r.Context(), control.KindSegment, ws, body)
	} else {
		_, err = c.svc.Update(r.Context(), control.KindSegment, ws, id, body)
	}
	if err != nil {
		fields, msg, other := formError(err)
		if other != nil {
			return other
		}
		p := c.segmentPage(ws, id, name, r.PostFormValue("filter"))
		if fields != nil {
			p.Errors = fields
		}
		p.Error = msg
		return c.render(w, r, http.StatusUnprocessableEntity, "segment_form", s, ws, "segments", "Create Segment", p)
	}
	return c.redirect(w, r, "/w/"+ws+"/segments", "Segment "+name+" saved.")
}
