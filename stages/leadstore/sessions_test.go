package leadstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadflow/leadflow/schemas"
)

// TestCompleteRedisDown: a Redis failure is an error wrapping
// ErrSessionRead, and the changes are left as they were.
func TestCompleteRedisDown(t *testing.T) {
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer down.Close()
	ch := schemas.LeadChange{LeadKey: "ws|x.com", Lead: schemas.Lead{ID: 1, RecentSessions: []schemas.Session{{}}},
		OlderSessions: []schemas.SessionRef{{Seq: 1, Pageviews: 1, TimeSpent: []int64{5}}}}
	_, err := NewSessionStore(down, "lf:", 10, nil).Complete(context.Background(), []*schemas.LeadChange{&ch})
	if !errors.Is(err, ErrSessionRead) {
		t.Fatalf("err = %v, want ErrSessionRead", err)
	}
	if len(ch.Lead.RecentSessions) != 1 || len(ch.OlderSessions) != 1 {
		t.Fatalf("change altered after a failure: %+v", ch)
	}
}

// The session cache is bounded in parts (a session's facts and each of
// its pageviews) and evicts the least recently used sessions, where it
// used to drop everything when full (issue 14: one cache strategy).
func TestSessionCacheEvictsLeastRecentlyUsedByParts(t *testing.T) {
	s := NewSessionStore(nil, "lf:", 7, nil)
	session := func(pageviews int) *storedSession {
		// A hole (a pageview missing from Redis) weighs nothing.
		ss := &storedSession{meta: &SessionMeta{}, from: 4, pvs: make([]*Pageview, pageviews+1)}
		for n := range pageviews {
			ss.pvs[n+1] = &Pageview{URL: "https://a/"}
		}
		return ss
	}
	a, b, c := sessionID{"k", 1, 1}, sessionID{"k", 1, 2}, sessionID{"k", 1, 3}
	s.remember(map[sessionID]*storedSession{a: session(2)}) // 3 parts
	s.remember(map[sessionID]*storedSession{b: session(2)}) // 6
	if _, ok := s.cache.Get(a); !ok {                       // a is now the most recent
		t.Fatal("a not cached")
	}
	s.remember(map[sessionID]*storedSession{c: session(1)}) // 8 > 7: b goes
	if _, ok := s.cache.Peek(b); ok {
		t.Fatal("b, the least recently used, is still cached")
	}
	for _, id := range []sessionID{a, c} {
		if _, ok := s.cache.Peek(id); !ok {
			t.Fatalf("%v evicted", id)
		}
	}
	if s.size != 5 || s.cache.Len() != 2 {
		t.Fatalf("size %d parts in %d sessions, want 5 in 2", s.size, s.cache.Len())
	}
	// Replacing a session counts its new parts only.
	s.remember(map[sessionID]*storedSession{c: session(3)})
	if s.size != 7 {
		t.Fatalf("size %d after replacing c, want 7", s.size)
	}
	// One session larger than the bound is not kept, nor anything else.
	s.remember(map[sessionID]*storedSession{b: session(9)})
	if s.size != 0 || s.cache.Len() != 0 {
		t.Fatalf("size %d parts in %d sessions after a 10-part session, want 0 in 0", s.size, s.cache.Len())
	}
}

// A stored session's pageviews are a window of numbers that the
// references of one batch widen; what it held stays at its number, and a
// reference too wide for maxWindow (corrupt) cannot ask for a huge slice.
func TestStoredSessionWindow(t *testing.T) {
	p4, p5 := &Pageview{URL: "https://a/4"}, &Pageview{URL: "https://a/5"}
	ss := &storedSession{}
	ss.widen(4, 6)
	ss.pvs[0], ss.pvs[1] = p4, p5
	ss.widen(2, 5) // an earlier change of the batch shows 2..4
	ss.widen(5, 9) // a later one 5..8
	if ss.from != 2 || len(ss.pvs) != 7 || ss.pv(4) != p4 || ss.pv(5) != p5 || ss.pv(3) != nil || ss.pv(9) != nil || ss.pv(1) != nil {
		t.Fatalf("window from %d, %d pageviews: %v", ss.from, len(ss.pvs), ss.pvs)
	}
	ss.meta = &SessionMeta{}
	if !ss.covers(4, 6) || ss.covers(4, 7) || ss.covers(1, 5) {
		t.Fatal("covers: want 4..5 held, not 6 nor 1..3")
	}
	if ss.parts() != 3 {
		t.Fatalf("parts = %d, want the facts and two pageviews", ss.parts())
	}
	// A copy for the next read keeps from first on, unless an earlier
	// change of the batch may still show the ones before.
	if cp := ss.copyFrom(5, false); cp.from != 5 || cp.pv(5) != p5 || cp.pv(4) != nil || cp.meta != ss.meta {
		t.Fatalf("copy from 5: from %d, %v", cp.from, cp.pvs)
	}
	if cp := ss.copyFrom(5, true); cp.from != 2 || cp.pv(4) != p4 {
		t.Fatalf("copy for a batch that still shows 4: from %d, %v", cp.from, cp.pvs)
	}
	ss.widen(1<<40, 1<<40+3)
	if ss.from != 1<<40 || len(ss.pvs) != 3 {
		t.Fatalf("a window past maxWindow: from %d, %d pageviews; want only the new reference's", ss.from, len(ss.pvs))
	}
	ss.widen(0, 1<<40)
	if len(ss.pvs) != maxWindow {
		t.Fatalf("a reference of 2^40 pageviews: %d slots, want maxWindow", len(ss.pvs))
	}
}
