package control

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
)

// Kind is the kind of a control entity. It is the first part of the
// entity's record key in the control topic.
type Kind string

// The kinds of control entities.
const (
	KindWebhook    Kind = "webhook"
	KindSegment    Kind = "segment"
	KindPersona    Kind = "persona"
	KindAutomation Kind = "automation"
)

// IDPrefix is the prefix of the ids of k's entities ("wh_", "seg_", "per_",
// "aut_"), or "" for an unknown kind.
func (k Kind) IDPrefix() string {
	switch k {
	case KindWebhook:
		return "wh_"
	case KindSegment:
		return "seg_"
	case KindPersona:
		return "per_"
	case KindAutomation:
		return "aut_"
	}
	return ""
}

// Ref names one entity: its kind, workspace and id. Its record key in the
// control topic is KIND/WORKSPACE/ID (Key).
type Ref struct {
	Kind      Kind
	Workspace string
	ID        string
}

// Key is r's record key in the control topic: "KIND/WORKSPACE/ID".
func (r Ref) Key() string { return string(r.Kind) + "/" + r.Workspace + "/" + r.ID }

func (r Ref) String() string { return r.Key() }

// Entity is one of Webhook, Segment, Persona and Automation: what Store.Put
// writes. The interface is closed: only this package implements it.
type Entity interface {
	// Ref names the entity.
	Ref() Ref
	// Validate checks the entity's own fields (not references to other
	// entities); it returns an *InvalidError naming every bad field.
	Validate() error
	stamp(now time.Time) Entity
}

// idEncoding is lower-case base32 without padding: ids stay URL- and
// key-safe and case-insensitive.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a new random id for an entity of kind k: its prefix and 20
// characters (96 random bits), e.g. "wh_k2j4n5b6c7d8e9f0g1h2".
func NewID(k Kind) string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return k.IDPrefix() + idEncoding.EncodeToString(b[:])
}

// Webhook is an endpoint of a workspace that receives webhook requests
// (DESIGN 1.3): Integrations → Webhooks in the dashboard.
//
// Its Secret never leaves the process through formatting, logging or
// JSON: String, Format, MarshalLogObject and MarshalJSON leave it out
// (MarshalJSON is the admin API's form, with "has_secret"). Only
// Secret.Reveal returns it, for signing.
type Webhook struct {
	// ID is "wh_" and 20 characters (NewID).
	ID string
	// WorkspaceID is the workspace the webhook belongs to.
	WorkspaceID string
	// URL is the absolute http(s) URL requests are POSTed to.
	URL string
	// Name is the user's label, 1 to MaxNameLen characters.
	Name string
	// Secret signs the requests (Signature and webhook-signature
	// headers). Zero: unsigned requests.
	Secret Secret
	// MaxSubjects is the most subjects one request carries, between 1 and
	// MaxSubjectsLimit. Default DefaultMaxSubjects.
	MaxSubjects int
	// LegacyEventNames sends "contacts.revealed" instead of
	// "contact_revealed" as the event name. Default false.
	LegacyEventNames bool
	// Per-webhook delivery limits (issue 15). Each 0 means the deliver
	// stage's setting of the same name.
	//
	// MaxInFlight is the most requests in flight to the webhook at once,
	// 0 to MaxInFlightLimit; the deliver stage lowers it to its
	// max_in_flight_cap. Default 0.
	MaxInFlight int
	// RateLimit bounds requests per second to the webhook, 0 to
	// RateLimitLimit (fractions allowed: 0.5 is one request every 2 s).
	// Default 0.
	RateLimit float64
	// Enabled is false when the user paused the webhook or the deliver
	// stage disabled it (HTTP 410); nothing is delivered to it then.
	// Default true.
	Enabled bool
	// DisabledReason says why the webhook was disabled ("" when enabled
	// or paused by the user).
	DisabledReason string
	// Secret rotation (POST .../webhooks/{id}/secret/rotate, Rotate).
	// PreviousSecret is the secret before the last rotation: requests are
	// signed with it as well as with Secret until PreviousSecretExpires,
	// so that receivers can switch without a gap (SigningSecrets). Zero:
	// none. Setting Secret any other way (PATCH) drops it.
	PreviousSecret Secret
	// PreviousSecretExpires is when PreviousSecret stops signing
	// (rotation time + overlap, admin.secret_rotation_overlap, default 24h).
	PreviousSecretExpires time.Time

	// CreatedAt and UpdatedAt are set by the writer; Store.Put fills zero
	// values with its clock.
	CreatedAt time.Time
	// UpdatedAt is when the webhook last changed.
	UpdatedAt time.Time
}

// Defaults and limits of webhooks.
const (
	// DefaultMaxSubjects is Webhook.MaxSubjects when the user gives none.
	DefaultMaxSubjects = 100
	// MaxSubjectsLimit is the largest Webhook.MaxSubjects.
	MaxSubjectsLimit = 1000
	// MaxInFlightLimit is the largest Webhook.MaxInFlight.
	MaxInFlightLimit = 1000
	// RateLimitLimit is the largest Webhook.RateLimit, requests per second.
	RateLimitLimit = 1e6
)

// Ref names w.
func (w Webhook) Ref() Ref { return Ref{KindWebhook, w.WorkspaceID, w.ID} }

// SigningSecrets returns the secrets that sign w's requests at now: its
// Secret, and its PreviousSecret while the rotation overlap lasts (zero
// after PreviousSecretExpires).
func (w Webhook) SigningSecrets(now time.Time) (current, previous Secret) {
	if !w.PreviousSecret.IsZero() && now.Before(w.PreviousSecretExpires) {
		previous = w.PreviousSecret
	}
	return w.Secret, previous
}

// Rotate returns w with next as its secret and its current secret kept as
// PreviousSecret until now + overlap (DESIGN 1.3 rotation; see
// SigningSecrets). With overlap <= 0, or when w had no secret, there is no
// previous secret. A previous secret of an earlier rotation is dropped.
func (w Webhook) Rotate(next Secret, now time.Time, overlap time.Duration) Webhook {
	w.PreviousSecret, w.PreviousSecretExpires = Secret{}, time.Time{}
	if overlap > 0 && !w.Secret.IsZero() && !w.Secret.Equal(next) {
		w.PreviousSecret = w.Secret
		w.PreviousSecretExpires = now.UTC().Add(overlap).Truncate(time.Second)
	}
	w.Secret = next
	w.UpdatedAt = time.Time{}
	return w
}

func (w Webhook) stamp(now time.Time) Entity {
	w.CreatedAt, w.UpdatedAt = stampTimes(w.CreatedAt, w.UpdatedAt, now)
	return w
}

// String describes w without its secret and with only the host of its URL
// (webhook URLs often carry a capability token in the path).
func (w Webhook) String() string {
	return "webhook " + w.WorkspaceID + "/" + w.ID + " (" + urlHost(w.URL) + ")"
}

// GoString is String, so that %#v does not print the URL either.
func (w Webhook) GoString() string { return w.String() }

// Format writes String whatever the verb, so that no fmt verb prints the
// secret or the full URL.
func (w Webhook) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, w.String()) }

// MarshalLogObject logs w without its secret and with only the host of
// its URL, for zap.Object.
func (w Webhook) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("id", w.ID)
	enc.AddString("workspace_id", w.WorkspaceID)
	enc.AddString("url_host", urlHost(w.URL))
	enc.AddBool("has_secret", !w.Secret.IsZero())
	enc.AddBool("enabled", w.Enabled)
	return nil
}

// webhookJSON is the admin API's form of a Webhook.
type webhookJSON struct {
	ID               string  `json:"id"`
	WorkspaceID      string  `json:"workspace_id"`
	URL              string  `json:"url"`
	Name             string  `json:"name"`
	HasSecret        bool    `json:"has_secret"`
	MaxSubjects      int     `json:"max_subjects"`
	LegacyEventNames bool    `json:"legacy_event_names"`
	MaxInFlight      int     `json:"max_in_flight"`
	RateLimit        float64 `json:"rate_limit"`
	Enabled          bool    `json:"enabled"`
	DisabledReason   *string `json:"disabled_reason"`
	// PreviousSecretExpiresAt is set while a rotated-out secret still
	// signs (has_previous_secret then true).
	HasPreviousSecret       bool       `json:"has_previous_secret"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
}

func (w Webhook) apiJSON() webhookJSON {
	j := webhookJSON{
		ID: w.ID, WorkspaceID: w.WorkspaceID, URL: w.URL, Name: w.Name,
		HasSecret: !w.Secret.IsZero(), MaxSubjects: w.MaxSubjects, LegacyEventNames: w.LegacyEventNames,
		MaxInFlight: w.MaxInFlight, RateLimit: w.RateLimit,
		Enabled: w.Enabled, DisabledReason: nullString(w.DisabledReason),
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt,
	}
	if !w.PreviousSecret.IsZero() {
		t := w.PreviousSecretExpires
		j.HasPreviousSecret, j.PreviousSecretExpiresAt = true, &t
	}
	return j
}

// MarshalJSON is the admin API's form of w: "has_secret" instead of the
// secret, "disabled_reason" null when empty.
func (w Webhook) MarshalJSON() ([]byte, error) { return marshal(w.apiJSON()) }

// Segment is a named filter over leads (DESIGN 1.4 FILTER). The control
// plane stores the filter as the user wrote it; consumers compile it
// (once per change: see Derived).
type Segment struct {
	// ID is "seg_" and 20 characters.
	ID string `json:"id"`
	// WorkspaceID is the workspace the segment belongs to.
	WorkspaceID string `json:"workspace_id"`
	// Name is the user's label.
	Name string `json:"name"`
	// Filter is the filter tree, a JSON object of at most MaxFilterBytes.
	// Shared: do not modify it.
	Filter json.RawMessage `json:"filter"`
	// CreatedAt is when the segment was created.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when it last changed.
	UpdatedAt time.Time `json:"updated_at"`
}

// Ref names s.
func (s Segment) Ref() Ref { return Ref{KindSegment, s.WorkspaceID, s.ID} }

func (s Segment) stamp(now time.Time) Entity {
	s.CreatedAt, s.UpdatedAt = stampTimes(s.CreatedAt, s.UpdatedAt, now)
	return s
}

// Persona picks the contacts a reveal_contacts action reveals. A contact
// fits when, for every non-empty list, it matches one entry of the list;
// a persona with every list empty fits every contact. The slices are
// shared between readers: do not modify them.
type Persona struct {
	// ID is "per_" and 20 characters.
	ID string `json:"id"`
	// WorkspaceID is the workspace the persona belongs to.
	WorkspaceID string `json:"workspace_id"`
	// Name is the user's label.
	Name string `json:"name"`
	// JobTitles are free-text titles (e.g. "VP, Sales").
	JobTitles []string `json:"job_titles"`
	// Seniorities are lower-case seniority codes (e.g. "vp", "c_level").
	Seniorities []string `json:"seniorities"`
	// Departments are lower-case department codes (e.g. "sales").
	Departments []string `json:"departments"`
	// Countries are ISO 3166-1 alpha-2 codes in upper case (e.g. "GB").
	Countries []string `json:"countries"`
	// CreatedAt is when the persona was created.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when it last changed.
	UpdatedAt time.Time `json:"updated_at"`
}

// Ref names p.
func (p Persona) Ref() Ref { return Ref{KindPersona, p.WorkspaceID, p.ID} }

func (p Persona) stamp(now time.Time) Entity {
	p.CreatedAt, p.UpdatedAt = stampTimes(p.CreatedAt, p.UpdatedAt, now)
	return p
}

// MarshalJSON writes empty lists as [] rather than null.
func (p Persona) MarshalJSON() ([]byte, error) {
	type plain Persona
	q := plain(p)
	for _, l := range []*[]string{&q.JobTitles, &q.Seniorities, &q.Departments, &q.Countries} {
		if *l == nil {
			*l = []string{}
		}
	}
	return marshal(q)
}

// Trigger is the event that runs an automation.
type Trigger string

// The triggers (DESIGN 1.5).
const (
	// TriggerNewLead fires once per (automation, lead), the first time the
	// lead matches the segment.
	TriggerNewLead Trigger = "new_lead"
	// TriggerNewSession fires once per (automation, session), the first
	// time the session (with its lead) matches the segment.
	TriggerNewSession Trigger = "new_session"
)

// ActionType is what an automation does when it fires.
type ActionType string

// The action types.
const (
	// ActionWebhook sends the lead to one webhook (event = the trigger).
	ActionWebhook ActionType = "webhook"
	// ActionRevealContacts reveals contacts of the lead's company that fit
	// a persona and sends each as a contact_revealed subject to webhooks.
	ActionRevealContacts ActionType = "reveal_contacts"
)

// Automation runs an action when its trigger fires for a lead in its
// segment (Automations in the dashboard).
type Automation struct {
	// ID is "aut_" and 20 characters.
	ID string `json:"id"`
	// WorkspaceID is the workspace the automation belongs to.
	WorkspaceID string `json:"workspace_id"`
	// Name is the user's label.
	Name string `json:"name"`
	// Trigger is new_lead or new_session.
	Trigger Trigger `json:"trigger"`
	// SegmentID is the segment leads must match; "" means every lead. A
	// SegmentID whose segment no longer exists matches no lead.
	SegmentID string `json:"-"`
	// Action is what happens when the automation fires.
	Action Action `json:"action"`
	// Enabled automations run; disabled ones are kept but do nothing.
	// Default true.
	Enabled bool `json:"enabled"`
	// CreatedAt is when the automation was created; automations run in
	// (CreatedAt, ID) order.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when it last changed.
	UpdatedAt time.Time `json:"updated_at"`
}

// Ref names a.
func (a Automation) Ref() Ref { return Ref{KindAutomation, a.WorkspaceID, a.ID} }

func (a Automation) stamp(now time.Time) Entity {
	a.CreatedAt, a.UpdatedAt = stampTimes(a.CreatedAt, a.UpdatedAt, now)
	return a
}

// Uses reports whether a refers to the entity r (its segment, persona or
// one of its webhooks) in the same workspace.
func (a Automation) Uses(r Ref) bool {
	if r.Workspace != a.WorkspaceID {
		return false
	}
	switch r.Kind {
	case KindSegment:
		return a.SegmentID == r.ID
	case KindPersona:
		return a.Action.Type == ActionRevealContacts && a.Action.PersonaID == r.ID
	case KindWebhook:
		return a.Action.Webhooks(func(id string) bool { return id == r.ID })
	}
	return false
}

// MarshalJSON writes segment_id as null when the automation has none.
func (a Automation) MarshalJSON() ([]byte, error) {
	type plain Automation
	return marshal(struct {
		plain
		SegmentID *string `json:"segment_id"`
	}{plain(a), nullString(a.SegmentID)})
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (a *Automation) UnmarshalJSON(data []byte) error {
	type plain Automation
	var v struct {
		plain
		SegmentID *string `json:"segment_id"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*a = Automation(v.plain)
	if v.SegmentID != nil {
		a.SegmentID = *v.SegmentID
	}
	return nil
}

// Action is what an automation does. Which fields are set depends on Type.
type Action struct {
	// Type is webhook or reveal_contacts.
	Type ActionType
	// WebhookID is the webhook a "webhook" action sends the lead to.
	WebhookID string
	// PersonaID is the persona a "reveal_contacts" action reveals.
	PersonaID string
	// RevealLimit is the most contacts a "reveal_contacts" action reveals
	// per company; 0 means no limit. At most MaxRevealLimit.
	RevealLimit int
	// WebhookIDs are the webhooks a "reveal_contacts" action sends each
	// revealed contact to (1 to MaxActionWebhooks). Shared: do not modify.
	WebhookIDs []string
}

// Webhooks calls fn with every webhook id the action sends to, until fn
// returns true; it reports whether fn did.
func (a Action) Webhooks(fn func(id string) bool) bool {
	switch a.Type {
	case ActionWebhook:
		return a.WebhookID != "" && fn(a.WebhookID)
	case ActionRevealContacts:
		for _, id := range a.WebhookIDs {
			if fn(id) {
				return true
			}
		}
	}
	return false
}

type actionWebhookJSON struct {
	Type      ActionType `json:"type"`
	WebhookID string     `json:"webhook_id"`
}

type actionRevealJSON struct {
	Type        ActionType `json:"type"`
	PersonaID   string     `json:"persona_id"`
	RevealLimit *int       `json:"reveal_limit"`
	WebhookIDs  []string   `json:"webhook_ids"`
}

// MarshalJSON writes only the fields of a's type: {"type": "webhook",
// "webhook_id"} or {"type": "reveal_contacts", "persona_id",
// "reveal_limit" (null: no limit), "webhook_ids"}.
func (a Action) MarshalJSON() ([]byte, error) {
	switch a.Type {
	case ActionWebhook:
		return marshal(actionWebhookJSON{a.Type, a.WebhookID})
	case ActionRevealContacts:
		v := actionRevealJSON{Type: a.Type, PersonaID: a.PersonaID, WebhookIDs: a.WebhookIDs}
		if a.RevealLimit > 0 {
			v.RevealLimit = &a.RevealLimit
		}
		if v.WebhookIDs == nil {
			v.WebhookIDs = []string{}
		}
		return marshal(v)
	}
	return marshal(struct {
		Type ActionType `json:"type"`
	}{a.Type})
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (a *Action) UnmarshalJSON(data []byte) error {
	var v struct {
		Type        ActionType `json:"type"`
		WebhookID   string     `json:"webhook_id"`
		PersonaID   string     `json:"persona_id"`
		RevealLimit *int       `json:"reveal_limit"`
		WebhookIDs  []string   `json:"webhook_ids"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*a = Action{Type: v.Type, WebhookID: v.WebhookID, PersonaID: v.PersonaID, WebhookIDs: v.WebhookIDs}
	if v.RevealLimit != nil {
		a.RevealLimit = *v.RevealLimit
	}
	return nil
}

// marshal is json.Marshal without HTML escaping: URLs keep their "&".
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func stampTimes(created, updated, now time.Time) (time.Time, time.Time) {
	now = now.UTC().Truncate(time.Microsecond)
	if created.IsZero() {
		created = now
	}
	if updated.IsZero() {
		updated = now
	}
	return created.UTC(), updated.UTC()
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// urlHost is the host of a URL for logs, or "?" when it has none.
func urlHost(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "?"
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if rest == "" {
		return "?"
	}
	return rest
}
