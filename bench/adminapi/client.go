// Package adminapi is a small client of leadflow's admin API (DESIGN 1.4)
// for what the benchmark and the demo set up: webhooks, segments,
// personas and automations of a workspace. It speaks only the documented
// HTTP contract, so it works the same against a pipeline in the same
// process and against a `leadflow run` elsewhere.
package adminapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/goccy/go-json"
)

// ErrUnavailable is wrapped by errors for a route the server does not
// have (404 without an API error body: an admin API not built into, or not
// enabled in, that process).
var ErrUnavailable = errors.New("admin API route not available")

// Error is an API error answer: {"error": {"code", "message", "fields"}}.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code and Message are the answer's error code and message.
	Code, Message string
	// Fields maps a field path to what is wrong with it.
	Fields map[string]string
	// Route is the request, e.g. "POST /v1/workspaces/ws_1/webhooks".
	Route string
}

// Error returns e.g. "POST /v1/...: 422 invalid: url: must be an absolute http(s) URL".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d", e.Route, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	for k, v := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", k, v)
	}
	return b.String()
}

// Client calls the admin API. It is safe for concurrent use.
type Client struct {
	base  string
	token string
	http  *http.Client
	// retries is how many times a request is retried on a connection
	// error or a 503 (the server starting up).
	retries int
}

// New returns a client for the API at base (e.g. "http://127.0.0.1:8080")
// with a bearer token. httpClient may be nil (a client with a 30 s
// timeout is used).
func New(base, token string, httpClient *http.Client) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("adminapi: base URL %q must be an absolute http(s) URL", base)
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: strings.TrimRight(base, "/"), token: token, http: httpClient, retries: 5}, nil
}

// Webhook is a webhook to create.
type Webhook struct {
	URL         string `json:"url"`
	Name        string `json:"name"`
	Secret      string `json:"secret,omitempty"`
	MaxSubjects int    `json:"max_subjects,omitempty"`
}

// Segment is a segment to create; Filter is a FILTER tree (DESIGN 1.4).
type Segment struct {
	Name   string `json:"name"`
	Filter any    `json:"filter"`
}

// Persona is a persona to create.
type Persona struct {
	Name        string   `json:"name"`
	JobTitles   []string `json:"job_titles"`
	Seniorities []string `json:"seniorities"`
	Departments []string `json:"departments"`
	Countries   []string `json:"countries"`
}

// Automation is an automation to create.
type Automation struct {
	Name      string `json:"name"`
	Trigger   string `json:"trigger"`
	SegmentID string `json:"segment_id,omitempty"`
	Action    Action `json:"action"`
}

// Action is an automation's action: {"type": "webhook", "webhook_id"} or
// {"type": "reveal_contacts", "persona_id", "reveal_limit", "webhook_ids"}.
type Action struct {
	Type        string   `json:"type"`
	WebhookID   string   `json:"webhook_id,omitempty"`
	PersonaID   string   `json:"persona_id,omitempty"`
	RevealLimit int      `json:"reveal_limit,omitempty"`
	WebhookIDs  []string `json:"webhook_ids,omitempty"`
}

// Action types.
const (
	ActionWebhook        = "webhook"
	ActionRevealContacts = "reveal_contacts"
)

// CreateWebhook creates a webhook in workspace ws and returns its id.
func (c *Client) CreateWebhook(ctx context.Context, ws string, w Webhook) (string, error) {
	return c.create(ctx, ws, "webhooks", w)
}

// CreateSegment creates a segment and returns its id.
func (c *Client) CreateSegment(ctx context.Context, ws string, s Segment) (string, error) {
	return c.create(ctx, ws, "segments", s)
}

// CreatePersona creates a persona and returns its id.
func (c *Client) CreatePersona(ctx context.Context, ws string, p Persona) (string, error) {
	return c.create(ctx, ws, "personas", p)
}

// CreateAutomation creates an automation and returns its id.
func (c *Client) CreateAutomation(ctx context.Context, ws string, a Automation) (string, error) {
	return c.create(ctx, ws, "automations", a)
}

// create POSTs body to /v1/workspaces/{ws}/{kind} and returns the "id" of
// the 201 answer.
func (c *Client) create(ctx context.Context, ws, kind string, body any) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	path := "/v1/workspaces/" + url.PathEscape(ws) + "/" + kind
	if err := c.Do(ctx, http.MethodPost, path, body, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", fmt.Errorf("adminapi: POST %s: answer has no id", path)
	}
	return out.ID, nil
}

// Do sends a request with a JSON body (nil for none) and decodes a 2xx
// JSON answer into out (nil to ignore it). Connection errors and 503 are
// retried with backoff; other failures return an *Error (or wrap
// ErrUnavailable for a route the server lacks).
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return fmt.Errorf("adminapi: encoding %s %s: %w", method, path, err)
		}
	}
	route := method + " " + path
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := c.once(ctx, method, path, data, out)
		var apiErr *Error
		retry := err != nil && ctx.Err() == nil && attempt < c.retries &&
			(!errors.As(err, &apiErr) || apiErr.Status == http.StatusServiceUnavailable) && !errors.Is(err, ErrUnavailable)
		if !retry {
			if err != nil && !errors.As(err, &apiErr) && !errors.Is(err, ErrUnavailable) {
				err = fmt.Errorf("adminapi: %s: %w", route, err)
			}
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("adminapi: %s: %w", route, ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

func (c *Client) once(ctx context.Context, method, path string, data []byte, out any) error {
	var rd io.Reader
	if data != nil {
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if data != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	route := method + " " + path
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Error *struct {
				Code    string            `json:"code"`
				Message string            `json:"message"`
				Fields  map[string]string `json:"fields"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &e) != nil || e.Error == nil {
			if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
				return fmt.Errorf("adminapi: %s: %d: %w (is the admin stage running in that process?)", route, resp.StatusCode, ErrUnavailable)
			}
			return &Error{Status: resp.StatusCode, Message: strings.TrimSpace(string(raw[:min(len(raw), 200)])), Route: route}
		}
		return &Error{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message, Fields: e.Error.Fields, Route: route}
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decoding the answer: %w", err)
		}
	}
	return nil
}
