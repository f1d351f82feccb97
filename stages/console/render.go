package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/leadflow/leadflow/stages/admin"
)

// pages are the parsed templates: each page's file with the layout.
type pages struct {
	byName map[string]*template.Template
}

func parsePages() (*pages, error) {
	base, err := template.New("layout.html").Funcs(funcs()).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return nil, err
		}
		p.byName[name] = t
	}
	return p, nil
}

// view is what every page template gets.
type view struct {
	// Title is the page's heading and <title>.
	Title string
	// Session is the signed-in session (nil when signed out).
	Session *session
	// WS is the workspace the page is about ("" outside one).
	WS string
	// Nav is the navigation, with the current section marked.
	Nav []navItem
	// Flash is a message from the previous request (a redirect);
	// FlashRefused is set when it says something was refused.
	Flash        string
	FlashRefused bool
	// Page is the page's own data.
	Page any
}

// navItem is one link of the navigation; Group starts a heading.
type navItem struct {
	Group, Label, Href string
	Current            bool
}

// navSection is one entry of a navigation table.
type navSection struct{ group, label, path string }

// workspaceNav is a workspace's navigation, in the guide's words; an
// admin session outside a workspace sees the operations pages instead.
func workspaceNav() []navSection {
	return []navSection{
		{"Integrations", "Webhooks", "webhooks"},
		{"", "Automations", "automations"},
		{"", "Segments", "segments"},
		{"", "Personas", "personas"},
		{"Leads", "Live leads", "live"},
	}
}

// nav is the navigation of a page in section of workspace ws.
func nav(s *session, ws, section string) []navItem {
	var out []navItem
	if s == nil {
		return nil
	}
	if s.Scope.Admin {
		out = append(out, navItem{Label: "Workspaces", Href: "/workspaces", Current: section == "workspaces"})
		if ws == "" {
			out = append(out, navItem{Group: "Operations", Label: "Pipeline", Href: "/ops/pipeline", Current: section == "pipeline"},
				navItem{Label: "Endpoints", Href: "/ops/endpoints", Current: section == "endpoints"},
				navItem{Label: "Dead letters", Href: "/ops/deadletters", Current: section == "deadletters"})
		}
	}
	if ws != "" {
		for _, n := range workspaceNav() {
			out = append(out, navItem{Group: n.group, Label: n.label, Href: "/w/" + ws + "/" + n.path, Current: n.path == section})
		}
	}
	return out
}

// render writes page name with status.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, s *session, ws, section, title string, data any) error {
	t, ok := c.pages.byName[name]
	if !ok {
		return fmt.Errorf("console: no template %q", name)
	}
	v := view{Title: title, Session: s, WS: ws, Nav: nav(s, ws, section), Page: data}
	v.Flash, v.FlashRefused = takeFlash(w, r)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// errorPage is the data of the error page.
type errorPage struct {
	Status  int
	Message string
	Fields  map[string]string
}

// fail shows err as a page with its status.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err *admin.Error) {
	title := http.StatusText(err.Status)
	if err.Code == "csrf" {
		title = "Request refused"
	}
	ws := r.PathValue("ws")
	if s == nil || !s.Scope.AllowsWorkspace(ws) {
		ws = ""
	}
	if rerr := c.render(w, r, err.Status, "error", s, ws, "", title, errorPage{Status: err.Status, Message: err.Message, Fields: err.Fields}); rerr != nil {
		http.Error(w, err.Message, err.Status)
	}
}

// formError splits a service error into the field messages of a form
// (a 422) and anything else (returned as the error).
func formError(err error) (fields map[string]string, message string, other error) {
	var aerr *admin.Error
	if errors.As(err, &aerr) && (aerr.Status == http.StatusUnprocessableEntity || aerr.Status == http.StatusBadRequest || aerr.Status == http.StatusConflict) {
		return aerr.Fields, aerr.Message, nil
	}
	return nil, "", err
}

func funcs() template.FuncMap {
	return template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"pretty": func(raw []byte) string {
			var b bytes.Buffer
			if json.Indent(&b, raw, "", "  ") != nil {
				return string(raw)
			}
			return b.String()
		},
		"jsonAttr": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"ms": func(f float64) string { return fmt.Sprintf("%.0f ms", f) },
		"pct": func(f float64) string {
			if f < 0 {
				return "no traffic"
			}
			return fmt.Sprintf("%.1f%%", 100*f)
		},
		"rate": func(f float64) string {
			if f < 0 {
				return "…"
			}
			return fmt.Sprintf("%.1f", f)
		},
		"join":         strings.Join,
		"field":        func(m map[string]string, k string) string { return m[k] },
		"outcomeLabel": outcomeLabel,
		"eventLabel":   eventLabel,
	}
}

// eventLabel is an event as the guide names it in the dashboard.
func eventLabel(e string) string {
	switch e {
	case "new_lead":
		return "New Lead"
	case "new_session":
		return "New Session"
	case "contact_revealed", "contacts.revealed":
		return "Contact Revealed"
	}
	return e
}
