// Package console is leadflow's web console: the product guide's
// Integrations → Webhooks, Automations, Segments and Personas pages as
// server-rendered HTML (html/template, with a little JavaScript for the
// segment builder), served at / on the HTTP server of every process that
// runs the admin stage. It reads and writes through the admin API's
// Service (stages/admin), so a change made here is validated, locked and
// written exactly as the same change through /v1, and takes effect as
// one does. Its templates, CSS and JavaScript are embedded (go:embed): it
// needs no network and no build step.
//
// Sign-in takes the admin token and sets a signed session cookie
// (HttpOnly, SameSite=Strict, Secure over TLS) carrying a Scope and a CSRF
// token; every route checks the scope on the server and every
// state-changing request its CSRF token (403, nothing changed, without it).
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/leadflow/leadflow/stages/admin"
	"github.com/leadflow/leadflow/stages/console/clusterview"
	"github.com/leadflow/leadflow/stages/control"
	"github.com/leadflow/leadflow/stages/deliver"
	"github.com/leadflow/leadflow/stages/topics"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Deps are what the console needs.
type Deps struct {
	// Service is the admin API's service: every read and write goes
	// through it. Required.
	Service *admin.Service
	// Token is the admin token (admin.token) a sign-in must give. ""
	// refuses every sign-in, as the admin API refuses every request.
	Token string
	// SessionTTL is how long a sign-in lasts (admin.console_session_ttl).
	// Default 12h, between 1m and 720h.
	SessionTTL time.Duration
	// Logger receives refused requests and errors. Default: none.
	Logger *zap.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Cluster reads the stages' consumer groups for the Pipeline page.
	// nil: the page answers 501.
	Cluster *clusterview.Reader
	// Settings is the configuration the Pipeline page shows (any value
	// YAML encodes; keys naming secrets are redacted). Default: none.
	Settings any
	// RunStages are the stages this process runs, for the Pipeline page.
	RunStages []string
	// Topics names the dead-letter topics the Dead letters page reads.
	Topics topics.Names
	// Replay re-queues one webhook's dead-lettered deliveries and returns
	// how many (deliver.Replay). nil: the page offers no Replay.
	Replay func(ctx context.Context, webhookID string) (int, error)
	// WebhookStates reads the circuit breaker and queues of every webhook
	// summed over the live deliver processes, keyed "WORKSPACE/WEBHOOK",
	// and how many processes published (deliver.ReadWebhookStates). nil:
	// the Endpoints page says it cannot show them.
	WebhookStates func(ctx context.Context) (map[string]deliver.WebhookState, int, error)
}

// Console is the web console's handler. It is safe for concurrent use.
type Console struct {
	svc      *admin.Service
	log      *zap.Logger
	sessions *sessions
	pages    *pages
	mux      *http.ServeMux
	now      func() time.Time

	cluster   *clusterview.Reader
	settings  string // redacted YAML
	runStages []string
	topics    topics.Names
	replay    func(ctx context.Context, webhookID string) (int, error)

	webhookStates func(ctx context.Context) (map[string]deliver.WebhookState, int, error)
	samples       *sampleRing // the Pipeline page's chart
}

// New returns the console, serving / (mount it at "/", after /v1/).
func New(d Deps) (*Console, error) {
	if d.Service == nil {
		return nil, errors.New("console: Deps.Service is required")
	}
	if d.SessionTTL == 0 {
		d.SessionTTL = 12 * time.Hour
	}
	if d.SessionTTL < time.Minute || d.SessionTTL > 720*time.Hour {
		return nil, errors.New("console: admin.console_session_ttl must be between 1m and 720h")
	}
	if d.Logger == nil {
		d.Logger = zap.NewNop()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	settings := ""
	if d.Settings != nil {
		if settings, err = redactedSettings(d.Settings); err != nil {
			return nil, fmt.Errorf("console: encoding the settings: %w", err)
		}
	}
	c := &Console{svc: d.Service, log: d.Logger, sessions: newSessions(d.Token, d.SessionTTL, d.Now),
		pages: p, mux: http.NewServeMux(), now: d.Now, cluster: d.Cluster, settings: settings, runStages: d.RunStages,
		topics: d.Topics, replay: d.Replay, webhookStates: d.WebhookStates, samples: newSampleRing(chartSamples)}
	static, _ := fs.Sub(assetFS, "assets")
	c.mux.Handle("GET /assets/", http.StripPrefix("/assets/", assetHandler(static)))
	for _, rt := range c.routes() {
		c.mux.Handle(rt.method+" "+rt.pattern, c.wrap(rt))
	}
	c.mux.Handle("/", c.wrap(route{access: public, h: func(w http.ResponseWriter, r *http.Request, _ *session) error {
		return &admin.Error{Status: http.StatusNotFound, Code: admin.CodeNotFound, Message: "There is no page at " + r.URL.Path + "."}
	}}))
	return c, nil
}

// ServeHTTP serves the console.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.mux.ServeHTTP(w, r) }

// access is who may open a route.
type access int

const (
	// public: anyone (sign-in, assets).
	public access = iota
	// adminOnly: a session of Scope.Admin (the workspace picker; the
	// operator pages to come).
	adminOnly
	// inWorkspace: a session whose scope allows the route's {ws}.
	inWorkspace
	// signedIn: any session (sign out).
	signedIn
)

// handler is a page's handler. It writes the answer itself, or returns an
// error: an *admin.Error is shown with its status and message, anything
// else as a 500.
type handler func(w http.ResponseWriter, r *http.Request, s *session) error

// route is one method and path of the console.
type route struct {
	method, pattern string
	access          access
	h               handler
}

func (c *Console) routes() []route {
	const ws = "/w/{ws}"
	return []route{
		{"GET", "/{$}", public, c.home},
		{"GET", "/signin", public, c.signInPage},
		{"GET", "/portal/{ws}", public, c.openPortal},
		{"POST", "/signin", public, c.signIn},
		{"POST", "/signout", signedIn, c.signOut},
		{"GET", "/workspaces", adminOnly, c.workspaces},
		{"GET", "/workspaces/open", adminOnly, c.openWorkspace},
		{"GET", "/ops/pipeline", adminOnly, c.pipeline},
		{"GET", "/ops/endpoints", adminOnly, c.endpoints},
		{"GET", "/ops/deadletters", adminOnly, c.deadLetters},
		{"POST", "/ops/deadletters/replay", adminOnly, c.replayWebhook},

		{"GET", ws + "/{$}", inWorkspace, c.workspaceHome},
		{"GET", ws + "/live", inWorkspace, c.liveLeads},
		{"GET", ws + "/webhooks", inWorkspace, c.webhookList},
		{"GET", ws + "/webhooks/new", inWorkspace, c.webhookForm},
		{"POST", ws + "/webhooks/new", inWorkspace, c.webhookSave},
		{"GET", ws + "/webhooks/{id}/edit", inWorkspace, c.webhookForm},
		{"POST", ws + "/webhooks/{id}/edit", inWorkspace, c.webhookSave},
		{"POST", ws + "/webhooks/{id}/pause", inWorkspace, c.webhookEnable(false)},
		{"POST", ws + "/webhooks/{id}/resume", inWorkspace, c.webhookEnable(true)},
		{"POST", ws + "/webhooks/{id}/delete", inWorkspace, c.deleter(control.KindWebhook, "webhooks")},
		{"GET", ws + "/webhooks/{id}/test", inWorkspace, c.testPage},
		{"POST", ws + "/webhooks/{id}/test", inWorkspace, c.testSend},
		{"GET", ws + "/webhooks/{id}/logs", inWorkspace, c.logList},
		{"GET", ws + "/webhooks/{id}/logs/{attempt}", inWorkspace, c.logDetail},
		{"POST", ws + "/webhooks/{id}/logs/{attempt}/resend", inWorkspace, c.logResend},

		{"GET", ws + "/automations", inWorkspace, c.automationList},
		{"GET", ws + "/automations/new", inWorkspace, c.automationForm},
		{"POST", ws + "/automations/new", inWorkspace, c.automationSave},
		{"GET", ws + "/automations/{id}/edit", inWorkspace, c.automationForm},
		{"POST", ws + "/automations/{id}/edit", inWorkspace, c.automationSave},
		{"POST", ws + "/automations/{id}/enable", inWorkspace, c.automationEnable(true)},
		{"POST", ws + "/automations/{id}/disable", inWorkspace, c.automationEnable(false)},
		{"POST", ws + "/automations/{id}/delete", inWorkspace, c.deleter(control.KindAutomation, "automations")},

		{"GET", ws + "/segments", inWorkspace, c.segmentList},
		{"GET", ws + "/segments/new", inWorkspace, c.segmentForm},
		{"POST", ws + "/segments/new", inWorkspace, c.segmentSave},
		{"GET", ws + "/segments/{id}/edit", inWorkspace, c.segmentForm},
		{"POST", ws + "/segments/{id}/edit", inWorkspace, c.segmentSave},
		{"POST", ws + "/segments/{id}/delete", inWorkspace, c.deleter(control.KindSegment, "segments")},

		{"GET", ws + "/personas", inWorkspace, c.personaList},
		{"GET", ws + "/personas/new", inWorkspace, c.personaForm},
		{"POST", ws + "/personas/new", inWorkspace, c.personaSave},
		{"GET", ws + "/personas/{id}/edit", inWorkspace, c.personaForm},
		{"POST", ws + "/personas/{id}/edit", inWorkspace, c.personaSave},
		{"POST", ws + "/personas/{id}/delete", inWorkspace, c.deleter(control.KindPersona, "personas")},
	}
}

// maxFormBytes bounds a form's body.
const maxFormBytes = 1 << 20

// wrap checks the session, its scope and, on POST, its CSRF token, then
// runs the route's handler and shows its error.
func (c *Console) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		sess, serr := c.sessions.read(r)
		var s *session
		if serr == nil {
			s = &sess
		}
		if err := c.check(rt, r, s); err != nil {
			if err.Status == http.StatusUnauthorized && r.Method == http.MethodGet {
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.fail(w, r, s, err)
			return
		}
		if err := rt.h(w, r, s); err != nil {
			var aerr *admin.Error
			if !errors.As(err, &aerr) {
				c.log.Error("console: page failed", zap.String("path", r.URL.Path), zap.Error(err))
				aerr = &admin.Error{Status: http.StatusInternalServerError, Code: admin.CodeInternal, Message: "Something went wrong on leadflow's side; the log says what."}
			}
			c.fail(w, r, s, aerr)
		}
	})
}

// check is the access rule of every route: a session for anything but
// public routes, the right scope, and on POST the session's CSRF token.
func (c *Console) check(rt route, r *http.Request, s *session) *admin.Error {
	if rt.access == public {
		return nil
	}
	if s == nil {
		return &admin.Error{Status: http.StatusUnauthorized, Code: admin.CodeUnauthorized, Message: "Sign in first."}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !checkCSRF(r, s.CSRF) {
		c.log.Info("console: request without its CSRF token refused", zap.String("path", r.URL.Path))
		return &admin.Error{Status: http.StatusForbidden, Code: "csrf",
			Message: "This request did not carry the page's security token (CSRF), so nothing was changed. Reload the page and try again."}
	}
	if s.Scope.ReadOnly && r.Method != http.MethodGet && r.Method != http.MethodHead && rt.access != signedIn {
		return &admin.Error{Status: http.StatusForbidden, Code: admin.CodeForbidden, Message: "This sign-in is read only: nothing was changed."}
	}
	switch rt.access {
	case adminOnly:
		if !s.Scope.Admin {
			return &admin.Error{Status: http.StatusForbidden, Code: admin.CodeForbidden, Message: "This page is for the admin sign-in only."}
		}
	case inWorkspace:
		ws := r.PathValue("ws")
		if msg := control.ValidWorkspaceID(ws); msg != "" {
			return &admin.Error{Status: http.StatusBadRequest, Code: admin.CodeBadRequest, Message: "The workspace id " + ws + " " + msg + "."}
		}
		if !s.Scope.AllowsWorkspace(ws) {
			return &admin.Error{Status: http.StatusForbidden, Code: admin.CodeForbidden, Message: "This sign-in does not give access to workspace " + ws + "."}
		}
		if err := c.svc.Ready(); err != nil {
			var aerr *admin.Error
			errors.As(err, &aerr)
			return aerr
		}
	}
	return nil
}

// setSecurityHeaders forbids inline scripts, framing and sniffing.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

// assetHandler serves the embedded CSS and JavaScript, cacheable for an hour.
func assetHandler(static fs.FS) http.Handler {
	fsrv := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// redirect answers a form with 303 See Other to path, with a flash message.
func (c *Console) redirect(w http.ResponseWriter, r *http.Request, path, flash string) error {
	if flash != "" {
		http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(flash), Path: "/", HttpOnly: true,
			Secure: isTLS(r), SameSite: http.SameSiteStrictMode, MaxAge: 60})
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
	return nil
}

// flashRefused marks a flash message that says something was refused.
const flashRefused = "!"

// takeFlash returns the flash message of r, whether it says something was
// refused, and clears it.
func takeFlash(w http.ResponseWriter, r *http.Request) (msg string, refused bool) {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return "", false
	}
	http.SetCookie(w, clearCookie(flashCookie, isTLS(r)))
	msg, err = url.QueryUnescape(ck.Value)
	if err != nil {
		return "", false
	}
	msg, refused = strings.CutPrefix(msg, flashRefused)
	return strings.TrimSpace(msg), refused
}
