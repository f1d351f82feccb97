package control

import (
	"cmp"
	"maps"
	"slices"
	"sync"
	"time"
)

// Workspace is an immutable snapshot of one workspace's control entities.
// The Store replaces a workspace's snapshot whenever anything in it
// changes and never modifies a published one, so readers use it without
// locks and may keep it as long as they like. Derived data (compiled
// filters, say) hangs on a snapshot with Derived and is built once per
// snapshot.
//
// Every method is safe for concurrent use and works on a nil *Workspace
// (a workspace with nothing in it).
type Workspace struct {
	id      string
	version int64 // offset of the last record applied to this workspace

	webhooks    map[string]*Webhook
	segments    map[string]*Segment
	personas    map[string]*Persona
	automations map[string]*Automation
	enabled     []Automation    // enabled automations in (CreatedAt, ID) order
	stale       map[string]bool // webhooks whose secret is not sealed with the primary key

	derived sync.Map // key -> *derivedEntry
}

// ID is the workspace id ("" for nil).
func (w *Workspace) ID() string {
	if w == nil {
		return ""
	}
	return w.id
}

// Version is the control-topic offset of the last change to the
// workspace: it grows with every change (0 for nil). Caches keyed by it
// are valid until it changes; Derived does this for you.
func (w *Workspace) Version() int64 {
	if w == nil {
		return 0
	}
	return w.version
}

// Webhook returns the webhook id, enabled or not.
func (w *Workspace) Webhook(id string) (Webhook, bool) {
	if w == nil {
		return Webhook{}, false
	}
	if p := w.webhooks[id]; p != nil {
		return *p, true
	}
	return Webhook{}, false
}

// Segment returns the segment id.
func (w *Workspace) Segment(id string) (Segment, bool) {
	if w == nil {
		return Segment{}, false
	}
	if p := w.segments[id]; p != nil {
		return *p, true
	}
	return Segment{}, false
}

// Persona returns the persona id.
func (w *Workspace) Persona(id string) (Persona, bool) {
	if w == nil {
		return Persona{}, false
	}
	if p := w.personas[id]; p != nil {
		return *p, true
	}
	return Persona{}, false
}

// Automation returns the automation id, enabled or not.
func (w *Workspace) Automation(id string) (Automation, bool) {
	if w == nil {
		return Automation{}, false
	}
	if p := w.automations[id]; p != nil {
		return *p, true
	}
	return Automation{}, false
}

// Automations returns the enabled automations in a stable order
// (CreatedAt, then ID). The slice is shared by every reader: do not
// modify it. It does not allocate.
func (w *Workspace) Automations() []Automation {
	if w == nil {
		return nil
	}
	return w.enabled
}

// ListWebhooks returns every webhook in (CreatedAt, ID) order, in a new slice.
func (w *Workspace) ListWebhooks() []Webhook {
	if w == nil {
		return nil
	}
	return sortedValues(w.webhooks, func(v *Webhook) (time.Time, string) { return v.CreatedAt, v.ID })
}

// ListSegments returns every segment in (CreatedAt, ID) order, in a new slice.
func (w *Workspace) ListSegments() []Segment {
	if w == nil {
		return nil
	}
	return sortedValues(w.segments, func(v *Segment) (time.Time, string) { return v.CreatedAt, v.ID })
}

// ListPersonas returns every persona in (CreatedAt, ID) order, in a new slice.
func (w *Workspace) ListPersonas() []Persona {
	if w == nil {
		return nil
	}
	return sortedValues(w.personas, func(v *Persona) (time.Time, string) { return v.CreatedAt, v.ID })
}

// ListAutomations returns every automation, enabled or not, in
// (CreatedAt, ID) order, in a new slice.
func (w *Workspace) ListAutomations() []Automation {
	if w == nil {
		return nil
	}
	return sortedValues(w.automations, automationOrder)
}

// AutomationsUsing returns the automations (enabled or not) that refer to
// r, in (CreatedAt, ID) order.
func (w *Workspace) AutomationsUsing(r Ref) []Automation {
	var out []Automation
	for _, a := range w.ListAutomations() {
		if a.Uses(r) {
			out = append(out, a)
		}
	}
	return out
}

func (w *Workspace) empty() bool {
	return len(w.webhooks)+len(w.segments)+len(w.personas)+len(w.automations) == 0
}

// Derived returns the value build makes from w, building it at most once
// per workspace snapshot and key: the first caller builds (concurrent
// callers of the same key wait for it), later callers get the cached
// value without locks. A new snapshot (any change to the workspace)
// starts with no derived values, so a cache hung here is never stale.
// Use an unexported key type, as with context values. For a nil w, build
// runs every time.
//
// The evaluate stage compiles a workspace's segment filters this way:
// once per change, not once per lead.
func Derived[T any](w *Workspace, key any, build func(*Workspace) T) T {
	if w == nil {
		return build(nil)
	}
	e, ok := w.derived.Load(key)
	if !ok {
		e, _ = w.derived.LoadOrStore(key, &derivedEntry{})
	}
	d := e.(*derivedEntry)
	d.once.Do(func() { d.v = build(w) })
	v, _ := d.v.(T)
	return v
}

type derivedEntry struct {
	once sync.Once
	v    any
}

// clone returns a copy of w that can be changed (nil: a new workspace).
func (w *Workspace) clone(id string) *Workspace {
	if w == nil {
		return &Workspace{
			id:       id,
			webhooks: map[string]*Webhook{}, segments: map[string]*Segment{},
			personas: map[string]*Persona{}, automations: map[string]*Automation{},
			stale: map[string]bool{},
		}
	}
	return &Workspace{
		id: w.id, version: w.version,
		webhooks: maps.Clone(w.webhooks), segments: maps.Clone(w.segments),
		personas: maps.Clone(w.personas), automations: maps.Clone(w.automations),
		stale: maps.Clone(w.stale),
	}
}

// set applies one change to a workspace being built (e nil: delete r).
func (w *Workspace) set(r Ref, e Entity, fresh bool, offset int64) {
	w.version = max(w.version, offset)
	switch r.Kind {
	case KindWebhook:
		if v, ok := e.(Webhook); ok {
			w.webhooks[r.ID] = &v
		} else {
			delete(w.webhooks, r.ID)
		}
		if e != nil && !fresh {
			w.stale[r.ID] = true
		} else {
			delete(w.stale, r.ID)
		}
	case KindSegment:
		if v, ok := e.(Segment); ok {
			w.segments[r.ID] = &v
		} else {
			delete(w.segments, r.ID)
		}
	case KindPersona:
		if v, ok := e.(Persona); ok {
			w.personas[r.ID] = &v
		} else {
			delete(w.personas, r.ID)
		}
	case KindAutomation:
		if v, ok := e.(Automation); ok {
			w.automations[r.ID] = &v
		} else {
			delete(w.automations, r.ID)
		}
	}
}

// seal finishes a workspace being built: it computes the enabled
// automations. The workspace is immutable afterwards.
func (w *Workspace) seal() {
	w.enabled = w.enabled[:0:0]
	for _, a := range sortedValues(w.automations, automationOrder) {
		if a.Enabled {
			w.enabled = append(w.enabled, a)
		}
	}
}

func automationOrder(a *Automation) (time.Time, string) { return a.CreatedAt, a.ID }

func sortedValues[T any](m map[string]*T, key func(*T) (time.Time, string)) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, *v)
	}
	slices.SortFunc(out, func(a, b T) int {
		ta, ia := key(&a)
		tb, ib := key(&b)
		if c := ta.Compare(tb); c != 0 {
			return c
		}
		return cmp.Compare(ia, ib)
	})
	return out
}
