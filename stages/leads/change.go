package leads

import (
	"bytes"
	"strconv"
	"time"

	"github.com/leadflow/leadflow/schemas"
	"github.com/leadflow/leadflow/stages/leadstore"
)

// changeEncoder encodes schemas.LeadChange records straight from a lead's
// state: the envelope by hand, the subject's parts with the schemas
// encoders (Session, Pageview, Location), so the subject is byte for
// byte what schemas.Lead.AppendJSON writes once the evaluate stage has
// completed its company (schemas.LeadChange.CompanyRef: the change
// carries the company's name and domain, encoded once per cached lead,
// and the evaluate stage takes the rest from the same company
// directory). One encoder per partition: not safe for concurrent use.
type changeEncoder struct {
	recent int
}

// encode returns the JSON of the LeadChange of kind caused by h in the
// lead e whose state is st, with first (the session that changed) as
// recent_sessions[0], encoded in the batch's output slabs (out.Grow): the
// batch's to produce, nothing of it kept past the batch. The size of the
// lead's previous change (plus some) is the room asked for.
func (c *changeEncoder) encode(out emitter, e *entry, st *leadState, first *session, kind uint8, h *hitInfo) []byte {
	b := out.Grow(e.changeSize + 256)
	b = append(b, `{"kind":"`...)
	b = append(b, kindName[kind]...)
	b = append(b, `","workspace_id":`...)
	b = schemas.AppendString(b, e.ws)
	b = append(b, `,"lead_key":`...)
	b = schemas.AppendString(b, e.key)
	b = append(b, `,"session_key":"`...)
	b = leadstore.AppendSessionKey(b, st.id, first.seq)
	b = append(b, `","event_id":`...)
	b = schemas.AppendString(b, h.EventID)
	b = append(b, `,"event_time":"`...)
	b = h.Timestamp.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","stats":{"sessions":`...)
	b = strconv.AppendInt(b, st.stats.Sessions, 10)
	b = append(b, `,"pageviews":`...)
	b = strconv.AppendInt(b, st.stats.Pageviews, 10)
	b = append(b, `,"total_duration":`...)
	b = strconv.AppendInt(b, st.stats.TotalDuration, 10)
	b = append(b, `},"session":{`...)
	u := &first.meta.UTM
	comma := false
	for _, f := range [...]struct{ k, v string }{
		{`"utm_source":`, u.UTMSource}, {`"utm_medium":`, u.UTMMedium}, {`"utm_campaign":`, u.UTMCampaign},
		{`"utm_term":`, u.UTMTerm}, {`"utm_content":`, u.UTMContent},
	} {
		if f.v == "" {
			continue
		}
		if comma {
			b = append(b, ',')
		}
		b = append(b, f.k...)
		b = schemas.AppendString(b, f.v)
		comma = true
	}
	b = append(b, `},"company_ref":true,"lead":`...)
	b = c.appendLead(b, e, st, first)
	b = c.appendOlder(b, st, first)
	b = append(b, '}')
	e.changeSize = len(b)
	return out.Keep(b)
}

// appendLead appends the lead subject with only first in its
// recent_sessions (the other recent sessions go by reference, see
// appendOlder).
func (c *changeEncoder) appendLead(b []byte, e *entry, st *leadState, first *session) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, st.id, 10)
	b = append(b, `,"first_seen":`...)
	b = schemas.Timestamp{Time: time.UnixMicro(st.firstSeen)}.AppendJSON(b)
	b = append(b, `,"last_seen":`...)
	b = schemas.Timestamp{Time: time.UnixMicro(st.lastSeen)}.AppendJSON(b)
	b = append(b, `,"company":`...)
	b = append(b, e.company...)
	b = append(b, `,"recent_sessions":[`...)
	b = appendSession(b, first)
	return append(b, "]}"...)
}

// appendOlder appends the change's older_sessions member: the subject's
// other recent sessions, in st's order, as schemas.SessionRef (what of
// them can change), nothing when there are none. Their facts and
// pageviews are in Redis, immutable, and read back only for an
// automation that fires (leadstore.SessionStore.Complete): most changes are never
// sent anywhere, and the sessions they did not touch were most of their
// bytes.
func (c *changeEncoder) appendOlder(b []byte, st *leadState, first *session) []byte {
	n := 1
	for _, s := range st.sessions {
		if n >= c.recent {
			break
		}
		if s == first {
			continue
		}
		if n == 1 {
			b = append(b, `,"older_sessions":[`...)
		} else {
			b = append(b, ',')
		}
		b = appendRef(b, s)
		n++
	}
	if n > 1 {
		b = append(b, ']')
	}
	return b
}

// appendRef appends s as a schemas.SessionRef. A session that is not the
// changed one rarely moves between changes (a ping or pageview of an
// older open session), so its JSON is kept and encoded again only when
// its shape changed.
func appendRef(b []byte, s *session) []byte {
	key := sessionShape{started: s.started, duration: s.duration, pvTotal: s.pvTotal, kept: len(s.spent)}
	if n := len(s.spent); n > 0 {
		key.lastSpent = s.spent[n-1]
	}
	if s.ref == nil || key != s.refKey {
		r := s.ref[:0]
		r = append(r, `{"seq":`...)
		r = strconv.AppendUint(r, s.seq, 10)
		r = append(r, `,"started_at":`...)
		r = strconv.AppendInt(r, s.started, 10)
		r = append(r, `,"total_duration":`...)
		r = strconv.AppendInt(r, s.duration, 10)
		r = append(r, `,"pageviews":`...)
		r = strconv.AppendUint(r, s.pvTotal, 10)
		r = append(r, `,"time_spent":[`...)
		for i, v := range s.spent {
			if i > 0 {
				r = append(r, ',')
			}
			r = strconv.AppendInt(r, v, 10)
		}
		s.ref, s.refKey = append(r, "]}"...), key
	}
	return append(b, s.ref...)
}

// appendSession appends a session object. The parts that never change
// are encoded once by the schemas encoders and kept: a session's facts
// (sessionMeta.fragments) and its pageviews but the last (only the
// current page's time_spent still changes), contiguously in the
// session's cache (see session.pvCache). Per change only the start time,
// the current pageview and the numbers are encoded.
func appendSession(b []byte, s *session) []byte {
	mid, loc := s.meta.fragments()
	b = append(b, `{"started_at":`...)
	b = schemas.SessionTime{Time: time.UnixMicro(s.started)}.AppendJSON(b)
	b = append(b, mid...)
	if n := len(s.pvs); n > 0 {
		b = append(b, s.frozenJSON()...)
		pv := s.pvs[n-1]
		p := schemas.Pageview{URL: pv.URL, Host: pv.Host, Path: pv.Path, TimeSpent: s.spent[n-1],
			VisitedAt: schemas.SessionTime{Time: time.UnixMicro(pv.VisitedAt)}}
		b = p.AppendJSON(b)
	}
	b = append(b, `],"total_duration":`...)
	b = strconv.AppendInt(b, s.duration, 10)
	b = append(b, `,"location":`...)
	b = append(b, loc...)
	return append(b, '}')
}

// frozenJSON returns the JSON of the session's kept pageviews but the
// last, each followed by a comma. It keeps them in pvCache: pageviews
// that slid out of the window are cut off the front, new frozen ones are
// appended; a session is used only by its partition's goroutine.
func (s *session) frozenJSON() []byte {
	c := &s.pvCache
	first := s.pvTotal - uint64(len(s.pvs))
	frozen := uint64(len(s.pvs) - 1)
	if c.first > first || c.first+uint64(len(c.ends)) > first+frozen {
		*c = pvCache{first: first} // cannot happen for a state moving forward; start over
	}
	if drop := int(first - c.first); drop > 0 {
		if drop >= len(c.ends) {
			*c = pvCache{first: first, json: c.json[:0]}
		} else {
			cut := c.ends[drop-1]
			c.start += cut
			c.ends = c.ends[drop:]
			for i := range c.ends {
				c.ends[i] -= cut
			}
			c.first = first
			if c.start > len(c.json)/2 { // compact once half is waste
				n := copy(c.json, c.json[c.start:])
				c.json, c.start = c.json[:n], 0
			}
		}
	}
	for n := c.first + uint64(len(c.ends)); n < first+frozen; n++ {
		i := n - first
		pv := s.pvs[i]
		p := schemas.Pageview{URL: pv.URL, Host: pv.Host, Path: pv.Path, TimeSpent: s.spent[i],
			VisitedAt: schemas.SessionTime{Time: time.UnixMicro(pv.VisitedAt)}}
		c.json = append(p.AppendJSON(c.json), ',')
		c.ends = append(c.ends, len(c.json)-c.start)
	}
	return c.json[c.start:]
}

// sessionPageviewsMarker is where a session's fragments are cut. JSON
// string contents never hold a bare '"', so it cannot occur in a value.
const sessionPageviewsMarker = `,"pageviews":[],"total_duration":0,"location":`

// fragments returns the session object's middle, from ,"source" to
// "pageviews":[ inclusive, and its location object, as schemas encodes
// them. They are built on first use; a sessionMeta is used only by the
// goroutine of its lead's partition.
func (m *sessionMeta) fragments() (mid, loc []byte) {
	if m.json == nil {
		ss := schemas.Session{Source: m.Source, Browser: m.Browser, DeviceType: m.Device, OperatingSystem: m.OS, Location: m.Loc}
		enc := ss.AppendJSON(nil)
		start := len(`{"started_at":`) + len(schemas.SessionTime{}.AppendJSON(nil))
		at := bytes.LastIndex(enc, []byte(sessionPageviewsMarker)) - start
		m.json = enc[start:]
		m.midEnd = at + len(`,"pageviews":[`)
		m.locAt = at + len(sessionPageviewsMarker)
	}
	return m.json[:m.midEnd], m.json[m.locAt : len(m.json)-1]
}
