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
		ss := &storedSession{meta: &SessionMeta{}, pvs: map[int64]*Pageview{}}
		for n := range pageviews {
			ss.pvs[int64(n)] = &Pageview{URL: "https://a/"}
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
