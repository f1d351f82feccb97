package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of entity fields, checked by Validate.
const (
	// MaxIDLen bounds workspace and entity ids.
	MaxIDLen = 128
	// MaxNameLen bounds names, in characters.
	MaxNameLen = 200
	// MaxURLLen bounds webhook URLs, in bytes.
	MaxURLLen = 2048
	// MaxSecretLen bounds webhook secrets, in bytes.
	MaxSecretLen = 512
	// MaxReasonLen bounds Webhook.DisabledReason, in bytes (longer
	// reasons are cut by DisableWebhook).
	MaxReasonLen = 500
	// MaxFilterBytes bounds a segment's filter JSON. It keeps every
	// control record well under Kafka's default 1 MB record limit.
	MaxFilterBytes = 64 << 10
	// MaxPersonaValues bounds each list of a persona.
	MaxPersonaValues = 100
	// MaxPersonaValueLen bounds each entry of a persona's lists, in characters.
	MaxPersonaValueLen = 200
	// MaxRevealLimit is the largest Action.RevealLimit.
	MaxRevealLimit = 1000
	// MaxActionWebhooks bounds Action.WebhookIDs.
	MaxActionWebhooks = 20
)

// ErrInvalid is wrapped by every *InvalidError.
var ErrInvalid = errors.New("control: invalid entity")

// InvalidError says what is wrong with an entity, field by field. Fields
// maps a JSON path of the admin API's form ("url", "action.webhook_ids[1]")
// to a message ("must be an absolute http(s) URL").
type InvalidError struct {
	Kind   Kind
	Fields map[string]string
}

func (e *InvalidError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "invalid %s:", e.Kind)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, " %s: %s", k, e.Fields[k])
	}
	return b.String()
}

// Unwrap makes every InvalidError match ErrInvalid.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// fieldErrs collects field errors for one entity.
type fieldErrs struct {
	kind   Kind
	fields map[string]string
}

func (f *fieldErrs) add(field, msg string) {
	if f.fields == nil {
		f.fields = map[string]string{}
	}
	if _, ok := f.fields[field]; !ok { // the first problem of a field is the one to fix first
		f.fields[field] = msg
	}
}

func (f *fieldErrs) err() error {
	if len(f.fields) == 0 {
		return nil
	}
	return &InvalidError{Kind: f.kind, Fields: f.fields}
}

// ValidWorkspaceID reports why ws is not a valid workspace id, or "".
// Valid ids are 1 to MaxIDLen characters of A-Z a-z 0-9 _ . - (no "/": it
// separates the parts of record keys).
func ValidWorkspaceID(ws string) string { return validID(ws, "") }

func validID(id, prefix string) string {
	if id == "" {
		return "is required"
	}
	if len(id) > MaxIDLen {
		return fmt.Sprintf("must be at most %d characters", MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return "may hold only letters, digits, '_', '.' and '-'"
		}
	}
	if !strings.HasPrefix(id, prefix) || len(id) == len(prefix) && prefix != "" {
		return fmt.Sprintf("must be an id starting with %q", prefix)
	}
	return ""
}

func (f *fieldErrs) id(field, id string, kind Kind) {
	if msg := validID(id, kind.IDPrefix()); msg != "" {
		f.add(field, msg)
	}
}

func (f *fieldErrs) common(id string, kind Kind, ws, name string) {
	f.id("id", id, kind)
	if msg := ValidWorkspaceID(ws); msg != "" {
		f.add("workspace_id", msg)
	}
	if msg := validName(name); msg != "" {
		f.add("name", msg)
	}
}

func validName(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "must not be empty"
	case !utf8.ValidString(name):
		return "must be valid UTF-8"
	case utf8.RuneCountInString(name) > MaxNameLen:
		return fmt.Sprintf("must be at most %d characters", MaxNameLen)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "must not contain control characters"
	}
	return ""
}

// ValidURL reports why raw is not a usable webhook URL, or "": it must be
// an absolute http or https URL with a host, without user info, at most
// MaxURLLen bytes. It does not resolve the host (see IsPublicAddr).
func ValidURL(raw string) string {
	const msg = "must be an absolute http(s) URL"
	if raw == "" {
		return "is required"
	}
	if len(raw) > MaxURLLen {
		return fmt.Sprintf("must be at most %d bytes", MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return msg
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return msg
	}
	if u.User != nil {
		return "must not contain user info (user:password@); use the webhook secret to authenticate"
	}
	if u.Hostname() == "" {
		return msg + " with a host"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "has an invalid port"
		}
	}
	return ""
}

// Validate checks w's own fields.
func (w Webhook) Validate() error {
	f := fieldErrs{kind: KindWebhook}
	f.common(w.ID, KindWebhook, w.WorkspaceID, w.Name)
	if msg := ValidURL(w.URL); msg != "" {
		f.add("url", msg)
	}
	if len(w.Secret.v) > MaxSecretLen {
		f.add("secret", fmt.Sprintf("must be at most %d bytes", MaxSecretLen))
	}
	if w.MaxSubjects < 1 || w.MaxSubjects > MaxSubjectsLimit {
		f.add("max_subjects", fmt.Sprintf("must be between 1 and %d", MaxSubjectsLimit))
	}
	if w.MaxInFlight < 0 || w.MaxInFlight > MaxInFlightLimit {
		f.add("max_in_flight", fmt.Sprintf("must be between 0 (the deliver stage's max_in_flight) and %d", MaxInFlightLimit))
	}
	if !(w.RateLimit >= 0 && w.RateLimit <= RateLimitLimit) { // also refuses NaN
		f.add("rate_limit", fmt.Sprintf("must be between 0 (the deliver stage's rate_limit) and %g requests per second", float64(RateLimitLimit)))
	}
	if len(w.DisabledReason) > MaxReasonLen {
		f.add("disabled_reason", fmt.Sprintf("must be at most %d bytes", MaxReasonLen))
	}
	return f.err()
}

// Validate checks s's own fields: the filter must be a JSON object of at
// most MaxFilterBytes (its contents are checked by the filter compiler).
func (s Segment) Validate() error {
	f := fieldErrs{kind: KindSegment}
	f.common(s.ID, KindSegment, s.WorkspaceID, s.Name)
	switch {
	case len(s.Filter) == 0:
		f.add("filter", "is required")
	case len(s.Filter) > MaxFilterBytes:
		f.add("filter", fmt.Sprintf("must be at most %d bytes of JSON", MaxFilterBytes))
	case !json.Valid(s.Filter) || !bytes.HasPrefix(bytes.TrimSpace(s.Filter), []byte("{")):
		f.add("filter", "must be a JSON object")
	}
	return f.err()
}

// Validate checks p's own fields: at most MaxPersonaValues entries per
// list; job titles free text, seniorities and departments lower-case codes
// (a-z, 0-9, _), countries ISO 3166-1 alpha-2 codes in upper case.
func (p Persona) Validate() error {
	f := fieldErrs{kind: KindPersona}
	f.common(p.ID, KindPersona, p.WorkspaceID, p.Name)
	lists := []struct {
		field string
		vals  []string
		check func(string) string
	}{
		{"job_titles", p.JobTitles, validName},
		{"seniorities", p.Seniorities, validCode},
		{"departments", p.Departments, validCode},
		{"countries", p.Countries, validCountry},
	}
	for _, l := range lists {
		if len(l.vals) > MaxPersonaValues {
			f.add(l.field, fmt.Sprintf("must have at most %d entries", MaxPersonaValues))
			continue
		}
		for i, v := range l.vals {
			msg := l.check(v)
			if msg == "" && utf8.RuneCountInString(v) > MaxPersonaValueLen {
				msg = fmt.Sprintf("must be at most %d characters", MaxPersonaValueLen)
			}
			if msg != "" {
				f.add(fmt.Sprintf("%s[%d]", l.field, i), msg)
			}
		}
	}
	return f.err()
}

func validCode(s string) string {
	if s == "" {
		return "must not be empty"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return "must be a lower-case code of a-z, 0-9 and _ (e.g. \"vp\", \"c_level\", \"sales\")"
		}
	}
	return ""
}

func validCountry(s string) string {
	if len(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		return "must be an ISO 3166-1 alpha-2 country code (e.g. \"FI\")"
	}
	return ""
}

// Validate checks a's own fields and the form of its references (not
// that the referenced entities exist).
func (a Automation) Validate() error {
	f := fieldErrs{kind: KindAutomation}
	f.common(a.ID, KindAutomation, a.WorkspaceID, a.Name)
	switch a.Trigger {
	case TriggerNewLead, TriggerNewSession:
	case "":
		f.add("trigger", "is required: new_lead or new_session")
	default:
		f.add("trigger", "must be new_lead or new_session")
	}
	if a.SegmentID != "" {
		f.id("segment_id", a.SegmentID, KindSegment)
	}
	act := a.Action
	switch act.Type {
	case ActionWebhook:
		f.id("action.webhook_id", act.WebhookID, KindWebhook)
		if act.PersonaID != "" {
			f.add("action.persona_id", "is only for reveal_contacts actions")
		}
		if act.RevealLimit != 0 {
			f.add("action.reveal_limit", "is only for reveal_contacts actions")
		}
		if len(act.WebhookIDs) > 0 {
			f.add("action.webhook_ids", "is only for reveal_contacts actions (a webhook action has webhook_id)")
		}
	case ActionRevealContacts:
		f.id("action.persona_id", act.PersonaID, KindPersona)
		if act.RevealLimit < 0 || act.RevealLimit > MaxRevealLimit {
			f.add("action.reveal_limit", fmt.Sprintf("must be between 1 and %d, or null for no limit", MaxRevealLimit))
		}
		if act.WebhookID != "" {
			f.add("action.webhook_id", "is only for webhook actions (reveal_contacts has webhook_ids)")
		}
		switch {
		case len(act.WebhookIDs) == 0:
			f.add("action.webhook_ids", "must list at least one webhook")
		case len(act.WebhookIDs) > MaxActionWebhooks:
			f.add("action.webhook_ids", fmt.Sprintf("must list at most %d webhooks", MaxActionWebhooks))
		}
		for i, id := range act.WebhookIDs {
			field := fmt.Sprintf("action.webhook_ids[%d]", i)
			f.id(field, id, KindWebhook)
			if slices.Index(act.WebhookIDs, id) < i {
				f.add(field, "is listed twice")
			}
		}
	case "":
		f.add("action.type", "is required: webhook or reveal_contacts")
	default:
		f.add("action.type", "must be webhook or reveal_contacts")
	}
	return f.err()
}
