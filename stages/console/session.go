package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/leadflow/leadflow/stages/admin"
)

// Scope is what a session may open: every workspace and the admin pages
// (Admin), or exactly one workspace (a portal link), possibly read only.
// It is the admin API's Scope: every console route and every /v1 route
// checks it on the server, whatever the URL asks for.
type Scope = admin.Scope

// session is a signed-in browser: its scope, its CSRF token and when it
// ends. It lives in the session cookie, signed (HMAC-SHA256) with a key
// derived from the admin token, so that every process of a deployment
// accepts it and changing the token ends every session.
type session struct {
	Scope   Scope  `json:"scope"`
	CSRF    string `json:"csrf"`
	Expires int64  `json:"exp"` // Unix seconds
}

// Cookie names.
const (
	sessionCookie = "leadflow_session"
	preCookie     = "leadflow_signin" // the sign-in form's CSRF token, before a session exists
	flashCookie   = "leadflow_flash"
)

// sessions signs and reads session cookies.
type sessions struct {
	key [32]byte
	ttl time.Duration
	now func() time.Time
}

func newSessions(token string, ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{key: sha256.Sum256([]byte("leadflow console session v1\x00" + token)), ttl: ttl, now: now}
}

func randomToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *sessions) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.key[:])
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// issue returns a new session of scope, lasting the session TTL, and its
// cookie.
func (s *sessions) issue(scope Scope, secure bool) (session, *http.Cookie) {
	return s.issueUntil(scope, s.now().Add(s.ttl), secure)
}

// issueUntil returns a new session of scope ending at exp (at most the
// session TTL from now) and its cookie.
func (s *sessions) issueUntil(scope Scope, exp time.Time, secure bool) (session, *http.Cookie) {
	if limit := s.now().Add(s.ttl); exp.After(limit) {
		exp = limit
	}
	sess := session{Scope: scope, CSRF: randomToken(), Expires: exp.Unix()}
	b, _ := json.Marshal(sess)
	payload := base64.RawURLEncoding.EncodeToString(b)
	value := payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload))
	return sess, &http.Cookie{Name: sessionCookie, Value: value, Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(time.Unix(sess.Expires, 0).Sub(s.now()) / time.Second)}
}

var errNoSession = errors.New("console: no valid session")

// read returns the session of r's cookie, if it is validly signed and not
// expired.
func (s *sessions) read(r *http.Request) (session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, errNoSession
	}
	payload, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return session{}, errNoSession
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(payload)) {
		return session{}, errNoSession
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return session{}, errNoSession
	}
	var sess session
	if json.Unmarshal(b, &sess) != nil || sess.CSRF == "" || s.now().Unix() >= sess.Expires {
		return session{}, errNoSession
	}
	if !sess.Scope.Admin && sess.Scope.Workspace == "" {
		return session{}, errNoSession
	}
	return sess, nil
}

// clear returns the cookie that ends the session in the browser.
func clearCookie(name string, secure bool) *http.Cookie {
	return &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1}
}

// csrfField is the form field, and csrfHeader the header, that carry the
// session's CSRF token on every state-changing request.
const (
	csrfField  = "csrf"
	csrfHeader = "X-CSRF-Token"
)

// checkCSRF reports whether r carries want as its CSRF token.
func checkCSRF(r *http.Request, want string) bool {
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// checkCSRFHeader reports whether r carries want in the X-CSRF-Token
// header (a JSON request has no form).
func checkCSRFHeader(r *http.Request, want string) bool {
	got := r.Header.Get(csrfHeader)
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// isTLS reports whether the request came over TLS (directly, or through a
// proxy that says so), for the cookies' Secure attribute.
func isTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
