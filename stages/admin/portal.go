package admin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Scope is what a caller may reach: everything (Admin: the admin token,
// or a console sign-in with it), or exactly one workspace (a portal
// link's session), possibly read only. The /v1 routes and the web
// console check it on the server on every request, whatever the URL asks
// for.
type Scope struct {
	// Admin is set for the admin token and an admin sign-in.
	Admin bool `json:"admin,omitempty"`
	// Workspace is the one workspace of a workspace-scoped session ("" for
	// an admin scope).
	Workspace string `json:"ws,omitempty"`
	// ReadOnly forbids every change (a portal link made with read_only).
	ReadOnly bool `json:"ro,omitempty"`
}

// AllowsWorkspace reports whether the scope may open workspace ws.
func (s Scope) AllowsWorkspace(ws string) bool {
	return s.Admin || (s.Workspace != "" && s.Workspace == ws)
}

// scopeKey is the context key of a request's Scope.
type scopeKey struct{}

// WithScope returns ctx carrying scope: a /v1 request whose context has a
// scope and no Authorization header is served within that scope instead
// of needing the admin token. Only the web console sets it, after
// checking the request's signed session cookie (and, for a change, its
// CSRF header); a client cannot.
func WithScope(ctx context.Context, scope Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, scope)
}

func scopeFrom(ctx context.Context) (Scope, bool) {
	s, ok := ctx.Value(scopeKey{}).(Scope)
	return s, ok
}

// PortalConfig is how portal links are signed.
type PortalConfig struct {
	// Key signs portal grants (HMAC-SHA256; admin.portal_key, env
	// LEADFLOW_ADMIN_PORTAL_KEY). "" disables portal links (501); else at
	// least 32 bytes. Changing it invalidates every link not yet opened.
	Key string
	// TTL is how long a new portal link stays valid, and how long the
	// session it opens lasts at most (admin.portal_link_ttl). Default 1h,
	// between 1m and 720h.
	TTL time.Duration
}

// MinPortalKeyBytes is the shortest admin.portal_key accepted.
const MinPortalKeyBytes = 32

// grant is a portal link's signed claim: workspace, read-only, expiry.
type grant struct {
	Workspace string `json:"ws"`
	ReadOnly  bool   `json:"ro,omitempty"`
	Expires   int64  `json:"exp"` // Unix seconds
}

// portalMAC signs payload under the portal key (domain-separated from
// every other use of the key).
func (a *api) portalMAC(payload string) []byte {
	m := hmac.New(sha256.New, []byte(a.d.Portal.Key))
	m.Write([]byte("leadflow portal grant v1\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// PortalLink is the answer of POST .../portal-links.
type PortalLink struct {
	// URL opens the console for the workspace (the path is /portal/{ws}
	// with the signed grant in its query).
	URL       string    `json:"url"`
	Workspace string    `json:"workspace"`
	ReadOnly  bool      `json:"read_only"`
	ExpiresAt time.Time `json:"expires_at"`
}

// NewPortalLink signs a grant of workspace ws (read only or not) valid
// for the configured TTL and returns its link under base (scheme and
// host, e.g. "https://leadflow.example.com").
func (s *Service) NewPortalLink(ws string, readOnly bool, base string, now time.Time) (PortalLink, error) {
	if err := checkWorkspace(ws); err != nil {
		return PortalLink{}, err
	}
	if s.a.d.Portal.Key == "" {
		return PortalLink{}, errorf(http.StatusNotImplemented, CodeNotImplemented,
			"portal links are disabled: set admin.portal_key (env LEADFLOW_ADMIN_PORTAL_KEY, at least %d bytes)", MinPortalKeyBytes)
	}
	exp := now.Add(s.a.d.Portal.TTL).Truncate(time.Second)
	b, _ := json.Marshal(grant{Workspace: ws, ReadOnly: readOnly, Expires: exp.Unix()})
	payload := base64.RawURLEncoding.EncodeToString(b)
	token := payload + "." + base64.RawURLEncoding.EncodeToString(s.a.portalMAC(payload))
	u := strings.TrimSuffix(base, "/") + "/portal/" + url.PathEscape(ws) + "?grant=" + url.QueryEscape(token)
	return PortalLink{URL: u, Workspace: ws, ReadOnly: readOnly, ExpiresAt: exp.UTC()}, nil
}

// OpenPortalGrant checks a portal link's grant for workspace ws (the
// link's path) and returns the scope it gives and when it ends: 401 when
// the grant is altered, malformed or expired, 403 when it was made for
// another workspace.
func (s *Service) OpenPortalGrant(ws, token string, now time.Time) (Scope, time.Time, error) {
	refused := errorf(http.StatusUnauthorized, CodeUnauthorized, "this portal link is not valid: ask for a new one")
	if s.a.d.Portal.Key == "" {
		return Scope{}, time.Time{}, refused
	}
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return Scope{}, time.Time{}, refused
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.a.portalMAC(payload)) {
		return Scope{}, time.Time{}, refused
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	var g grant
	if err != nil || json.Unmarshal(b, &g) != nil || g.Workspace == "" {
		return Scope{}, time.Time{}, refused
	}
	exp := time.Unix(g.Expires, 0)
	if !now.Before(exp) {
		return Scope{}, time.Time{}, errorf(http.StatusUnauthorized, CodeUnauthorized, "this portal link expired at %s: ask for a new one", exp.UTC().Format(time.RFC3339))
	}
	if g.Workspace != ws {
		return Scope{}, time.Time{}, errorf(http.StatusForbidden, CodeForbidden, "this portal link is for another workspace")
	}
	return Scope{Workspace: g.Workspace, ReadOnly: g.ReadOnly}, exp, nil
}

// portalLinks answers POST /v1/workspaces/{ws}/portal-links (admin token
// only) with a PortalLink; the body is empty or {"read_only": bool}.
func (a *api) portalLinks(w http.ResponseWriter, r *http.Request) error {
	o, aerr := readOptionalObject(w, r, a.d.MaxBodyBytes)
	if aerr != nil {
		return aerr
	}
	if aerr := o.only("read_only"); aerr != nil {
		return aerr
	}
	o.notNull("read_only")
	readOnly, _ := field[bool](o, "read_only", "a boolean")
	if aerr := o.err(); aerr != nil {
		return aerr
	}
	link, err := (&Service{a: a}).NewPortalLink(r.PathValue("ws"), readOnly, requestBase(r), a.d.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, link)
	return nil
}

// requestBase is the scheme and host a client reached this server at
// (X-Forwarded-Proto and the Host header, as a proxy passes them on).
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// authorize is the scope rule of every /v1 route: the admin token may do
// anything; a console session (WithScope) only its workspace's routes,
// no admin-only route, and no change when read only.
func (a *api) authorize(r *http.Request) (Scope, *Error) {
	if r.Header.Get("Authorization") == "" {
		if s, ok := scopeFrom(r.Context()); ok {
			return s, checkScope(r, s)
		}
	}
	if aerr := a.authenticate(r); aerr != nil {
		return Scope{}, aerr
	}
	return Scope{Admin: true}, nil
}

// checkScope refuses (403) what scope does not allow on r.
func checkScope(r *http.Request, s Scope) *Error {
	switch ws := r.PathValue("ws"); {
	case s.Admin:
		return nil
	case ws != "" && !s.AllowsWorkspace(ws):
		return errorf(http.StatusForbidden, CodeForbidden, "this session does not give access to workspace %s", ws)
	case s.ReadOnly && r.Method != http.MethodGet && r.Method != http.MethodHead:
		return errorf(http.StatusForbidden, CodeForbidden, "this session is read only")
	}
	return nil
}

// adminOnly refuses (403) h to any scope but the admin's.
func adminOnly(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s, _ := scopeFrom(r.Context()); !s.Admin {
			return errorf(http.StatusForbidden, CodeForbidden, "this route needs the admin token")
		}
		return h(w, r)
	}
}
