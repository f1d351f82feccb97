package console

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/leadflow/leadflow/stages/admin"
)

// portalPage is the data of the page a portal link opens.
type portalPage struct{ Next string }

// openPortal opens a portal link (GET /portal/{ws}?grant=...): a grant
// signed by POST /v1/workspaces/{ws}/portal-links for this workspace and
// not expired starts a session limited to the workspace (read only when
// the link is), ending when the grant does. An altered or expired grant
// is a 401 and one of another workspace a 403, and neither starts a
// session.
//
// It answers a page that moves on to the workspace itself (a meta
// refresh), not a redirect: a link followed from the host product's site
// is a cross-site navigation, and a browser does not send the
// SameSite=Strict session cookie on a redirect of one.
func (c *Console) openPortal(w http.ResponseWriter, r *http.Request, _ *session) error {
	ws := r.PathValue("ws")
	scope, exp, err := c.svc.OpenPortalGrant(ws, r.URL.Query().Get("grant"), c.now())
	if err != nil {
		c.log.Info("console: portal link refused", zap.String("workspace", ws), zap.Error(err))
		return err
	}
	sess, cookie := c.sessions.issueUntil(scope, exp, isTLS(r))
	http.SetCookie(w, cookie)
	next := "/w/" + ws + "/webhooks"
	return c.render(w, r, http.StatusOK, "portal", &sess, ws, "", "Opening workspace "+ws, portalPage{Next: next})
}

// API wraps the admin API's handler (mount it at "/v1/") so that a
// console session may call it as well as the admin token: a request with
// no Authorization header and a valid session cookie is served within the
// session's scope (admin.WithScope), which the API checks on every route
// (403 for another workspace, an admin-only route, or a change in a read
// only session). A change (any method but GET and HEAD) must carry the
// session's CSRF token in the X-CSRF-Token header (403 otherwise).
func (c *Console) API(v1 http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			if sess, err := c.sessions.read(r); err == nil {
				if r.Method != http.MethodGet && r.Method != http.MethodHead && !checkCSRFHeader(r, sess.CSRF) {
					admin.WriteError(w, &admin.Error{Status: http.StatusForbidden, Code: "csrf",
						Message: "send the session's CSRF token in the X-CSRF-Token header; nothing was changed"})
					return
				}
				r = r.WithContext(admin.WithScope(r.Context(), sess.Scope))
			}
		}
		v1.ServeHTTP(w, r)
	})
}
