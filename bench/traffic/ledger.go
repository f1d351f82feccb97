package traffic

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/leadflow/leadflow/schemas"
)

// maxFailed bounds how many sessions with failed produces a Ledger
// remembers; past it, Ledger.FailedOverflow reports true.
const maxFailed = 1 << 20

// Ledger records every company session (a session from a business network,
// not a bot) and every lead (workspace, company) a Generator started, so
// that the webhooks the pipeline should send can be derived (Expected) and
// received subjects matched to what caused them (SessionByID, LeadFor).
// Only Config.Track generators keep one. It is safe for concurrent use.
type Ledger struct {
	mu       sync.RWMutex
	prefix   string // session id prefix
	sessions []TrackedSession
	leads    []TrackedLead
	leadIdx  map[uint64]int32 // workspace<<32 | company → index in leads
	failed   map[uint64]struct{}
	overflow bool
}

// TrackedSession is a company session.
type TrackedSession struct {
	// Seq is the session's sequence number (SessionID formats it).
	Seq uint64
	// Lead is the index of its lead (Ledger.Lead).
	Lead int32
	// Start is the timestamp of its first event, in Unix nanoseconds.
	Start int64
}

// StartTime returns Start as a time.
func (s TrackedSession) StartTime() time.Time { return time.Unix(0, s.Start) }

// TrackedLead is a lead: a company that visited a workspace.
type TrackedLead struct {
	// Workspace is the workspace's index (Generator.WorkspaceID).
	Workspace int32
	// Company is the company's index in Data.Companies.
	Company int32
	// FirstSession is the index of the lead's first session (the one that
	// created it).
	FirstSession int32
	// Sessions counts the lead's sessions.
	Sessions int32
}

func newLedger(runID string) *Ledger {
	return &Ledger{prefix: idPrefix("s", runID), leadIdx: map[uint64]int32{}, failed: map[uint64]struct{}{}}
}

// add records a new company session; seq grows with every call.
func (l *Ledger) add(ws, company int, seq uint64, start time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := uint64(ws)<<32 | uint64(uint32(company))
	si := int32(len(l.sessions))
	li, ok := l.leadIdx[key]
	if !ok {
		li = int32(len(l.leads))
		l.leadIdx[key] = li
		l.leads = append(l.leads, TrackedLead{Workspace: int32(ws), Company: int32(company), FirstSession: si})
	}
	l.leads[li].Sessions++
	l.sessions = append(l.sessions, TrackedSession{Seq: seq, Lead: li, Start: start.UnixNano()})
}

// Len returns the number of company sessions and leads so far.
func (l *Ledger) Len() (sessions, leads int) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.sessions), len(l.leads)
}

// Session returns company session i (0 <= i < sessions of Len).
func (l *Ledger) Session(i int) TrackedSession {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.sessions[i]
}

// Lead returns lead i (0 <= i < leads of Len).
func (l *Ledger) Lead(i int) TrackedLead {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.leads[i]
}

// SessionByID returns the index of the company session with the given
// session id (as ParseMarker returns it). ok is false for an id that is
// not one of this run's company sessions (an ISP visitor's, a bot's, or
// another run's).
func (l *Ledger) SessionByID(id []byte) (int, TrackedSession, bool) {
	seq, ok := parseSessionSeq(id, l.prefix)
	if !ok {
		return 0, TrackedSession{}, false
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	i, found := slices.BinarySearchFunc(l.sessions, seq, func(s TrackedSession, seq uint64) int {
		switch {
		case s.Seq < seq:
			return -1
		case s.Seq > seq:
			return 1
		}
		return 0
	})
	if !found {
		return 0, TrackedSession{}, false
	}
	return i, l.sessions[i], true
}

// LeadFor returns the index of the lead of company in workspace ws.
func (l *Ledger) LeadFor(ws, company int) (int, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	i, ok := l.leadIdx[uint64(ws)<<32|uint64(uint32(company))]
	return int(i), ok
}

// SessionID returns the session_id of session sequence number seq.
func (l *Ledger) SessionID(seq uint64) string {
	return string(appendHex([]byte(l.prefix), seq))
}

// MarkFailed records that an event keyed by session id key could not be
// produced: the pipeline may never see (all of) that session, so its
// triggers are not counted as lost (see Failed).
func (l *Ledger) MarkFailed(key []byte) {
	seq, ok := parseSessionSeq(key, l.prefix)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.failed) >= maxFailed {
		l.overflow = true
		return
	}
	l.failed[seq] = struct{}{}
}

// Failed reports whether an event of session seq failed to produce.
func (l *Ledger) Failed(seq uint64) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	_, ok := l.failed[seq]
	return ok || l.overflow
}

// FailedSessions returns how many sessions had an event that failed to
// produce, and whether there were more than the Ledger remembers.
func (l *Ledger) FailedSessions() (int, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.failed), l.overflow
}

// Rule is one automation of every workspace, as far as the expected
// webhooks go: a trigger, an optional segment on the company's industry,
// and an action: a webhook of the lead, or with Reveal a reveal_contacts
// whose contacts go to the webhook. Each rule is expected to have its own
// webhook, so that a webhook's subjects come from one rule.
type Rule struct {
	// Trigger is schemas.EventNewLead or schemas.EventNewSession; with
	// Reveal it must be new_lead.
	Trigger string
	// Industries is the segment company.industry in Industries (compared
	// case-insensitively, as segment filters compare strings); nil or
	// empty means every lead.
	Industries []string
	// Reveal, if set, makes the action reveal_contacts: the rule's webhook
	// receives contact_revealed subjects instead of the lead. Nil means a
	// webhook action.
	Reveal *Reveal
}

// Event returns the event of the subjects the rule's webhook receives:
// schemas.EventContactRevealed for a reveal rule, else Trigger.
func (r Rule) Event() string {
	if r.Reveal != nil {
		return schemas.EventContactRevealed
	}
	return r.Trigger
}

// Matches reports whether a lead of company c matches the rule's segment.
func (r Rule) Matches(c *Company) bool {
	if len(r.Industries) == 0 {
		return true
	}
	for _, ind := range r.Industries {
		if c.Industry != "" && strings.EqualFold(ind, c.Industry) {
			return true
		}
	}
	return false
}

// Filter returns the rule's segment as an admin API filter
// ({"all": [{"field": "company.industry", "op": "in", "value": [...]}]}),
// or nil for a rule without a segment.
func (r Rule) Filter() map[string]any {
	if len(r.Industries) == 0 {
		return nil
	}
	return map[string]any{"all": []any{map[string]any{"field": "company.industry", "op": "in", "value": r.Industries}}}
}

// Trigger is one expected webhook subject: rule Rule fires for a lead
// (new_lead) or a session (new_session) and its webhook receives the lead.
type Trigger struct {
	// Rule is the index of the rule in the rule set.
	Rule int
	// Event is the rule's trigger: schemas.EventNewLead or EventNewSession.
	Event string
	// Workspace and Company identify the lead (indexes).
	Workspace, Company int
	// Lead is the lead's index in the Ledger.
	Lead int
	// Session is the company session's index in the Ledger: the session
	// that fired new_session, or for new_lead the lead's first session.
	Session int
}

// Expected returns every webhook subject that rules should cause for the
// traffic so far, leads first (in the order leads started, rules in order),
// then sessions. DESIGN 1.5: new_lead fires once per (automation, lead),
// new_session once per (automation, session), the lead's first session
// included; with segments on the company only, each fires at the first
// hit. Sessions whose produce failed (MarkFailed) are left out. Rules with
// a reveal action are left out too: which contacts they reveal is the
// pipeline's choice (see Reveals for how many). It is for small runs and
// tests: a large run checks counts (see bench's checker).
func (l *Ledger) Expected(rules []Rule, d *Data) []Trigger {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []Trigger
	for li, lead := range l.leads {
		first := l.sessions[lead.FirstSession]
		if l.failedLocked(first.Seq) {
			continue
		}
		for ri, r := range rules {
			if r.Trigger == schemas.EventNewLead && r.Reveal == nil && r.Matches(&d.Companies[lead.Company]) {
				out = append(out, Trigger{Rule: ri, Event: r.Trigger, Workspace: int(lead.Workspace), Company: int(lead.Company),
					Lead: li, Session: int(lead.FirstSession)})
			}
		}
	}
	for si, s := range l.sessions {
		if l.failedLocked(s.Seq) {
			continue
		}
		lead := l.leads[s.Lead]
		for ri, r := range rules {
			if r.Trigger == schemas.EventNewSession && r.Reveal == nil && r.Matches(&d.Companies[lead.Company]) {
				out = append(out, Trigger{Rule: ri, Event: r.Trigger, Workspace: int(lead.Workspace), Company: int(lead.Company),
					Lead: int(s.Lead), Session: si})
			}
		}
	}
	return out
}

func (l *Ledger) failedLocked(seq uint64) bool {
	_, ok := l.failed[seq]
	return ok || l.overflow
}
