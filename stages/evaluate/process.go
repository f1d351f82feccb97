package evaluate

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/leadflow/leadflow/pipeline"
	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/control"
	"github.com/leadflow/leadflow/stages/leadstore"
)

// Process evaluates a batch of lead changes: filters in memory, one
// pipelined round trip for every claim of the batch, one to complete the
// subjects of the webhooks to send (only for what the cache of stored
// session parts lacks), then the actions.
func (s *Stage) Process(ctx context.Context, b *pipeline.Batch) error {
	s.fired.expire()
	fires := s.matchBatch(b)
	if len(fires) == 0 {
		return nil
	}
	claims := make([]*leadstore.Claim, len(fires))
	for i := range fires {
		claims[i] = &fires[i].c
	}
	if err := leadstore.ClaimAll(ctx, s.d.Redis, claims); err != nil {
		return err
	}
	if err := s.completeSubjects(ctx, fires); err != nil {
		return err
	}
	return s.actAll(ctx, b, fires)
}

// matchBatch returns the automations that may fire for the batch's
// changes (their claims still to make); changes that do not decode are
// dead-lettered.
func (s *Stage) matchBatch(b *pipeline.Batch) []fire {
	var m matching
	var fires []fire
	for _, rec := range b.Records {
		var err error
		if fires, err = s.matchRecord(rec, fires, &m); err != nil {
			b.DeadLetter(rec, &badChange{err})
		}
	}
	return fires
}

// matching is one batch's scratch space for matchRecord: the automations
// of one record that may still fire, and a decoded change no fire refers
// to (most changes decoded do not fire), which the next decode reuses.
type matching struct {
	pending []fire
	spare   *change
}

// change returns a change to decode into: the spare one, or a new one.
func (m *matching) change() *change {
	ch := m.spare
	if ch == nil {
		return new(change)
	}
	m.spare = nil
	ch.subject = nil // the decode resets the rest
	return ch
}

// matchRecord appends to fires the automations that may fire for rec; on
// error it returns fires as they were.
//
// Most changes are of leads and sessions whose automations have all
// fired: that is found from the change's head alone, and the change is
// decoded further only when an automation may still fire.
func (s *Stage) matchRecord(rec *kgo.Record, fires []fire, m *matching) (_ []fire, err error) {
	var head schemas.ChangeHead
	if err := decodeHead(rec.Value, &head); err != nil {
		return fires, err
	}
	s.metrics.changes.Inc()
	m.pending = s.unclaimed(&head, m.pending[:0])
	var company uint64
	company, m.pending, err = s.skipMisses(rec.Value, head.LeadKey, m.pending)
	if err != nil || len(m.pending) == 0 {
		return fires, err
	}
	return s.filter(rec.Value, head.LeadKey, company, m, fires)
}

// unclaimed appends to pending the automations of the head's workspace
// whose claim for this change the fired cache does not know as taken.
func (s *Stage) unclaimed(head *schemas.ChangeHead, pending []fire) []fire {
	rs := s.rules.of(head.WorkspaceID)
	self := s.fired.ownerHash(head.EventID)
	var key string // the lead's Redis key, made once for the change's automations
	for j := range rs {
		ru := &rs[j]
		if ru.never {
			continue
		}
		f := fire{ru: ru, c: leadstore.Claim{Automation: ru.auto.ID, Owner: head.EventID, TTL: s.d.LeadTTL}}
		switch ru.auto.Trigger {
		case control.TriggerNewLead:
			f.triggerKey = head.LeadKey
		case control.TriggerNewSession:
			f.triggerKey, f.c.SessionKey = head.SessionKey, head.SessionKey
		default:
			continue
		}
		if key == "" {
			key = s.keys.lead(head.LeadKey)
		}
		f.c.Key = key
		// A claim another input made is final; one this input made is
		// checked again in Redis (a replay must fire again).
		f.cacheKey = s.fired.key(&f.c)
		if owner, ok := s.fired.get(f.cacheKey); ok && owner != self {
			continue
		}
		pending = append(pending, f)
	}
	return pending
}

// skipMisses drops from pending the segments that test only company
// fields and did not match this lead's company before: they cannot match
// the same company now. It returns the company's hash (0: not computed).
func (s *Stage) skipMisses(value []byte, leadKey string, pending []fire) (uint64, []fire, error) {
	onlyCompany := func(f fire) bool { return f.ru.filter.ReadsOnlyCompany() }
	if !s.misses.enabled() || !slices.ContainsFunc(pending, onlyCompany) {
		return 0, pending, nil
	}
	raw, err := companyJSON(value)
	if err != nil {
		return 0, pending, err
	}
	company := s.misses.companyHash(raw)
	pending = slices.DeleteFunc(pending, func(f fire) bool {
		return onlyCompany(f) && s.misses.missed(f.ru, leadKey, company)
	})
	return company, pending, nil
}

// filter matches pending's segment filters and appends the automations
// that fire to fires, remembering company-only misses (company != 0).
// Filters that test no session field are matched on the change decoded
// without its sessions (most of its bytes); the whole change is decoded
// only for an automation that fires. On error it returns fires as they
// were (the whole decode comes before the first append).
func (s *Stage) filter(value []byte, leadKey string, company uint64, m *matching, fires []fire) (_ []fire, err error) {
	full := false
	for _, f := range m.pending {
		full = full || f.ru.filter == nil || f.ru.filter.ReadsSessions()
	}
	ch, before := m.change(), len(fires)
	defer func() {
		if len(fires) == before {
			m.spare = ch // no fire refers to it
		}
	}()
	if err := s.decodeChange(value, ch, full); err != nil {
		return fires, err
	}
	for _, f := range m.pending {
		if f.ru.filter != nil && !f.ru.filter.Match(&ch.LeadChange) {
			if company != 0 && f.ru.filter.ReadsOnlyCompany() {
				s.misses.put(f.ru, leadKey, company)
			}
			continue
		}
		if !full {
			if err := s.decodeChange(value, ch, true); err != nil {
				return fires, err
			}
			full = true
		}
		f.ch = ch
		fires = append(fires, f)
	}
	return fires, nil
}

// completeSubjects completes, in one round trip, the subjects of the
// webhooks about to be sent (reveals send contacts, not the lead).
func (s *Stage) completeSubjects(ctx context.Context, fires []fire) error {
	var subjects []*schemas.LeadChange
	for i := range fires {
		f := &fires[i]
		if f.c.Result != claimTaken && f.ru.auto.Action.Type == control.ActionWebhook && len(f.ch.OlderSessions) > 0 {
			subjects = append(subjects, &f.ch.LeadChange)
		}
	}
	if len(subjects) == 0 {
		return nil
	}
	missing, err := s.d.Sessions.Complete(ctx, subjects)
	if err != nil {
		return err
	}
	if missing > 0 {
		s.metrics.missing.Add(float64(missing))
		s.d.Logger.Warn("subject parts no longer stored, left out", zap.Int("parts", missing))
	}
	return nil
}

// actAll remembers each claim's result and runs the actions of the
// automations whose claim this input holds.
func (s *Stage) actAll(ctx context.Context, b *pipeline.Batch, fires []fire) error {
	for i := range fires {
		f := &fires[i]
		s.metrics.claims.WithLabelValues(claimResultName(f.c.Result)).Inc()
		if f.c.Result == claimTaken {
			s.fired.put(f.cacheKey, firedTaken)
			continue
		}
		s.fired.put(f.cacheKey, s.fired.ownerHash(f.ch.EventID))
		if err := s.act(ctx, b, f); err != nil {
			return err
		}
	}
	return nil
}
