package leads

import "unsafe"

// approxBytes estimates the heap e holds: its state (and the previous
// states kept while its records may be replays), the stored head and the
// company's reference. The cache's byte bound (cache_max_bytes) counts it.
func (e *entry) approxBytes() int64 {
	n := int64(unsafe.Sizeof(*e)) + int64(len(e.key)+len(e.rkey)+len(e.head)+len(e.written)+len(e.company))
	for _, d := range e.older {
		n += int64(len(d))
	}
	if e.st != nil {
		n += e.st.approxBytes()
	}
	for _, p := range e.pres {
		n += p.approxBytes() // shares immutable values with st: counted twice, an overestimate
	}
	return n
}

// approxBytes estimates the heap of a lead state: struct sizes plus the
// lengths of its strings and the capacities of its slices, per session
// its facts, its kept pageviews and the JSON encoded from them (the
// pageview cache, the session reference), and its stored chunk. It is an
// estimate to bound a cache by memory, not an accounting: a string two
// values share is counted for each, and allocator rounding is left out.
func (st *leadState) approxBytes() int64 {
	const word = int64(unsafe.Sizeof(uintptr(0)))
	n := int64(unsafe.Sizeof(*st)) + int64(cap(st.ring))*int64(unsafe.Sizeof(ringEntry{})) + int64(cap(st.sessions))*word
	for _, s := range st.sessions {
		n += int64(unsafe.Sizeof(*s)) + int64(len(s.sessionID)+cap(s.ref)+cap(s.pvCache.json)+cap(s.chunk)+cap(s.frozen)+cap(s.headEnc)) +
			int64(cap(s.spent)+cap(s.pvCache.ends))*8 + int64(cap(s.pvs))*word
		if m := s.meta; m != nil {
			n += m.approxBytes()
		}
		n += s.pvBytes()
	}
	return n
}

// pvWeight is a session's kept pageviews' part of its estimate, as last
// counted: the cache weighs every lead a batch touched, and a lead's
// other sessions (up to max_sessions of them, each with up to
// max_pageviews pageviews) did not change.
type pvWeight struct {
	total uint64 // the session's pvTotal when counted
	kept  int    // len(pvs) when counted
	bytes int64
}

// pvBytes estimates the heap of the session's kept pageviews. A kept
// pageview never changes, and which ones are kept (the last len(pvs) of
// pvTotal) is known from the two counts, so the sum is counted again only
// when they moved; never while a pageview is still to be read (nil,
// decodeHead).
func (s *session) pvBytes() int64 {
	if w := &s.pvw; w.bytes > 0 && w.total == s.pvTotal && w.kept == len(s.pvs) {
		return w.bytes
	}
	n, complete := int64(0), true
	for _, pv := range s.pvs {
		if pv == nil {
			complete = false
			continue
		}
		n += int64(unsafe.Sizeof(*pv)) + int64(len(pv.URL))
	}
	if complete {
		s.pvw = pvWeight{total: s.pvTotal, kept: len(s.pvs), bytes: n}
	}
	return n
}

// approxBytes estimates the heap of a session's facts and their JSON. The
// facts never change: their part is counted once; the JSON is built and
// dropped (dropCold) as the session is used.
func (m *sessionMeta) approxBytes() int64 {
	if m.weight == 0 {
		n := int64(unsafe.Sizeof(*m))
		for _, p := range [...]*string{m.Source, m.Browser, m.Device, m.OS, m.Loc.City, m.Loc.CountryCode, m.Loc.Region} {
			if p != nil {
				n += int64(unsafe.Sizeof("")) + int64(len(*p))
			}
		}
		if m.Loc.Latitude != nil {
			n += 16 // the two coordinates
		}
		u := &m.UTM
		m.weight = n + int64(len(u.UTMSource)+len(u.UTMMedium)+len(u.UTMCampaign)+len(u.UTMTerm)+len(u.UTMContent))
	}
	return m.weight + int64(cap(m.json))
}
