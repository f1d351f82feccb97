package admin

import (
	"context"
	"crypto/sha256"
	"net/http"

	"github.com/leadflow/leadflow/stages/control"
)

// Service is the admin API as Go calls: the same parsing of a JSON body,
// validation, per-workspace locking and control-plane writes as the /v1
// routes, which call it too. The web console (stages/console) uses it, so
// that a change made in the console is exactly a change made through the
// API. Errors are *Error (the status, code, message and fields the API
// would answer) or, for a fault of leadflow, any other error. It is safe
// for concurrent use.
type Service struct{ a *api }

// NewService validates d and returns the admin API's service.
func NewService(d Deps) (*Service, error) {
	a, err := buildAPI(d)
	if err != nil {
		return nil, err
	}
	return &Service{a: a}, nil
}

// Handler is the /v1 routes (mount it at "/v1/").
func (s *Service) Handler() http.Handler { return s.a.handler() }

// Store is the control plane the service reads and writes.
func (s *Service) Store() *control.Store { return s.a.d.Store }

// CheckToken reports nil when token is the admin token (compared in
// constant time), or the 401 the API would answer.
func (s *Service) CheckToken(token string) error {
	r := &http.Request{Header: http.Header{"Authorization": {"Bearer " + token}}}
	if err := s.a.authenticate(r); err != nil {
		return err
	}
	return nil
}

// RequireToken returns h behind the admin token: a request without
// "Authorization: Bearer TOKEN" (admin.token) gets the admin API's 401,
// and with token "" every request does. The process uses it for routes
// that are not the API's but show its internals (/debug/pprof/).
func RequireToken(token string, h http.Handler) http.Handler {
	a := &api{d: Deps{Token: token}, tokenHash: sha256.Sum256([]byte(token))}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.authenticate(r); err != nil {
			writeError(w, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Ready reports nil once the control plane is loaded, or the 503 the API
// would answer.
func (s *Service) Ready() error {
	if err := s.a.d.Store.Ready(); control.Loading(err) {
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "the control plane is still loading; retry shortly (%v)", err)
	}
	return nil
}

// checkWorkspace is the 400 of a malformed workspace id.
func checkWorkspace(ws string) error {
	if msg := control.ValidWorkspaceID(ws); msg != "" {
		return errorf(http.StatusBadRequest, CodeBadRequest, "workspace id %q %s", ws, msg)
	}
	return nil
}

// parseBody reads body as the JSON object of a POST or PATCH.
func parseBody(body []byte) (*object, error) {
	o := &object{errs: map[string]string{}}
	if aerr := o.parse(body, "the body"); aerr != nil {
		return nil, aerr
	}
	return o, nil
}

// Create is POST /v1/workspaces/{ws}/{kind}s: it creates the entity the
// JSON body describes and returns it as stored.
func (s *Service) Create(ctx context.Context, kind control.Kind, ws string, body []byte) (control.Entity, error) {
	if err := checkWorkspace(ws); err != nil {
		return nil, err
	}
	o, err := parseBody(body)
	if err != nil {
		return nil, err
	}
	switch kind {
	case control.KindWebhook:
		return entity(webhooks.createObject(ctx, s.a, ws, o))
	case control.KindSegment:
		return entity(segments.createObject(ctx, s.a, ws, o))
	case control.KindPersona:
		return entity(personas.createObject(ctx, s.a, ws, o))
	case control.KindAutomation:
		return entity(automations.createObject(ctx, s.a, ws, o))
	}
	return nil, errorf(http.StatusNotFound, CodeNotFound, "no kind %q", kind)
}

// Update is PATCH /v1/workspaces/{ws}/{kind}s/{id}: it changes the fields
// the JSON body names and returns the entity as stored.
func (s *Service) Update(ctx context.Context, kind control.Kind, ws, id string, body []byte) (control.Entity, error) {
	if err := checkWorkspace(ws); err != nil {
		return nil, err
	}
	o, err := parseBody(body)
	if err != nil {
		return nil, err
	}
	switch kind {
	case control.KindWebhook:
		return entity(webhooks.patchObject(ctx, s.a, ws, id, o))
	case control.KindSegment:
		return entity(segments.patchObject(ctx, s.a, ws, id, o))
	case control.KindPersona:
		return entity(personas.patchObject(ctx, s.a, ws, id, o))
	case control.KindAutomation:
		return entity(automations.patchObject(ctx, s.a, ws, id, o))
	}
	return nil, errorf(http.StatusNotFound, CodeNotFound, "no kind %q", kind)
}

// Delete is DELETE /v1/workspaces/{ws}/{kind}s/{id}; a 409 names the
// automations that still use the entity.
func (s *Service) Delete(ctx context.Context, kind control.Kind, ws, id string) error {
	if err := checkWorkspace(ws); err != nil {
		return err
	}
	switch kind {
	case control.KindWebhook:
		return webhooks.deleteID(ctx, s.a, ws, id)
	case control.KindSegment:
		return segments.deleteID(ctx, s.a, ws, id)
	case control.KindPersona:
		return personas.deleteID(ctx, s.a, ws, id)
	case control.KindAutomation:
		return automations.deleteID(ctx, s.a, ws, id)
	}
	return errorf(http.StatusNotFound, CodeNotFound, "no kind %q", kind)
}

// entity returns e as a control.Entity, or the error (never a non-nil
// interface holding a zero entity next to an error).
func entity[T control.Entity](e T, err error) (control.Entity, error) {
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Deliveries is GET .../webhooks/{id}/deliveries?limit=n.
func (s *Service) Deliveries(ctx context.Context, ws, id string, n int) ([]Attempt, error) {
	if _, err := s.a.deliveryLog(ws, id); err != nil {
		return nil, err
	}
	return s.a.recent(ctx, ws, id, n)
}

// Delivery is GET .../webhooks/{id}/deliveries/{attempt}.
func (s *Service) Delivery(ctx context.Context, ws, id, attemptID string) (AttemptDetail, error) {
	return s.a.detail(ctx, ws, id, attemptID)
}

// SendTest is POST .../webhooks/{id}/test with {"event": event}.
func (s *Service) SendTest(ctx context.Context, ws, id, event string) (Attempt, error) {
	return s.a.sendTest(ctx, ws, id, event)
}

// Resend is POST .../webhooks/{id}/deliveries/{attempt}/resend.
func (s *Service) Resend(ctx context.Context, ws, id, attemptID string) (Attempt, error) {
	return s.a.resendAttempt(ctx, ws, id, attemptID)
}
