package console

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/leadflow/leadflow/stages/control"
)

// signInPage is the sign-in form's data.
type signInPage struct {
	CSRF, Next, Error string
}

// home sends a signed-in browser to its workspaces, others to sign in.
func (c *Console) home(w http.ResponseWriter, r *http.Request, s *session) error {
	switch {
	case s == nil:
		return c.redirect(w, r, "/signin", "")
	case s.Scope.Admin:
		return c.redirect(w, r, "/workspaces", "")
	}
	return c.redirect(w, r, "/w/"+s.Scope.Workspace+"/webhooks", "")
}

// signInPage shows the Token form. Its CSRF token is a random value also
// set in a short-lived cookie (double submit), since no session exists yet.
func (c *Console) signInPage(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.showSignIn(w, r, http.StatusOK, "")
}

func (c *Console) showSignIn(w http.ResponseWriter, r *http.Request, status int, msg string) error {
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: preCookie, Value: tok, Path: "/signin", HttpOnly: true, Secure: isTLS(r),
		SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	return c.render(w, r, status, "signin", nil, "", "", "Sign in",
		signInPage{CSRF: tok, Next: safeNext(r.FormValue("next")), Error: msg})
}

// signIn checks the token and starts an admin session.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request, _ *session) error {
	ck, err := r.Cookie(preCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue(csrfField))) != 1 {
		return c.showSignIn(w, r, http.StatusForbidden, "The sign-in form expired or was not sent from this page. Try again.")
	}
	if err := c.svc.CheckToken(strings.TrimSpace(r.PostFormValue("token"))); err != nil {
		c.log.Info("console: sign-in refused", zap.String("remote", r.RemoteAddr))
		return c.showSignIn(w, r, http.StatusUnauthorized, "That is not the admin token. Check admin.token (LEADFLOW_ADMIN_TOKEN) and try again.")
	}
	_, cookie := c.sessions.issue(Scope{Admin: true}, isTLS(r))
	http.SetCookie(w, cookie)
	http.SetCookie(w, &http.Cookie{Name: preCookie, Value: "", Path: "/signin", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	next := safeNext(r.PostFormValue("next"))
	if next == "" {
		next = "/workspaces"
	}
	return c.redirect(w, r, next, "")
}

// safeNext keeps a sign-in's return path only when it is a path of this
// site (never another host).
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") || strings.HasPrefix(next, "/signin") {
		return ""
	}
	return next
}

// signOut ends the session in the browser.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request, _ *session) error {
	http.SetCookie(w, clearCookie(sessionCookie, isTLS(r)))
	return c.redirect(w, r, "/signin", "You are signed out.")
}

// workspaceRow is one workspace of the picker.
type workspaceRow struct {
	ID                                        string
	Webhooks, Automations, Segments, Personas int
}

type workspacesPage struct {
	Workspaces []workspaceRow
	ID, Error  string
}

// workspaces lists the workspaces that have configuration.
func (c *Console) workspaces(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.render(w, r, http.StatusOK, "workspaces", s, "", "workspaces", "Workspaces", c.workspaceRows())
}

func (c *Console) workspaceRows() workspacesPage {
	st := c.svc.Store()
	var p workspacesPage
	for _, id := range st.WorkspaceIDs() {
		snap := st.Workspace(id)
		p.Workspaces = append(p.Workspaces, workspaceRow{ID: id, Webhooks: len(snap.ListWebhooks()),
			Automations: len(snap.ListAutomations()), Segments: len(snap.ListSegments()), Personas: len(snap.ListPersonas())})
	}
	return p
}

// openWorkspace opens a workspace by its id (it need not have anything yet).
func (c *Console) openWorkspace(w http.ResponseWriter, r *http.Request, s *session) error {
	id := strings.TrimSpace(r.FormValue("id"))
	if msg := control.ValidWorkspaceID(id); msg != "" {
		p := c.workspaceRows()
		p.ID, p.Error = id, "A workspace id "+msg+"."
		return c.render(w, r, http.StatusUnprocessableEntity, "workspaces", s, "", "workspaces", "Workspaces", p)
	}
	return c.redirect(w, r, "/w/"+id+"/webhooks", "")
}

// workspaceHome opens a workspace at Integrations → Webhooks.
func (c *Console) workspaceHome(w http.ResponseWriter, r *http.Request, _ *session) error {
	return c.redirect(w, r, "/w/"+r.PathValue("ws")+"/webhooks", "")
}
