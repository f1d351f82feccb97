// Package admin is leadflow's admin API (DESIGN 1.4): the dashboard's
// Integrations → Webhooks and Automations as JSON over HTTP under /v1.
// It reads and writes the control plane (stages/control) and answers
// errors as {"error": {"code", "message", "fields"}}.
//
// Every request needs Authorization: Bearer TOKEN (admin.token,
// LEADFLOW_ADMIN_TOKEN), compared in constant time; with no token
// configured every request is refused. Writes return once the change is
// applied in this process (a GET right after sees it) and it is in effect
// in every other process within about a second.
package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/stages/control"
	"github.com/leadflow/leadflow/stages/deliver"
)

// FilterValidator checks a segment's filter tree (DESIGN 1.4 FILTER) and
// returns nil when it compiles. An error that has a FieldPath() string
// method (the filter compiler's *filter.Error) is answered as a 422 field
// named by that path, e.g. "filter.all[1].value"; errors.Join of several
// such errors names each. Any other error is a 422 on "filter".
// It must be safe for concurrent use.
type FilterValidator func(raw json.RawMessage) error

// Attempt is one delivery attempt of a webhook request, as
// GET .../deliveries and POST .../test answer it: the deliver stage's own
// record of it.
type Attempt = deliver.Attempt

// AttemptDetail is an attempt's request and answer as the delivery log
// keeps them (GET .../deliveries/{attempt}).
type AttemptDetail = deliver.AttemptDetail

// Deliveries is the delivery log the deliver stage keeps.
type Deliveries interface {
	// Recent returns up to n of the latest attempts to the webhook, newest
	// first. ctx is the HTTP request's context.
	Recent(ctx context.Context, ws, webhookID string, n int) ([]Attempt, error)
	// Detail returns the kept request and answer of the attempt called
	// attemptID (Attempt.ID, Attempt.Key); ok is false when the log no longer keeps it.
	Detail(ctx context.Context, ws, webhookID, attemptID string) (d AttemptDetail, ok bool, err error)
}

// Tester sends test requests and resends logged ones; the deliver stage
// implements it.
type Tester interface {
	// SendTest sends one signed sample request of event (new_lead,
	// new_session or contact_revealed) to w now (whether w is enabled or
	// not) and returns the attempt. A failed attempt (an error status, a
	// timeout) is an Attempt with Error set, not an error; an error means
	// no attempt could be made. ctx is the HTTP request's context.
	SendTest(ctx context.Context, w control.Webhook, event string) (Attempt, error)
	// Resend sends the logged request of attemptID (Attempt.ID, Attempt.Key) to w
	// again now, as a new attempt, and returns it; errors as SendTest, and
	// deliver.ErrNotKept when the log no longer keeps that request.
	Resend(ctx context.Context, w control.Webhook, attemptID string) (Attempt, error)
}

// URLPolicy decides which webhook URLs are accepted.
type URLPolicy struct {
	// AllowPrivateNetworks accepts URLs whose host is or resolves to a
	// loopback, private, link-local or other non-public address
	// (control.IsPublicAddr). `leadflow dev` sets it; in `run` it is
	// deliver.allow_private_networks. Default false.
	AllowPrivateNetworks bool
	// Resolver looks hosts up. Default net.DefaultResolver.
	Resolver control.Resolver
	// ResolveTimeout bounds one lookup. Default 5s.
	ResolveTimeout time.Duration
}

// Deps are what the admin API needs.
type Deps struct {
	// Store is the control plane, started. Required.
	Store *control.Store
	// Token is the bearer token every request must carry. "" refuses
	// every request (401), saying that admin.token is not set.
	Token string
	// Logger receives one line per request (never bodies or tokens).
	// Default: none.
	Logger *zap.Logger
	// FilterValidator checks segment filters. Default: only that the
	// filter is a JSON object (New logs a warning).
	FilterValidator FilterValidator
	// URLPolicy decides which webhook URLs are accepted.
	URLPolicy URLPolicy
	// Deliveries answers GET .../deliveries and .../deliveries/{attempt}.
	// nil: 501.
	Deliveries Deliveries
	// Tester answers POST .../test and .../resend. nil: 501.
	Tester Tester
	// SecretRotationOverlap is how long a rotated-out webhook secret
	// keeps signing (POST .../secret/rotate without "overlap_seconds"):
	// admin.secret_rotation_overlap. Default 0 (New makes it 24h); 0 to
	// 720h. Use a negative value for no overlap.
	SecretRotationOverlap time.Duration
	// Portal signs and checks portal links (POST .../portal-links).
	Portal PortalConfig
	// MaxBodyBytes bounds request bodies. Default 1 MiB, between 1 KiB
	// and 16 MiB.
	MaxBodyBytes int64
	// WriteTimeout bounds a write to the control topic. Default 10s,
	// between 100ms and 5m.
	WriteTimeout time.Duration
	// Now is the clock that times secret rotations and portal links.
	// Default time.Now.
	Now func() time.Time
}

// lockStripes is how many per-workspace write locks there are.
const lockStripes = 64

type api struct {
	d         Deps
	log       *zap.Logger
	tokenHash [32]byte
	seed      maphash.Seed
	locks     [lockStripes]sync.Mutex
}

// New returns the admin API's handler, serving /v1/... (mount it at
// "/v1/"). It validates deps.
func New(d Deps) (http.Handler, error) {
	svc, err := NewService(d)
	if err != nil {
		return nil, err
	}
	return svc.Handler(), nil
}

// buildAPI applies the defaults of d and validates it.
func buildAPI(d Deps) (*api, error) {
	if d.Store == nil {
		return nil, errors.New("admin: Deps.Store is required")
	}
	if d.Logger == nil {
		d.Logger = zap.NewNop()
	}
	if d.MaxBodyBytes == 0 {
		d.MaxBodyBytes = 1 << 20
	}
	if d.WriteTimeout == 0 {
		d.WriteTimeout = 10 * time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	switch {
	case d.SecretRotationOverlap == 0:
		d.SecretRotationOverlap = 24 * time.Hour
	case d.SecretRotationOverlap < 0:
		d.SecretRotationOverlap = 0
	}
	if d.Portal.TTL == 0 {
		d.Portal.TTL = time.Hour
	}
	if d.Portal.Key != "" && len(d.Portal.Key) < MinPortalKeyBytes {
		return nil, fmt.Errorf("admin: admin.portal_key must be at least %d bytes (or empty to disable portal links)", MinPortalKeyBytes)
	}
	if d.URLPolicy.Resolver == nil {
		d.URLPolicy.Resolver = net.DefaultResolver
	}
	if d.URLPolicy.ResolveTimeout == 0 {
		d.URLPolicy.ResolveTimeout = 5 * time.Second
	}
	if err := pipeline.CheckLimits("admin",
		pipeline.IntLimit("max_body_bytes", d.MaxBodyBytes, 1<<10, 16<<20),
		pipeline.DurationLimit("write_timeout", d.WriteTimeout, 100*time.Millisecond, 5*time.Minute),
		pipeline.DurationLimit("resolve_timeout", d.URLPolicy.ResolveTimeout, 10*time.Millisecond, time.Minute),
		pipeline.DurationLimit("secret_rotation_overlap", d.SecretRotationOverlap, 0, maxOverlap),
		pipeline.DurationLimit("portal_link_ttl", d.Portal.TTL, time.Minute, 720*time.Hour),
	); err != nil {
		return nil, err
	}
	a := &api{d: d, log: d.Logger, seed: maphash.MakeSeed()}
	if d.Token != "" {
		a.tokenHash = sha256.Sum256([]byte(d.Token))
	} else {
		a.log.Warn("admin: admin.token (LEADFLOW_ADMIN_TOKEN) is not set: the admin API refuses every request")
	}
	if d.FilterValidator == nil {
		a.log.Warn("admin: no segment filter validator is wired: segment filters are only checked to be JSON objects")
	}
	return a, nil
}

// handler is the /v1 routes' mux.
func (a *api) handler() http.Handler {
	mux := http.NewServeMux()
	methods := map[string][]string{}
	for _, rt := range a.routes() {
		mux.Handle(rt.method+" "+rt.pattern, a.wrap(rt.pattern, rt.h))
		methods[rt.pattern] = append(methods[rt.pattern], rt.method)
	}
	for pattern, ms := range methods {
		allow := strings.Join(ms, ", ")
		mux.Handle(pattern, a.wrap(pattern, func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Allow", allow)
			return errorf(http.StatusMethodNotAllowed, CodeMethod, "%s is not allowed on %s; allowed: %s", r.Method, pattern, allow)
		}))
	}
	mux.Handle("/", a.wrap("/", func(_ http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusNotFound, CodeNotFound, "no route %s %s; see GET /v1/openapi.json", r.Method, r.URL.Path)
	}))
	return mux
}

// handlerFunc is a route's handler: it writes a success answer itself and
// returns an error (an *Error, or anything else for a 500) otherwise.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one method and path of the API; routes() lists them all (the
// OpenAPI document is tested against it).
type route struct {
	method, pattern string
	h               handlerFunc
}

func (a *api) routes() []route {
	const ws = "/v1/workspaces/{ws}"
	return []route{
		{"GET", "/v1/openapi.json", a.openAPI},

		{"POST", ws + "/webhooks", webhooks.create(a)},
		{"GET", ws + "/webhooks", webhooks.list(a)},
		{"GET", ws + "/webhooks/{id}", webhooks.get(a)},
		{"PATCH", ws + "/webhooks/{id}", webhooks.patch(a)},
		{"DELETE", ws + "/webhooks/{id}", webhooks.delete(a)},
		{"GET", ws + "/webhooks/{id}/deliveries", a.deliveries},
		{"GET", ws + "/webhooks/{id}/deliveries/{attempt}", a.delivery},
		{"POST", ws + "/webhooks/{id}/deliveries/{attempt}/resend", a.resend},
		{"POST", ws + "/webhooks/{id}/test", a.test},
		{"POST", ws + "/webhooks/{id}/secret/rotate", a.rotateSecret},

		{"POST", ws + "/portal-links", adminOnly(a.portalLinks)},

		{"POST", ws + "/segments", segments.create(a)},
		{"GET", ws + "/segments", segments.list(a)},
		{"GET", ws + "/segments/{id}", segments.get(a)},
		{"PATCH", ws + "/segments/{id}", segments.patch(a)},
		{"DELETE", ws + "/segments/{id}", segments.delete(a)},

		{"POST", ws + "/personas", personas.create(a)},
		{"GET", ws + "/personas", personas.list(a)},
		{"GET", ws + "/personas/{id}", personas.get(a)},
		{"PATCH", ws + "/personas/{id}", personas.patch(a)},
		{"DELETE", ws + "/personas/{id}", personas.delete(a)},

		{"POST", ws + "/automations", automations.create(a)},
		{"GET", ws + "/automations", automations.list(a)},
		{"GET", ws + "/automations/{id}", automations.get(a)},
		{"PATCH", ws + "/automations/{id}", automations.patch(a)},
		{"DELETE", ws + "/automations/{id}", automations.delete(a)},
	}
}

// statusWriter remembers the status for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// wrap authenticates, runs h, answers its error and logs the request.
func (a *api) wrap(pattern string, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := &statusWriter{ResponseWriter: rw}
		var err error
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
				writeError(w, errorf(http.StatusInternalServerError, CodeInternal, "internal error"))
			}
			a.logRequest(r, pattern, w.status, time.Since(start), err)
		}()
		scope, aerr := a.authorize(r)
		if aerr != nil {
			err = aerr
			writeError(w, aerr)
			return
		}
		r = r.WithContext(WithScope(r.Context(), scope))
		if rerr := a.d.Store.Ready(); control.Loading(rerr) && pattern != "/v1/openapi.json" {
			// Until the control topic is read, lists would be partial.
			err = errorf(http.StatusServiceUnavailable, CodeUnavailable, "the control plane is still loading; retry shortly (%v)", rerr)
			writeError(w, err.(*Error))
			return
		}
		if err = h(w, r); err != nil {
			var aerr *Error
			if !errors.As(err, &aerr) {
				aerr = errorf(http.StatusInternalServerError, CodeInternal, "internal error")
			}
			writeError(w, aerr)
		}
	})
}

func (a *api) logRequest(r *http.Request, pattern string, status int, took time.Duration, err error) {
	fields := []zap.Field{
		zap.String("method", r.Method), zap.String("route", pattern), zap.Int("status", status),
		zap.Duration("took", took),
	}
	if ws := r.PathValue("ws"); ws != "" {
		fields = append(fields, zap.String("workspace", ws))
	}
	switch {
	case status >= 500:
		a.log.Error("admin request failed", append(fields, zap.Error(err))...)
	case err != nil:
		a.log.Info("admin request refused", append(fields, zap.String("error", err.Error()))...)
	default:
		a.log.Info("admin request", fields...)
	}
}

// authenticate checks the bearer token in constant time.
func (a *api) authenticate(r *http.Request) *Error {
	if a.d.Token == "" {
		return errorf(http.StatusUnauthorized, CodeUnauthorized,
			"the admin API is disabled: admin.token (env LEADFLOW_ADMIN_TOKEN) is not set")
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return errorf(http.StatusUnauthorized, CodeUnauthorized, "send Authorization: Bearer TOKEN (admin.token)")
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	if subtle.ConstantTimeCompare(got[:], a.tokenHash[:]) != 1 {
		return errorf(http.StatusUnauthorized, CodeUnauthorized, "the bearer token is not the admin token")
	}
	return nil
}

// workspace returns the {ws} path parameter, checked.
func workspace(r *http.Request) (string, *Error) {
	ws := r.PathValue("ws")
	if msg := control.ValidWorkspaceID(ws); msg != "" {
		return "", errorf(http.StatusBadRequest, CodeBadRequest, "workspace id %q %s", ws, msg)
	}
	return ws, nil
}

// lock serialises this process's read-modify-writes of one workspace, so
// that a check (the webhook exists; no automation uses the segment) and
// the write after it are not interleaved with another request here.
// Writers in other processes can still interleave: Kafka has no
// compare-and-set (see docs).
func (a *api) lock(ws string) func() {
	m := &a.locks[maphash.String(a.seed, ws)%lockStripes]
	m.Lock()
	return m.Unlock
}

// write runs a control-plane write with the write timeout and turns its
// errors into answers.
func (a *api) write(ctx context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, a.d.WriteTimeout)
	defer cancel()
	err := fn(ctx)
	var ie *control.InvalidError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ie):
		return invalid(ie.Fields)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
			Message: fmt.Sprintf("the control topic did not confirm the change within %s; it may or may not be applied: retry or check with GET", a.d.WriteTimeout)}
	case errors.Is(err, control.ErrClosed):
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "the process is shutting down; retry")
	}
	return err
}
