package evaluate

import (
	"fmt"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/leadflow/leadflow/stages/control"
	"github.com/leadflow/leadflow/stages/evaluate/filter"
)

// Control is the evaluate stage's view of the control plane. Lookups must
// be cheap and safe for concurrent use (the control Store serves them from
// an immutable snapshot).
type Control interface {
	// Automations returns the automations of ws in run order.
	Automations(ws string) []control.Automation
	// Segment returns a segment of ws.
	Segment(ws, id string) (control.Segment, bool)
	// Persona returns a persona of ws.
	Persona(ws, id string) (control.Persona, bool)
	// Webhook returns a webhook of ws.
	Webhook(ws, id string) (control.Webhook, bool)
	// Version changes whenever anything in the control plane changes.
	Version() uint64
}

// rule is an enabled automation, compiled.
type rule struct {
	auto    control.Automation
	filter  *filter.Filter // nil: every lead
	never   bool           // the segment is gone or invalid: matches no lead
	persona persona        // reveal_contacts only
	// version is the control version the rule was compiled at: a
	// segment's result cached for it (missCache) holds for that version.
	version uint64
}

// rules caches the compiled automations of each workspace for one control
// version; a new version drops the cache and workspaces recompile lazily.
type rules struct {
	ctl Control
	log *zap.Logger

	cur atomic.Pointer[ruleCache]
	mu  sync.Mutex // serialises compiles
}

type ruleCache struct {
	version uint64
	byWS    sync.Map // workspace -> []rule
}

// of returns the compiled rules of workspace ws.
func (r *rules) of(ws string) []rule {
	v := r.ctl.Version()
	c := r.cur.Load()
	if c == nil || c.version != v {
		r.mu.Lock()
		if c = r.cur.Load(); c == nil || c.version != v {
			c = &ruleCache{version: v}
			r.cur.Store(c)
		}
		r.mu.Unlock()
	}
	if got, ok := c.byWS.Load(ws); ok {
		return got.([]rule)
	}
	compiled := r.compile(ws)
	for i := range compiled {
		compiled[i].version = c.version
	}
	c.byWS.Store(ws, compiled)
	return compiled
}

func (r *rules) compile(ws string) []rule {
	var out []rule
	for _, a := range r.ctl.Automations(ws) {
		if !a.Enabled {
			continue
		}
		ru := rule{auto: a}
		if a.SegmentID != "" {
			seg, ok := r.ctl.Segment(ws, a.SegmentID)
			if !ok {
				ru.never = true
			} else if f, err := filter.Compile(seg.Filter); err != nil {
				// The admin API validates filters, so this is a filter
				// written by an older version: it matches nothing.
				r.log.Warn("segment filter does not compile; its automations match no lead",
					zap.String("workspace", ws), zap.String("segment", seg.ID), zap.Error(err))
				ru.never = true
			} else {
				ru.filter = f
			}
		}
		if a.Action.Type == control.ActionRevealContacts {
			p, ok := r.ctl.Persona(ws, a.Action.PersonaID)
			if !ok {
				ru.never = true
			} else {
				ru.persona = compilePersona(p.JobTitles, p.Seniorities, p.Departments, p.Countries)
			}
		}
		out = append(out, ru)
	}
	return out
}

func (ru *rule) String() string {
	return fmt.Sprintf("automation %s (%s)", ru.auto.ID, ru.auto.Trigger)
}
