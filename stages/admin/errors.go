package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Error codes of the admin API, in {"error": {"code": ...}}.
const (
	CodeBadRequest     = "bad_request"   // 400: malformed JSON, not an object, bad path parameter
	CodeUnknownField   = "unknown_field" // 400: a field the route does not take
	CodeUnauthorized   = "unauthorized"  // 401: missing or wrong token, or no token configured
	CodeForbidden      = "forbidden"     // 403: the session's scope does not allow it (another workspace, read only)
	CodeNotFound       = "not_found"     // 404: no such entity or route
	CodeMethod         = "method_not_allowed"
	CodeConflict       = "conflict"          // 409: the entity is still used by automations
	CodeTooLarge       = "body_too_large"    // 413: the body is over the limit
	CodeValidation     = "validation_failed" // 422: fields names every bad field
	CodeInternal       = "internal"          // 500
	CodeNotImplemented = "not_implemented"   // 501: no delivery log / tester in this process
	CodeTestFailed     = "test_failed"       // 502: the test request could not be made
	CodeUnavailable    = "unavailable"       // 503: the control topic did not take the change in time
)

// Error is an error answer: {"error": {"code", "message", "fields"}}.
type Error struct {
	Status  int               `json:"-"`
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// invalid is a 422 naming every bad field.
func invalid(fields map[string]string) *Error {
	names := sortedKeys(fields)
	msg := "invalid " + strings.Join(names, ", ")
	if len(names) == 1 {
		msg = names[0] + " " + fields[names[0]]
	}
	return &Error{Status: http.StatusUnprocessableEntity, Code: CodeValidation, Message: msg, Fields: fields}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// WriteError answers e as the API does: {"error": {...}} with its status.
func WriteError(w http.ResponseWriter, e *Error) { writeError(w, e) }

func writeError(w http.ResponseWriter, e *Error) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="leadflow admin"`)
	}
	writeJSON(w, e.Status, struct {
		Error *Error `json:"error"`
	}{e})
}
